"""What every `lcd` command shares: the user-facing error, exit codes, the warehouse path, date options,
Prefect's quiet settings, and the warehouse lock around the commands that write.

Command modules import this one and nothing else of the CLI, so the package has no import cycle.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from pipeline.warehouse import default_db_path
from pipeline.settings import LOCK_TIMEOUT_ENV
from pipeline.warehouse.lock import DEFAULT_LOCK_TIMEOUT, EXIT_LOCKED, LockTimeout, lock_timeout, warehouse_lock

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DB_HELP = "DuckDB file (default: $LCD_DB or warehouse/lcd.duckdb)"
RAW = argparse.RawDescriptionHelpFormatter


class CliError(Exception):
    """A user-facing failure: printed as one line, exit status 2."""


def db_path(value: str | None) -> Path:
    """The warehouse file a command works on: --db, else $LCD_DB, else warehouse/lcd.duckdb."""
    return Path(value) if value else default_db_path()


def parse_date(value: str | None, option: str = "--since") -> date | None:
    """A YYYY-MM-DD option as a date (None when not given); a CliError naming the option otherwise."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CliError(f"{option} must be a date like 2024-01-31, got {value!r}") from None


def check_batch_size(value: int) -> None:
    """A --batch-size below 1 is a usage error."""
    if value < 1:
        raise CliError(f"--batch-size must be 1 or more, got {value}")


def quiet_prefect(show_logs: bool) -> None:
    """Keep Prefect's own logging and server chatter out of the CLI output unless asked for.

    Called before anything imports Prefect, which reads these settings once at import."""
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if not show_logs:
        os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
        os.environ.setdefault("PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_RUNS_LEVEL", "WARNING")
        os.environ.setdefault("PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL", "WARNING")


def exit_with_failures(command: str, failures: list[str], counted: str) -> int:
    """Each failure on its own stderr line, then how many and where to look (`counted`, e.g.
    "document(s) failed (see ingest_errors)"); the exit status: EXIT_FAILED if any, else EXIT_OK."""
    for failure in failures:
        print(f"failed: {failure}", file=sys.stderr)
    if not failures:
        return EXIT_OK
    print(f"lcd {command}: {len(failures)} {counted}", file=sys.stderr)
    return EXIT_FAILED


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
    """Run `command` holding the lock of its --db warehouse; a lock timeout is one line and exit 3.

    The lock is taken before the command's first connect() (the "nothing new" planning included) and
    held until it returns, so a second run waits for the first and then plans against what it loaded."""

    @functools.wraps(command)
    def locked(args: argparse.Namespace) -> int:
        try:
            timeout = lock_timeout(getattr(args, "lock_timeout", None))
        except ValueError as exc:
            raise CliError(str(exc)) from None
        prefix = f"lcd {args.command}: "
        try:
            with warehouse_lock(db_path(args.db), timeout, on_wait=lambda message: print(prefix + message, file=sys.stderr, flush=True)):
                return command(args)
        except LockTimeout as exc:
            print(f"lcd {args.command}: {exc}; nothing was written", file=sys.stderr)
            return EXIT_LOCKED

    return locked
