"""The ingestion flow and the `lcd` CLI end to end on real shipped documents."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from pipeline.cli import main
from tests.conftest import RAW_DOCS


@pytest.fixture()
def small_corpus(tmp_path: Path) -> Path:
    """Both IVIG versions, one Coverage API record, one NCD record and one broken file."""
    root = tmp_path / "docs"
    for rel in ("IVIG-OFFLABEL/1.txt", "IVIG-OFFLABEL/2.txt", "L34648/31.json", "NCD30.3.3/1.json"):
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(RAW_DOCS / rel, target)
    broken = root / "L99999" / "1.txt"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    return root


def _count(db: Path, sql: str) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def test_ingest_loads_every_good_version_and_records_the_bad_one(prefect_server, small_corpus, db_path, capsys):
    status = main(["ingest", str(small_corpus), "--db", str(db_path), "--no-progress"])
    out, err = capsys.readouterr()
    assert status == 1
    assert "4 new, 0 skipped, 1 failed" in out
    assert "1 document(s) failed" in err and "L99999" in err
    assert _count(db_path, "select count(*) from lcd_versions") == 4
    assert _count(db_path, "select count(*) from ingest_errors where source_path like '%L99999%'") == 1
    assert _count(db_path, "select count(*) from indications") > 10


def test_ingest_diff_shows_exactly_the_added_ivig_indications(prefect_server, small_corpus, db_path, capsys):
    main(["ingest", str(small_corpus), "--db", str(db_path), "--no-progress"])
    con = duckdb.connect(str(db_path), read_only=True)
    rows = con.execute(
        "select change_type, subject from policy_changes where lcd_id = 'IVIG-OFFLABEL' and change_type like 'indication%'"
    ).fetchall()
    con.close()
    subjects = sorted(subject.lower() for change_type, subject in rows)
    assert {change_type for change_type, _ in rows} == {"indication_added"}
    assert len(subjects) == 2
    assert any("capillary leak" in s for s in subjects)
    assert any("necrotizing myositis" in s for s in subjects)


def test_second_ingest_skips_everything_without_starting_prefect(prefect_server, small_corpus, db_path, capsys):
    main(["ingest", str(small_corpus), "--db", str(db_path), "--no-progress"])
    (small_corpus / "L99999" / "1.txt").unlink()
    capsys.readouterr()
    status = main(["ingest", str(small_corpus), "--db", str(db_path), "--no-progress"])
    out, _ = capsys.readouterr()
    assert status == 0
    assert out.startswith("nothing new: 4 file(s) already loaded")
    assert _count(db_path, "select count(*) from lcd_versions") == 4


def test_cli_diff_prints_before_and_after_sentences(prefect_server, small_corpus, db_path, capsys):
    main(["ingest", str(small_corpus), "--db", str(db_path), "--no-progress"])
    capsys.readouterr()
    assert main(["diff", "IVIG-OFFLABEL", "--db", str(db_path)]) == 0
    out, _ = capsys.readouterr()
    assert "IVIG-OFFLABEL: version 1 -> 2" in out
    assert "indication_added" in out or "added" in out.lower()
    assert "on a trial basis" in out or "Capillary Leak" in out


def test_cli_report_writes_markdown_grouped_by_lcd(prefect_server, small_corpus, db_path, tmp_path, capsys):
    main(["ingest", str(small_corpus), "--db", str(db_path), "--no-progress"])
    out_file = tmp_path / "report.md"
    assert main(["report", "--db", str(db_path), "--out", str(out_file)]) == 0
    text = out_file.read_text()
    assert "IVIG-OFFLABEL" in text
    assert "Systemic Capillary Leak Syndrome" in text


def test_cli_extract_json_needs_no_warehouse(tmp_path, capsys, monkeypatch):
    import json

    monkeypatch.setenv("LCD_DB", str(tmp_path / "never.duckdb"))
    assert main(["extract", str(RAW_DOCS / "IVIG-OFFLABEL" / "2.txt"), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["lcd_id"] == "IVIG-OFFLABEL"
    assert any(i["coverage"] == "covered" for i in payload["indications"])
    assert not (tmp_path / "never.duckdb").exists()


def test_cli_diff_unknown_lcd_is_a_one_line_error(db_path, capsys):
    assert main(["diff", "L00000", "--db", str(db_path)]) == 2
    _, err = capsys.readouterr()
    assert err.strip() == "lcd diff: LCD 'L00000' is not in the warehouse"


def test_cli_report_rejects_a_bad_date(db_path, capsys):
    assert main(["report", "--since", "yesterday", "--db", str(db_path)]) == 2
    assert "--since must be a date" in capsys.readouterr().err


def test_every_command_help_has_an_example():
    from pipeline.cli import build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    for name, sub in subparsers.choices.items():
        assert "Example: lcd " + name in sub.description, name


def test_a_plan_larger_than_prefects_parameter_limit_still_runs(prefect_server, db_path):
    # Prefect refuses flow parameters over 512 KB; 20,000 planned paths are ~1 MB as JSON. The flow gets
    # a short reference to the plan instead of the plan.
    from pipeline.orchestration.ingest_flow import run_ingest
    from pipeline.jobs.ingest import Plan

    skipped = tuple(Path(f"/srv/mcd/lcd-{i:05d}/version-{i % 7}.json") for i in range(20_000))
    summary = run_ingest(Plan((), skipped, None), str(db_path))

    assert summary.skipped == 20_000
    assert summary.new_versions == 0 and not summary.failed
