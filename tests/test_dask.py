"""`lcd ingest` on a real dask.distributed cluster (a scheduler and two worker processes on 127.0.0.1,
started with Dask's own `dask scheduler` / `dask worker` commands) fills the warehouse exactly like a
run in one process: same rows in every table, keys included."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.orchestration.cluster import ClusterError, normalize_address, resolve_workers
from tests._lcd_subprocess import copy_corpus, run_lcd, warehouse_content
from tests.conftest import REPO

DASK = str(Path(sys.executable).parent / "dask")
INGEST = ["ingest", "--batch-size", "2", "--no-progress"]


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {timeout:.0f} s")
        time.sleep(0.2)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """A Dask scheduler and a `dask worker` with two single-threaded worker processes; yields its address."""
    from distributed import Client

    folder = tmp_path_factory.mktemp("dask")
    scheduler_file = folder / "scheduler.json"
    log = open(folder / "dask.log", "w")
    common = {"cwd": REPO, "stdout": log, "stderr": subprocess.STDOUT, "start_new_session": True}
    scheduler = subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file)], **common)
    workers = None
    try:
        _wait_for(scheduler_file.exists, 60, "dask scheduler")
        address = json.loads(scheduler_file.read_text())["address"]
        workers = subprocess.Popen(
            [DASK, "worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard", "--memory-limit", "0", "--local-directory", str(folder / "workers")],
            **common,
        )
        with Client(address, timeout=30, set_as_default=False) as client:
            _wait_for(lambda: len(client.nthreads()) == 2, 120, "two dask workers")
        yield address
    finally:
        for process in (workers, scheduler):
            if process is not None:
                _stop(process)
        log.close()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Eleven versions in ten folders (the two IVIG versions give policy changes to diff)."""
    return copy_corpus(tmp_path_factory.mktemp("dask-corpus") / "docs")


@pytest.fixture(scope="module")
def local_warehouse(api, corpus, tmp_path_factory) -> dict:
    """The warehouse a run in one process builds."""
    db = tmp_path_factory.mktemp("local") / "lcd.duckdb"
    result = run_lcd([*INGEST, str(corpus), "--db", str(db), "--workers", "0"], api, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "extraction ran in: this process" in result.stdout
    return warehouse_content(db)


def test_ingest_on_a_dask_cluster_builds_the_same_warehouse_as_a_local_run(api, corpus, dask_cluster, local_warehouse, tmp_path):
    db = tmp_path / "lcd.duckdb"
    result = run_lcd([*INGEST, str(corpus), "--db", str(db), "--dask-address", dask_cluster], api, timeout=300)

    assert result.returncode == 0, result.stderr[-3000:]
    assert f"extraction ran in: Dask cluster {dask_cluster} (2 worker threads)" in result.stdout
    assert "versions: 11 new, 0 skipped, 0 failed" in result.stdout
    content = warehouse_content(db)
    assert content == local_warehouse
    assert len(content["policy_changes"]) > 0 and len(content["indications"]) > 0


def test_lcd_dask_address_variable_sends_extraction_to_the_cluster(api, corpus, dask_cluster, local_warehouse, tmp_path):
    db = tmp_path / "lcd.duckdb"
    env = {**api, "LCD_DASK_ADDRESS": dask_cluster.removeprefix("tcp://")}  # a bare host:port is accepted
    result = run_lcd([*INGEST, str(corpus), "--db", str(db)], env, timeout=300)

    assert result.returncode == 0, result.stderr[-3000:]
    assert f"extraction ran in: Dask cluster {dask_cluster}" in result.stdout
    assert warehouse_content(db) == local_warehouse


def test_workers_option_runs_a_local_cluster_and_builds_the_same_warehouse(api, corpus, local_warehouse, tmp_path):
    db = tmp_path / "lcd.duckdb"
    result = run_lcd([*INGEST, str(corpus), "--db", str(db), "--workers", "2"], api, timeout=300)

    assert result.returncode == 0, result.stderr[-3000:]
    assert "extraction ran in: local Dask cluster of 2 processes" in result.stdout
    assert warehouse_content(db) == local_warehouse


def test_a_failing_document_on_the_cluster_is_an_ingest_error_like_locally(api, dask_cluster, tmp_path):
    docs = copy_corpus(tmp_path / "docs", ("L33612",))
    (docs / "L99999").mkdir()
    (docs / "L99999" / "1.json").write_text("{ not json")
    db = tmp_path / "lcd.duckdb"
    result = run_lcd([*INGEST, str(docs), "--db", str(db), "--dask-address", dask_cluster], api, timeout=300)

    assert result.returncode == 1
    assert "versions: 1 new, 0 skipped, 1 failed" in result.stdout
    errors = warehouse_content(db)["ingest_errors"]
    assert [(row[1], row[2]) for row in errors] == [(str(docs / "L99999" / "1.json"), "parse")]


def test_unreachable_dask_scheduler_is_a_one_line_error_and_writes_nothing(api, tmp_path):
    docs = copy_corpus(tmp_path / "docs", ("L33612",))
    db = tmp_path / "lcd.duckdb"
    result = run_lcd([*INGEST, str(docs), "--db", str(db), "--dask-address", "tcp://127.0.0.1:9"], api, timeout=120)

    assert result.returncode == 2
    assert result.stderr.strip().startswith("lcd ingest: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert len(result.stderr.strip().splitlines()) == 1
    assert warehouse_content(db)["lcd_versions"] == []


def test_bad_worker_count_or_address_fails_before_any_work(api, tmp_path):
    db = tmp_path / "lcd.duckdb"
    for option, message in ((["--workers", "-1"], "--workers must be 0 or more"), (["--workers", "many"], "--workers must be a number or 'auto'"), (["--dask-address", "http://x"], "not a Dask scheduler address")):
        result = run_lcd(["ingest", str(tmp_path), "--db", str(db), *option], api, timeout=60)
        assert result.returncode == 2, option
        assert message in result.stderr
    assert not db.exists()


def test_auto_workers_use_every_core_only_for_runs_big_enough_to_pay_for_them():
    assert resolve_workers("auto", batches=3, cpus=2) == 0
    assert resolve_workers("auto", batches=4, cpus=2) == 2
    assert resolve_workers("auto", batches=40, cpus=1) == 0
    assert resolve_workers("3", batches=1, cpus=2) == 3
    assert resolve_workers(0, batches=100, cpus=8) == 0
    with pytest.raises(ClusterError):
        resolve_workers("-2", batches=1)


def test_scheduler_addresses_are_normalised_or_refused():
    assert normalize_address("10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    assert normalize_address(" tcp://sched.internal:8786 ") == "tcp://sched.internal:8786"
    for bad in ("", "tcp://", "http://host:8786", "host", "tcp://host:port"):
        with pytest.raises(ClusterError):
            normalize_address(bad)

