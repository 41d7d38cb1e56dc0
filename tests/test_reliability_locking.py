"""Two writing runs on one warehouse: the second waits for the first (or gives up after a timeout)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipeline.warehouse.lock import LockTimeout, lock_path, warehouse_lock
from tests._lcd_subprocess import LCD, copy_corpus, run_lcd
from tests.conftest import RAW_DOCS

# A process that takes the warehouse lock, says so on stdout, and keeps it until killed or done.
HOLDER = """
import sys, time
from pipeline.warehouse.lock import warehouse_lock
with warehouse_lock(sys.argv[1], 5):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _hold(db: Path, seconds: float) -> subprocess.Popen:
    """Start a process holding the lock of `db` for `seconds`; returns once it holds it."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(db), str(seconds)], stdout=subprocess.PIPE, text=True, cwd=RAW_DOCS.parent)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_lock_is_exclusive_and_times_out_with_the_holders_pid(tmp_path):
    db = tmp_path / "lcd.duckdb"
    holder = _hold(db, 30)
    messages: list[str] = []
    try:
        with pytest.raises(LockTimeout, match=f"pid {holder.pid}"):
            with warehouse_lock(db, 0.5, on_wait=messages.append):
                pass
    finally:
        holder.kill()
        holder.wait()
    assert messages == [f"waiting for another lcd run on {db} (pid {holder.pid}) to finish, up to 0.5 s ..."]


def test_lock_of_a_sigkilled_run_is_released_at_once(tmp_path):
    db = tmp_path / "lcd.duckdb"
    holder = _hold(db, 30)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert lock_path(db).exists()  # the file stays; the kernel dropped the lock with the process
    started = time.monotonic()
    with warehouse_lock(db, 5, on_wait=lambda m: pytest.fail(f"waited for a dead process: {m}")):
        pass
    assert time.monotonic() - started < 1


def test_ingest_gives_up_after_lock_timeout_with_exit_3_and_writes_nothing(api, tmp_path):
    db = tmp_path / "lcd.duckdb"
    corpus = copy_corpus(tmp_path / "docs", ("IVIG-OFFLABEL",))
    holder = _hold(db, 30)
    try:
        result = run_lcd(["ingest", str(corpus), "--db", str(db), "--no-progress"], dict(api, LCD_LOCK_TIMEOUT="1"))
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"lcd ingest: waiting for another lcd run on {db} (pid {holder.pid}) to finish, up to 1 s ..."
    assert lines[-1].startswith(f"lcd ingest: another lcd run (pid {holder.pid}) still holds {db}.lock after 1 s")
    assert not db.exists()  # not even the planning connect() ran


def test_sync_waits_for_the_lock_too(api, tmp_path):
    db = tmp_path / "lcd.duckdb"
    holder = _hold(db, 30)
    try:
        result = run_lcd(["sync", "--api-url", "http://127.0.0.1:9", "--db", str(db), "--lock-timeout", "0.5"], api)
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 3
    assert f"waiting for another lcd run on {db} (pid {holder.pid})" in result.stderr
    assert not db.exists()


def test_second_ingest_waits_for_the_first_then_finds_nothing_new(api, tmp_path):
    db = tmp_path / "lcd.duckdb"
    # One document per task over the crash corpus: the first run holds the lock for seconds, long after
    # the second has started and reached it (with 4 documents the first could finish before that).
    corpus = copy_corpus(tmp_path / "docs")
    files = len([p for p in corpus.rglob("*") if p.is_file()])
    args = ["ingest", str(corpus), "--db", str(db), "--no-progress", "--prefect-logs", "--batch-size", "1"]
    first = subprocess.Popen([*LCD, *args], env=api, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=RAW_DOCS.parent)
    try:
        for line in first.stderr:  # the first run is inside its flow: it holds the lock
            if "Beginning flow run" in line:
                break
        second = run_lcd(["ingest", str(corpus), "--db", str(db), "--no-progress", "--lock-timeout", "120"], api)
        first_out, _ = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 0 and f"versions: {files} new" in first_out
    assert second.returncode == 0, second.stderr
    assert f"waiting for another lcd run on {db} (pid {first.pid})" in second.stderr
    assert second.stdout.startswith(f"nothing new: {files} file(s) already loaded")
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("select count(*), count(distinct source_sha256) from lcd_versions").fetchone() == (files, files)
    finally:
        con.close()
