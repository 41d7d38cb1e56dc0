"""The README's example queries (warehouse/queries/*.sql) answer as documented on the shipped IVIG versions."""

from __future__ import annotations

import pytest

from pipeline.diff import diff_version
from pipeline.runner import extract_batch, plan_ingest, read_batch
from pipeline.warehouse import connect, load_version
from tests.conftest import RAW_DOCS, REPO

QUERIES = REPO / "warehouse" / "queries"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """Both IVIG versions loaded and diffed through the library steps the flow runs (no Prefect)."""
    con = connect(tmp_path_factory.mktemp("wh") / "lcd.duckdb")
    plan = plan_ingest([RAW_DOCS / "IVIG-OFFLABEL"], known_hashes=set())
    documents, failures = read_batch(list(plan.new), RAW_DOCS)
    assert not failures
    keys = [load_version(con, d, e) for d, e in zip(documents, extract_batch(documents))]
    for key in keys:
        diff_version(con, key)
    yield con
    con.close()


def _run(con, name: str) -> list[tuple]:
    return con.execute((QUERIES / name).read_text()).fetchall()


def test_igg_thresholds_query_finds_the_gvhd_limit(warehouse):
    rows = _run(warehouse, "igg_thresholds_latest.sql")
    assert rows and {(r[0], r[2], r[3], r[4], r[5]) for r in rows} == {("IVIG-OFFLABEL", "covered", "<", 400.0, "mg/dL")}
    assert all("graft" in r[1].lower() for r in rows)


def test_ivig_doses_query_lists_the_nine_policy_doses_in_order(warehouse):
    rows = _run(warehouse, "ivig_doses_by_indication.sql")
    assert [(r[1], r[2], r[3]) for r in rows] == [
        (1.5, 1.5, "g/kg"), (0.4, 1.5, "g/kg"), (500.0, 500.0, "mg/kg"),
        (2.0, 2.0, "g/kg"), (0.5, 0.5, "g/kg"), (2.0, 2.0, "g/kg"), (1.5, 1.5, "g/kg"),
        (2.0, 2.0, "g/kg"), (1.0, 1.0, "g/kg"),
    ]
    assert [r[5] for r in rows][:3] == ["induction", "maintenance", "prophylaxis"]


def test_policy_changes_query_shows_the_two_added_indications(warehouse):
    rows = _run(warehouse, "policy_changes.sql")
    added = sorted(r[4] for r in rows if r[3] == "indication_added")
    assert added == ["Immune-mediated Necrotizing Myositis", "Systemic Capillary Leak Syndrome"]
    assert {r[3] for r in rows} <= {"indication_added", "dose_added"}
    assert all((r[1], r[2]) == ("1", "2") for r in rows)
