"""`lcd query` (read-only SQL printed as a table, CSV or JSON) and `lcd export --parquet`."""

from __future__ import annotations

import csv
import io
import json

import duckdb
import pytest

from pipeline.cli import main
from pipeline.analyst.query import QueryResult, cell_text, render_table
from tests._corpus import build_warehouse
from tests.conftest import REPO


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """Both IVIG versions, loaded and diffed; the file is closed so the CLI can open it read-only."""
    path = tmp_path_factory.mktemp("query") / "lcd.duckdb"
    build_warehouse(path, ["IVIG-OFFLABEL"]).close()
    return path


def test_query_prints_a_table_and_the_row_count(db, capsys):
    sql = "select lcd_id, version, changes from policy_timeline order by version_order"
    assert main(["query", sql, "--db", str(db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["lcd_id", "version", "changes"]
    assert [line.split() for line in lines[2:4]] == [["IVIG-OFFLABEL", "1", "0"], ["IVIG-OFFLABEL", "2", "4"]]
    assert lines[-1] == "2 rows"


def test_query_runs_a_sql_file_from_warehouse_queries(db, capsys):
    path = REPO / "warehouse" / "queries" / "lcds_with_most_changes.sql"
    assert main(["query", str(path), "--db", str(db), "--format", "json"]) == 0
    assert [(r["lcd_id"], r["changes"]) for r in json.loads(capsys.readouterr().out)] == [("IVIG-OFFLABEL", 4)]


def test_query_cuts_long_cells_and_flattens_line_breaks(db, capsys):
    sql = "select after_sentence from change_log where subject = 'Systemic Capillary Leak Syndrome'"
    assert main(["query", sql, "--db", str(db), "--max-width", "30"]) == 0
    row = capsys.readouterr().out.splitlines()[2]
    assert row.rstrip() == "- Systemic Capillary Leak Syn…"
    assert cell_text("line one\nline two", 0) == "line one line two"
    assert cell_text(None) == "NULL" and cell_text(["a", None]) == "[a, NULL]"


def test_query_prints_data_that_looks_like_markup_literally():
    out = io.StringIO()
    render_table(QueryResult(("s",), ("VARCHAR",), (("[bold]x[/bold]",),)), out)
    assert "[bold]x[/bold]" in out.getvalue()


def test_query_csv_and_json_keep_every_value_whole(db, capsys):
    sql = "select subject, after_sentence, detected_at from change_log order by change_key"
    assert main(["query", sql, "--db", str(db), "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["subject", "after_sentence", "detected_at"]
    assert len(rows) == 5
    assert any(len(r[1]) > 200 for r in rows[1:])  # the SCLS paragraph, uncut
    assert main(["query", sql, "--db", str(db), "--format", "json", "--max-width", "5"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["subject"] for r in records][:2] == ["Immune-mediated Necrotizing Myositis", "Systemic Capillary Leak Syndrome"]
    assert records[0]["detected_at"][:4].isdigit()


def test_query_sql_error_is_a_one_line_error(db, capsys):
    assert main(["query", "selec 1", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lcd query: Parser Error: syntax error") and err.count("\n") == 1


def test_query_cannot_change_the_warehouse(db, capsys):
    assert main(["query", "delete from doses", "--db", str(db)]) == 2
    assert "read-only" in capsys.readouterr().err
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("select count(*) from doses").fetchall()[0][0] > 0
    finally:
        con.close()


def test_query_without_a_warehouse_says_to_ingest_first(tmp_path, capsys):
    assert main(["query", "select 1", "--db", str(tmp_path / "none.duckdb")]) == 2
    assert "run `lcd ingest` first" in capsys.readouterr().err
    assert not (tmp_path / "none.duckdb").exists()


def test_export_writes_every_table_and_view_as_parquet(db, tmp_path, capsys):
    out = tmp_path / "parquet"
    assert main(["export", "--parquet", str(out), "--db", str(db)]) == 0
    printed = capsys.readouterr().out
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [r[0] for r in con.execute("select table_name from duckdb_tables() where schema_name = 'main'").fetchall()]
        views = ["current_policy", "policy_timeline", "change_log", "threshold_comparison", "coverage_by_indication"]
        assert {p.stem for p in out.glob("*.parquet")} == set(tables) | set(views)
        for name in [*tables, *views]:
            expected = con.execute(f"select count(*) from {name}").fetchall()[0][0]
            written = con.execute("select count(*) from read_parquet(?)", [str(out / f"{name}.parquet")]).fetchall()[0][0]
            assert written == expected, name
            assert name in printed
        columns = [r[0] for r in con.execute("describe select * from read_parquet(?)", [str(out / "current_policy.parquet")]).fetchall()]
        assert columns[:3] == ["fact_id", "fact_type", "fact_key"]
    finally:
        con.close()
    assert printed.splitlines()[-1] == f"wrote {len(tables) + len(views)} Parquet files to {out}"
