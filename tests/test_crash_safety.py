"""A real `lcd ingest` killed with SIGKILL mid-run, then re-run, leaves the warehouse of one clean run.

The runs share the session's Prefect API (PREFECT_API_URL) so that each subprocess starts in seconds.
The kill points are found from Prefect's own task log lines on stderr (--prefect-logs), so the test
does not open the warehouse while the writer has it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._lcd_subprocess import LCD, copy_corpus, kill_when, run_lcd, warehouse_state

INGEST = ["ingest", "--batch-size", "2", "--no-progress", "--prefect-logs"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Eleven versions in ten folders (both IVIG versions among them)."""
    return copy_corpus(tmp_path_factory.mktemp("crash") / "docs")


@pytest.fixture(scope="module")
def clean_state(api, corpus, tmp_path_factory) -> dict:
    """The warehouse one uninterrupted run builds."""
    db = tmp_path_factory.mktemp("clean") / "lcd.duckdb"
    result = run_lcd([*INGEST, str(corpus), "--db", str(db)], api)
    assert result.returncode == 0, result.stderr[-2000:]
    return warehouse_state(db)


def _kill_after(args: list[str], env: dict[str, str], task: str, occurrence: int, delay: float) -> list[str]:
    """Start `lcd ARGS`, SIGKILL it `delay` s after Prefect logs the `occurrence`-th finished `task`."""
    finished = iter(range(occurrence, 0, -1))  # counts down on every finished `task`

    def reached(line: str) -> bool:
        return f"Task run '{task}-" in line and "Finished" in line and next(finished) == 1

    return kill_when([*LCD, *args], env, reached, delay)


@pytest.mark.parametrize(
    ("task", "occurrence", "delay"),
    [
        ("load-batch", 1, 0.0),  # two versions committed, nine to go
        ("process-batch", 3, 0.05),  # during a load-batch (the next batch extracts while one loads): a transaction is open
        ("load-batch", 6, 0.0),  # every version loaded, the diff not yet run (IVIG 1 -> 2 undiffed)
    ],
    ids=["after_first_load", "during_third_load", "after_last_load_before_diff"],
)
def test_ingest_killed_then_rerun_equals_one_clean_run(api, corpus, clean_state, tmp_path, task, occurrence, delay):
    db = tmp_path / "lcd.duckdb"
    _kill_after([*INGEST, str(corpus), "--db", str(db)], api, task, occurrence, delay)

    after_kill = warehouse_state(db)
    assert after_kill["duplicates"] == 0
    assert all(count == 0 for count in after_kill["orphans"].values()), after_kill["orphans"]
    assert all(texts == 1 for _sha, *_counts, texts, _order in after_kill["facts"]), "a version without its text"
    assert set(after_kill["facts"]) <= set(clean_state["facts"]), "a half-loaded version survived the kill"

    rerun = run_lcd([*INGEST, str(corpus), "--db", str(db)], api)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert warehouse_state(db) == clean_state


def test_rerun_after_a_complete_run_says_nothing_new(api, corpus, tmp_path, clean_state):
    db = tmp_path / "lcd.duckdb"
    assert run_lcd([*INGEST, str(corpus), "--db", str(db)], api).returncode == 0
    again = run_lcd(["ingest", str(corpus), "--db", str(db), "--no-progress"], api)
    assert again.returncode == 0
    assert again.stdout.startswith("nothing new: 11 file(s) already loaded")
    assert warehouse_state(db) == clean_state
