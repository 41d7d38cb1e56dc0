"""CLI arguments reach SQL only as parameters: hostile ids, versions, dates and paths fail cleanly (a one-line
error) or work as plain data, and the warehouse is unchanged after every one of them."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from pipeline.cli import main
from tests.conftest import RAW_DOCS

DROP = "'; drop table lcd_versions; --"
HOSTILE_ID = f"L1{DROP}"


def _state(db: Path) -> dict[str, int]:
    """Row count of every base table: the fingerprint each command must leave unchanged."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [r[0] for r in con.execute("select table_name from duckdb_tables() where schema_name = 'main' order by 1").fetchall()]
        return {t: con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables}
    finally:
        con.close()


@pytest.fixture(scope="module")
def warehouse(prefect_server, tmp_path_factory) -> Path:
    """Both IVIG versions, and one version of an LCD whose id is an SQL injection attempt."""
    root = tmp_path_factory.mktemp("inject") / "docs"
    for rel in ("IVIG-OFFLABEL/1.txt", "IVIG-OFFLABEL/2.txt"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(RAW_DOCS / rel, root / rel)
    (root / HOSTILE_ID).mkdir()
    (root / HOSTILE_ID / "1.txt").write_bytes((RAW_DOCS / "IVIG-OFFLABEL" / "2.txt").read_bytes() + b"\nCopy.\n")
    db = root.parent / "lcd.duckdb"
    assert main(["ingest", str(root), "--db", str(db), "--no-progress"]) == 0
    return db


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["diff", HOSTILE_ID + "x"], f"lcd diff: LCD {HOSTILE_ID + 'x'!r} is not in the warehouse"),
        (["diff", "L1' or '1'='1"], "lcd diff: LCD \"L1' or '1'='1\" is not in the warehouse"),
        (["diff", "IVIG-OFFLABEL", "--from", f"1{DROP}"], None),
        (["diff", "IVIG-OFFLABEL", "--to", f"2{DROP}"], None),
        (["report", "--since", f"2024-01-01{DROP}"], "--since must be a date"),
        (["compare", f"IVIG-OFFLABEL{DROP}", "IVIG-OFFLABEL"], None),
        (["compare", "IVIG-OFFLABEL", "IVIG-OFFLABEL", "--b-version", f"2{DROP}"], None),
    ],
    ids=["diff-id", "diff-or-true", "diff-from", "diff-to", "report-since", "compare-id", "compare-version"],
)
def test_hostile_cli_argument_is_a_one_line_error_and_changes_nothing(warehouse, capsys, argv, message):
    before = _state(warehouse)
    status = main([*argv, "--db", str(warehouse)])
    out, err = capsys.readouterr()
    assert status == 2, (out, err)
    assert err.count("\n") == 1 and err.startswith(f"lcd {argv[0]}: "), err
    assert "Traceback" not in err and "Error:" not in err.split(": ", 1)[1][:6]
    if message:
        assert message in err
    assert _state(warehouse) == before


def test_hostile_lcd_id_stored_as_data_is_found_by_the_cli(warehouse, capsys):
    before = _state(warehouse)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute("select lcd_id from lcd_versions where lcd_id like 'L1%'").fetchall() == [(HOSTILE_ID,)]
    finally:
        con.close()
    status = main(["compare", HOSTILE_ID, "IVIG-OFFLABEL", "--db", str(warehouse)])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert HOSTILE_ID in out
    assert _state(warehouse) == before


def test_query_is_read_only(warehouse, capsys):
    before = _state(warehouse)
    status = main(["query", "drop table lcd_versions", "--db", str(warehouse)])
    err = capsys.readouterr().err
    assert status != 0 and err.count("\n") == 1 and err.startswith("lcd query: ")
    assert _state(warehouse) == before


def test_export_to_a_folder_named_like_an_injection(warehouse, tmp_path, capsys):
    before = _state(warehouse)
    out_dir = tmp_path / f"out{DROP}"
    assert main(["export", "--parquet", str(out_dir), "--db", str(warehouse)]) == 0
    assert (out_dir / "lcd_versions.parquet").is_file()
    con = duckdb.connect()
    rows = con.execute("select count(*) from read_parquet(?)", [str(out_dir / "lcd_versions.parquet")]).fetchone()[0]
    con.close()
    assert rows == before["lcd_versions"] == 3
    assert _state(warehouse) == before
