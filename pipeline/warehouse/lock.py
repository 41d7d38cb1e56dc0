"""One writing run per warehouse file: an OS lock on `<db>.lock`, held for the whole run.

DuckDB lets one process open a file for writing; a second `lcd ingest` or `lcd sync` would fail
with an IOError at its first connect(), or (worse) interleave its writes between the first run's
connections. The CLI commands that write take this lock before any connect() and keep it until the
flow has finished. It is `fcntl.flock`: the kernel releases it when the process exits, however it
exits, so a run killed with SIGKILL never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline import settings

DEFAULT_LOCK_TIMEOUT = 600.0
EXIT_LOCKED = 3
_POLL_SECONDS = 0.2


class LockTimeout(Exception):
    """Another run held the warehouse lock for longer than the timeout."""


def lock_path(db: str | Path) -> Path:
    """The lock file beside the warehouse file."""
    return Path(f"{db}.lock")


def lock_timeout(value: float | None) -> float:
    """The timeout to use: the option, else $LCD_LOCK_TIMEOUT, else DEFAULT_LOCK_TIMEOUT."""
    if value is not None:
        return value
    env = settings.lock_timeout()
    return DEFAULT_LOCK_TIMEOUT if env is None else env


def _holder(fd: int) -> str:
    """The pid the current holder wrote into the lock file, or '?'."""
    try:
        return os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
    except OSError:
        return "?"


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def warehouse_lock(db: str | Path, timeout: float = DEFAULT_LOCK_TIMEOUT, on_wait: Callable[[str], None] = _say) -> Iterator[None]:
    """Hold the exclusive lock of `db` for the block; wait up to `timeout` seconds for another run.

    `on_wait` is told once, when the lock is busy, who holds it. An in-memory database needs no lock.
    """
    if str(db) == ":memory:":
        yield
        return
    path = lock_path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + max(0.0, timeout)
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(fd)
                if not told:
                    on_wait(f"waiting for another lcd run on {db} (pid {holder}) to finish, up to {timeout:g} s ...")
                    told = True
                if time.monotonic() >= deadline:
                    raise LockTimeout(f"another lcd run (pid {holder}) still holds {path} after {timeout:g} s") from None
                time.sleep(_POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        if told:
            on_wait(f"lock on {db} acquired, continuing")
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock (the file stays: deleting it would race)
