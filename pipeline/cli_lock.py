"""The warehouse lock around the CLI commands that write (`lcd ingest`, `lcd sync`).

The lock is taken before the command's first connect() (the "nothing new" planning included) and
held until it returns, so a second run waits for the first and then plans against what it loaded.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path

from pipeline.warehouse.lock import DEFAULT_LOCK_TIMEOUT, EXIT_LOCKED, LOCK_TIMEOUT_ENV, LockTimeout, lock_timeout, warehouse_lock


def add_lock_option(parser: argparse.ArgumentParser) -> None:
    """Add --lock-timeout to a command that writes the warehouse."""
    parser.add_argument(
        "--lock-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"wait this long for another lcd run on the same warehouse (default ${LOCK_TIMEOUT_ENV} or {DEFAULT_LOCK_TIMEOUT:g}); exit 3 after",
    )


def writes_warehouse(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Run `command` holding the lock of its --db warehouse; a lock timeout is one line and exit 3."""

    @functools.wraps(command)
    def locked(args: argparse.Namespace) -> int:
        from pipeline.warehouse import default_db_path

        db = Path(args.db) if args.db else default_db_path()
        try:
            timeout = lock_timeout(getattr(args, "lock_timeout", None))
        except ValueError as exc:
            print(f"lcd {args.command}: {exc}", file=sys.stderr)
            return 2
        prefix = f"lcd {args.command}: "
        try:
            with warehouse_lock(db, timeout, on_wait=lambda message: print(prefix + message, file=sys.stderr, flush=True)):
                return command(args)
        except LockTimeout as exc:
            print(f"lcd {args.command}: {exc}; nothing was written", file=sys.stderr)
            return EXIT_LOCKED

    return locked
