"""The processes a run starts die with it (pipeline/orchestration/lifetime.py): a real `lcd ingest` killed
with SIGKILL mid-extraction, in one process and on a local Dask cluster, leaves none of its processes
behind (Prefect's temporary API server, the Dask workers and the Prefect servers they start); nor does a
run that ends normally; nor a small stand-in run killed in other ways. Other processes survive.

The `lcd` runs here get no PREFECT_API_URL: each starts Prefect's temporary server, the process that
used to be orphaned (~15 s each). The processes of a run are the ones a psutil snapshot of its tree
showed just before the kill, and any process whose environment carries the run's LCD_RUN_ID.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from pipeline.settings import RUN_ID_ENV, run_ids
from tests._lcd_subprocess import LCD, copy_corpus
from tests.conftest import RAW_DOCS

INGEST = ["ingest", "--batch-size", "1", "--no-progress", "--prefect-logs"]
GONE_WITHIN = 10.0  # seconds


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    """No PREFECT_API_URL (each run starts its temporary Prefect server), a Prefect home of this module's."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_") and k not in (RUN_ID_ENV, "LCD_LOCK_TIMEOUT")}
    return {
        **base,
        "PREFECT_HOME": str(tmp_path_factory.mktemp("prefect_home")),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "INFO",  # the kill point is Prefect's task log line
    }


@pytest.fixture()
def bystander(tmp_path):
    """A process that is no run's, carrying another run's id: must survive every test here."""
    other = {**os.environ, RUN_ID_ENV: uuid.uuid4().hex}
    process = subprocess.Popen(["sleep", "300"], env=other)
    yield process
    assert process.poll() is None, "a process of no run was killed"
    process.kill()
    process.wait()


def _tree(pid: int) -> tuple[list[psutil.Process], str]:
    """The descendants of `pid` now, and the run id they carry."""
    children = psutil.Process(pid).children(recursive=True)
    ids = {run_ids(child.environ())[-1] for child in children if _carries_id(child)}
    assert len(ids) == 1, f"expected one run id below {pid}, got {ids}"
    return children, ids.pop()


def _carries_id(proc: psutil.Process) -> bool:
    try:
        return bool(run_ids(proc.environ()))
    except psutil.Error:
        return False


def _left(snapshot: list[psutil.Process], run_id: str) -> list[str]:
    """The processes of the run still alive: from the snapshot (same PID and start time) or by marker."""
    described = []
    for proc in {*snapshot, *psutil.process_iter()}:
        try:
            mine = proc in snapshot or run_id in run_ids(proc.environ())
            if mine and proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                described.append(f"{proc.pid} (ppid {proc.ppid()}): {' '.join(proc.cmdline())[:120]}")
        except psutil.Error:  # gone meanwhile, or another user's
            continue
    return described


def _assert_all_gone(snapshot: list[psutil.Process], run_id: str) -> float:
    """Wait until no process of the run is left (at most GONE_WITHIN s); the seconds it took."""
    started = time.monotonic()
    while (left := _left(snapshot, run_id)) and time.monotonic() - started < GONE_WITHIN:
        time.sleep(0.2)
    assert not left, f"left behind after {GONE_WITHIN:.0f} s:\n" + "\n".join(left)
    return time.monotonic() - started


def _start_ingest(args: list[str], env: dict[str, str], loads: int) -> tuple[subprocess.Popen, list[str]]:
    """Start `lcd ingest ARGS`; return once Prefect has logged `loads` finished load-batch tasks."""
    process = subprocess.Popen([*LCD, *INGEST, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=RAW_DOCS.parent)
    seen: list[str] = []
    for line in process.stderr:
        seen.append(line.rstrip())
        if "Task run 'load-batch-" in line and "Finished" in line:
            loads -= 1
            if loads == 0:
                return process, seen
    process.wait(timeout=60)
    pytest.fail(f"the run ended (status {process.returncode}) before the kill point:\n" + "\n".join(seen[-20:]))


def _commands(snapshot: list[psutil.Process]) -> str:
    return "\n".join(" ".join(proc.cmdline()) for proc in snapshot if proc.is_running())


@pytest.mark.parametrize("workers", ["0", "2"], ids=["in_process", "local_dask_cluster"])
def test_a_run_killed_mid_extraction_leaves_no_process_behind(env, tmp_path, bystander, workers):
    process, _ = _start_ingest([str(RAW_DOCS), "--db", str(tmp_path / "lcd.duckdb"), "--workers", workers], env, loads=1)
    try:
        snapshot, run_id = _tree(process.pid)
        commands = _commands(snapshot)
        assert "prefect.server" in commands, commands  # the temporary Prefect API server
        if workers != "0":
            assert commands.count("multiprocessing.spawn") >= 2, commands  # the Dask worker processes
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    _assert_all_gone(snapshot, run_id)


def test_a_run_that_ends_normally_leaves_no_process_behind(env, tmp_path, bystander):
    docs = copy_corpus(tmp_path / "docs", ("L33612", "L34648", "L33438"))
    process, _ = _start_ingest([str(docs), "--db", str(tmp_path / "lcd.duckdb"), "--workers", "2"], env, loads=1)
    try:
        snapshot, run_id = _tree(process.pid)
        _out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err[-2000:]
    _assert_all_gone(snapshot, run_id)


# A stand-in for a run: enters run_processes(), starts a child, a child with an empty environment (found
# through the reaper's snapshots of the tree, not the marker) and a grandchild, prints their PIDs, then
# waits (or exits at once with "exit").
STAND_IN = """
import subprocess, sys, time
from pipeline.orchestration.lifetime import run_processes
with run_processes():
    children = [subprocess.Popen(["sleep", "300"]), subprocess.Popen(["/bin/sleep", "301"], env={}),
                subprocess.Popen(["sh", "-c", "sleep 302 & wait"])]
print(" ".join(str(c.pid) for c in children), flush=True)
time.sleep(1.5)  # the reaper notes the tree once a second
print("ready", flush=True)
if sys.argv[1] != "exit":
    time.sleep(300)
"""


@pytest.mark.parametrize("ending", ["sigkill", "sigterm_to_process_group", "exit"])
def test_the_reaper_ends_the_processes_of_a_stand_in_run(tmp_path, bystander, ending):
    env = {k: v for k, v in os.environ.items() if k != RUN_ID_ENV}
    process = subprocess.Popen([sys.executable, "-c", STAND_IN, ending], env=env, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[1], start_new_session=True)
    try:
        pids = [int(pid) for pid in process.stdout.readline().split()]
        snapshot, run_id = _tree(process.pid)
        assert {proc.pid for proc in snapshot} >= set(pids)
        assert process.stdout.readline().strip() == "ready"
        if ending == "sigkill":
            process.send_signal(signal.SIGKILL)
        elif ending == "sigterm_to_process_group":
            os.killpg(process.pid, signal.SIGTERM)  # reaches the run and its children, not the reaper
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    took = _assert_all_gone(snapshot, run_id)
    assert took < 5, f"the stand-in's processes took {took:.1f} s to end"
