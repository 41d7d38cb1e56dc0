"""The processes a run starts die with it, however it ends (SIGKILL and the OOM killer included).

A killed process cannot clean up after itself, so another process does it:

- Marker: inside `run_processes()`, LCD_RUN_ID in os.environ holds this process's run id (a uuid,
  after the ids of enclosing runs, ':'-separated: a served run inside `lcd serve`). Everything the run
  starts (Prefect's temporary API server, a local Dask cluster's nannies and workers, the Prefect
  servers those workers start, a served flow run's process) inherits it, and it can be read back from
  /proc/<pid>/environ.
- Reaper: the first `run_processes()` of a process starts `python -m pipeline.orchestration.lifetime`,
  in its own session (a Ctrl-C or a signal to the run's process group does not reach it; it ignores
  SIGINT, SIGTERM and SIGHUP too) and without the marker. It waits for the process to end (a pidfd: it
  wakes at once), noting the process's descendants with their start times every second meanwhile;
  then it terminates, and after GRACE_SECONDS kills, every process that carries the run id or was seen
  below the run (never a process that merely reuses a noted PID), and looks again until none is left
  (an orphaned Dask nanny may start a worker while being stopped); then it exits.

Left alone: the test runner or shell that started the run, another lcd run (another id), a `prefect
server start` or a Dask cluster (--dask-address) started separately: none carries the id, none is below
the run. One reaper per process: a long-lived process (`lcd serve`) reuses its id for every run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from pipeline.paths import PACKAGE_DIR
from pipeline.settings import RUN_ID_ENV, run_ids

GRACE_SECONDS = 2.0  # between SIGTERM and SIGKILL
SCAN_SECONDS = 1.0  # how often the reaper notes the run's descendants while it runs
MAX_ROUNDS = 20  # terminate/kill rounds before the reaper gives up

_reapers: dict[int, tuple[str, subprocess.Popen]] = {}  # by the PID of the process watched: its run id and reaper


@contextmanager
def run_processes() -> Iterator[str]:
    """Every process started inside the block is this run's: it ends when this process ends, however
    this process ends. Enter it just before Prefect or Dask start anything; yields the run id."""
    run_id = _reaper_for_this_process()
    before = os.environ.get(RUN_ID_ENV)
    ids = run_ids()
    if run_id not in ids:
        os.environ[RUN_ID_ENV] = ":".join([*ids, run_id])
    try:
        yield run_id
    finally:
        if before is None:
            os.environ.pop(RUN_ID_ENV, None)
        else:
            os.environ[RUN_ID_ENV] = before


def _reaper_for_this_process() -> str:
    """The run id of this process, starting its reaper the first time."""
    import uuid

    import psutil

    pid = os.getpid()
    if pid not in _reapers:
        run_id = uuid.uuid4().hex
        env = {key: value for key, value in os.environ.items() if key != RUN_ID_ENV}
        reaper = subprocess.Popen(
            [sys.executable, "-m", __name__, str(pid), repr(psutil.Process(pid).create_time()), run_id],
            cwd=PACKAGE_DIR.parent,  # `-m` imports this very package, whatever the run's cwd
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _reapers[pid] = (run_id, reaper)
    return _reapers[pid][0]


# --- the reaper process ------------------------------------------------------------------------------


def _reap(pid: int, create_time: float, run_id: str) -> None:
    """Wait for process `pid` (started at `create_time`) to end, then end every process of its run."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    seen = _watch(pid, create_time)
    for _ in range(MAX_ROUNDS):
        targets = _alive(seen | _marked(run_id))
        if not targets:
            return
        _stop(targets)
        seen = set()  # from now on the marker (and the children of what is being stopped) finds them


def _watch(pid: int, create_time: float) -> set:
    """Block until the run's process ends; the descendants it had meanwhile."""
    import select

    import psutil

    seen: set[psutil.Process] = set()
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    try:
        run = psutil.Process(pid)
        if abs(run.create_time() - create_time) > 0.01:
            return seen  # the run ended before the reaper started and its PID is someone else's now
        poller = None
        if pidfd is not None:
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
        while True:
            seen = {p for p in seen if p.is_running()} | set(run.children(recursive=True))
            if poller is not None:
                if poller.poll(SCAN_SECONDS * 1000):
                    return seen
            else:
                try:
                    run.wait(SCAN_SECONDS)
                    return seen
                except psutil.TimeoutExpired:
                    pass
    except psutil.NoSuchProcess:
        return seen
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _marked(run_id: str) -> set:
    """The processes whose environment carries `run_id`."""
    import psutil

    found = set()
    for proc in psutil.process_iter():
        try:
            if run_id in run_ids(proc.environ()):
                found.add(proc)
        except psutil.Error:  # gone, a zombie, or another user's
            continue
    return found


def _alive(procs: set) -> set:
    """The processes of `procs` still running (the PID not reused), their children, never this reaper."""
    import psutil

    out = set()
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                out |= {proc, *proc.children(recursive=True)}
        except psutil.Error:
            continue
    return {proc for proc in out if proc.pid != os.getpid()}


def _stop(procs: set) -> None:
    """SIGTERM, then SIGKILL after GRACE_SECONDS to what is still running."""
    import psutil

    for send in (psutil.Process.terminate, psutil.Process.kill):
        for proc in procs:
            try:
                send(proc)
            except psutil.Error:
                pass
        _gone, procs = psutil.wait_procs(procs, timeout=GRACE_SECONDS)
        if not procs:
            return


if __name__ == "__main__":
    _reap(int(sys.argv[1]), float(sys.argv[2]), sys.argv[3])
