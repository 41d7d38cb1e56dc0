"""`lcd reextract`: the facts of versions loaded by an older extractor are rebuilt from what the warehouse
keeps, their sources and keys stay, their LCDs are re-diffed, and a killed run is finished by the next."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
from _factories import build_version

from pipeline.cli import main
from pipeline.datamodel import Extraction
from pipeline.diff.store import diff_versions
from pipeline.extract import extract
from pipeline.jobs.reextract import current_extractor_version, lcd_batches, reextract
from pipeline.warehouse import connect, load_versions
from pipeline.warehouse.lock import EXIT_LOCKED, warehouse_lock
from tests._corpus import build_warehouse
from tests._lcd_subprocess import LCD, kill_when
from tests.conftest import RAW_DOCS

OLD = "test-1"  # the extractor_version the factory versions carry, with their hand-made facts
SOURCE_TABLES = ("version_texts", "version_sections")
FACT_KEYS = {"indications": "indication_key", "doses": "dose_key", "thresholds": "threshold_key", "criteria": "criterion_key"}


def _versions() -> list:
    """Three LCDs, one with two versions whose policy differs: (Document, hand-made Extraction) pairs."""
    return [
        build_version(),
        build_version(version="36", dose_high=2.0, extra_indications=("multifocal motor neuropathy",)),
        build_version(lcd_id="L1", version="1", igg_value=500.0),
        build_version(lcd_id="L2", version="4", gvhd_coverage="not_covered"),
    ]


def _load(db: Path, extractor=None) -> None:
    """Load the factory versions with their hand-made facts (extractor_version 'test-1'), or with
    `extractor`'s facts, and diff them, as ingest does."""
    con = connect(db)
    items = [(doc, extractor(doc) if extractor else extraction) for doc, extraction in _versions()]
    diff_versions(con, load_versions(con, items))
    con.close()


@pytest.fixture
def stale_db(tmp_path: Path) -> Path:
    """A warehouse whose every version was extracted by an older extractor."""
    db = tmp_path / "stale.duckdb"
    _load(db)
    return db


def _content(db: Path) -> dict[str, list[tuple]]:
    """Everything but keys and load/diff timestamps: facts with their indication's name instead of its
    key, changes with their versions' numbers. Equal for two runs that did the same work."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {"lcd_versions": con.execute("select * exclude (ingested_at) from lcd_versions order by all").fetchall()}
        out["indications"] = con.execute("select * exclude (indication_key) from indications order by all").fetchall()
        for table in ("doses", "thresholds", "criteria"):
            out[table] = con.execute(
                f"""
                select f.* exclude ({FACT_KEYS[table]}, indication_key), i.normalized_name
                from {table} as f
                left join indications as i
                    on i.indication_key = f.indication_key
                order by all
                """
            ).fetchall()
        out["policy_changes"] = con.execute(
            "select * exclude (change_key, detected_at, parent_change_key, from_version_key, to_version_key), "
            "parent_change_key is null from policy_changes order by all"
        ).fetchall()
        out["diff_state"] = con.execute("select * exclude (diffed_at) from diff_state order by all").fetchall()
    finally:
        con.close()
    return out


def _rows(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _keys(db: Path) -> dict[str, set[int]]:
    return {table: {row[0] for row in _rows(db, f"select {key} from {table}")} for table, key in FACT_KEYS.items()}


def _reextract(db: Path, everything: bool = False, batch_size: int = 25):
    con = connect(db)
    try:
        return reextract(con, everything=everything, batch_size=batch_size)
    finally:
        con.close()


def test_reextract_replaces_old_facts_by_what_the_current_extractor_finds(stale_db, tmp_path):
    current = tmp_path / "current.duckdb"
    _load(current, extractor=extract)  # what ingest with the current extractor builds from the same documents
    old_keys = _keys(stale_db)

    summary = _reextract(stale_db)

    assert (summary.versions, summary.loaded, summary.lcd_ids) == (4, 4, ["L1", "L2", "L35891"])
    assert _content(stale_db) == _content(current)
    assert {row[0] for row in _rows(stale_db, "select extractor_version from lcd_versions")} == {current_extractor_version()}
    new_keys = _keys(stale_db)
    assert all(new_keys[table] and not new_keys[table] & old_keys[table] for table in ("indications", "thresholds")), "keys not regenerated"


def test_reextract_keeps_version_rows_keys_texts_and_sections(stale_db):
    kept = {table: _rows(stale_db, f"select * from {table} order by all") for table in SOURCE_TABLES}
    versions = _rows(stale_db, "select * exclude (extractor_version) from lcd_versions order by version_key")

    _reextract(stale_db)

    assert {table: _rows(stale_db, f"select * from {table} order by all") for table in SOURCE_TABLES} == kept
    assert _rows(stale_db, "select * exclude (extractor_version) from lcd_versions order by version_key") == versions


def test_reextract_rebuilds_the_diff_of_the_reextracted_versions(tmp_path):
    db = tmp_path / "lcd.duckdb"
    _load(db, extractor=lambda doc: Extraction(extractor_version="lcd_rules.v0"))  # an extractor that found nothing
    changes = "select change_type, subject from policy_changes order by all"
    # With no facts, the revised dose sentence is only a text change.
    assert _rows(db, changes) == [("text_changed", "The dose for chronic graft versus host disease is 0.4–2 g/kg monthly.")]

    _reextract(db)

    assert _rows(db, changes) == [("dose_changed", "IVIG dose"), ("indication_added", "multifocal motor neuropathy")]


def test_second_reextract_does_nothing(stale_db):
    _reextract(stale_db)
    first = {table: _rows(stale_db, f"select * from {table} order by all") for table in (*FACT_KEYS, "policy_changes")}

    again = _reextract(stale_db)

    assert again.versions == 0
    assert {table: _rows(stale_db, f"select * from {table} order by all") for table in (*FACT_KEYS, "policy_changes")} == first


def test_reextract_all_redoes_current_versions_with_new_keys_and_the_same_facts(stale_db):
    _reextract(stale_db)
    content, keys = _content(stale_db), _keys(stale_db)

    summary = _reextract(stale_db, everything=True)

    assert summary.versions == 4
    assert _content(stale_db) == content
    assert all(not _keys(stale_db)[table] & keys[table] for table in FACT_KEYS)


def test_reextract_leaves_versions_of_the_current_extractor_alone(stale_db):
    _reextract(stale_db)
    con = connect(stale_db)
    con.execute("update lcd_versions set extractor_version = 'older' where lcd_id = 'L1'")
    con.close()
    untouched = _rows(stale_db, "select indication_key from indications where version_key in (select version_key from lcd_versions where lcd_id <> 'L1') order by 1")

    summary = _reextract(stale_db)

    assert (summary.versions, summary.lcd_ids) == (1, ["L1"])
    assert _rows(stale_db, "select indication_key from indications where version_key in (select version_key from lcd_versions where lcd_id <> 'L1') order by 1") == untouched


def test_reextract_of_real_documents_from_the_warehouse_alone_equals_their_ingestion(tmp_path):
    # A txt LCD with two versions, a Coverage API JSON record and an article; the folder is then removed.
    docs = tmp_path / "docs"
    for name in ("IVIG-OFFLABEL", "L33312", "A56781"):
        shutil.copytree(RAW_DOCS / name, docs / name)
    db = tmp_path / "lcd.duckdb"
    build_warehouse(db, root=docs).close()
    ingested = _content(db)
    shutil.rmtree(docs)

    summary = _reextract(db, everything=True)

    assert summary.versions == 4
    assert summary.before == summary.after
    assert _content(db) == ingested


def test_lcd_batches_keep_an_lcds_versions_together_unless_they_exceed_a_batch():
    rows = [(1, "A"), (2, "A"), (3, "B"), (4, "C"), (5, "C"), (6, "C"), (7, "C")]
    assert [[key for key, _ in batch] for batch in lcd_batches(rows, 3)] == [[1, 2, 3], [4, 5, 6], [7]]
    assert [[key for key, _ in batch] for batch in lcd_batches(rows, 10)] == [[1, 2, 3, 4, 5, 6, 7]]


def test_cli_reextract_prints_versions_facts_and_changes_before_and_after(stale_db, capsys):
    before = _rows(stale_db, "select count(*) from indications")[0][0]
    assert main(["reextract", "--db", str(stale_db)]) == 0
    out = capsys.readouterr()
    after = _rows(stale_db, "select count(*) from indications")[0][0]
    lines = out.out.splitlines()
    assert lines[0] == f"versions re-extracted: 4 of 4 (3 LCDs, extractor {current_extractor_version()})"
    assert lines[1].startswith(f"facts: indications {before} -> {after}, doses ")
    assert lines[2].startswith("policy changes: ")
    assert out.err.splitlines()[-1] == "lcd reextract: 4/4 version(s) re-extracted and committed"

    assert main(["reextract", "--db", str(stale_db)]) == 0
    assert capsys.readouterr().out.startswith(f"nothing to re-extract: 4 version(s) already extracted by {current_extractor_version()}")


def test_cli_reextract_without_a_warehouse_is_a_one_line_error(tmp_path, capsys):
    assert main(["reextract", "--db", str(tmp_path / "none.duckdb")]) == 2
    assert capsys.readouterr().err.strip() == f"lcd reextract: no warehouse at {tmp_path / 'none.duckdb'}: run `lcd ingest` first"
    assert not (tmp_path / "none.duckdb").exists()


def test_cli_reextract_takes_the_warehouse_lock(stale_db, capsys):
    with warehouse_lock(stale_db, 1):
        assert main(["reextract", "--db", str(stale_db), "--lock-timeout", "0"]) == EXIT_LOCKED
    assert "nothing was written" in capsys.readouterr().err
    assert {row[0] for row in _rows(stale_db, "select extractor_version from lcd_versions")} == {OLD}


# `lcd reextract` in a subprocess that also says whether it imported Prefect (it must not need it).
REEXTRACT = [LCD[0], "-c", "import sys; from pipeline.cli import main; rc = main(sys.argv[1:]); print('prefect imported:', 'prefect' in sys.modules); sys.exit(rc)"]


def test_reextract_killed_after_a_batch_then_rerun_equals_one_clean_run(stale_db, tmp_path):
    clean = tmp_path / "clean.duckdb"
    shutil.copy(stale_db, clean)
    _reextract(clean, batch_size=1)
    args = ["reextract", "--db", str(stale_db), "--batch-size", "1"]

    kill_when([*REEXTRACT, *args], None, lambda line: "re-extracted and committed" in line)  # the first batch committed

    done = {row[0] for row in _rows(stale_db, f"select lcd_id from lcd_versions where extractor_version <> '{OLD}'")}
    assert done and done != {"L1", "L2", "L35891"}, "the kill did not land between batches"
    rerun = subprocess.run([*REEXTRACT, *args], capture_output=True, text=True, cwd=RAW_DOCS.parent, timeout=120)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "prefect imported: False" in rerun.stdout
    assert _content(stale_db) == _content(clean)


def test_extractor_version_fingerprints_the_rule_data_and_the_trained_artifacts():
    from pipeline.extract.extractor import _fingerprint, extractor_version

    rules, trained = extractor_version(trained=False), extractor_version(trained=True)
    assert rules.startswith("lcd_rules.v6+") and trained.startswith("lcd_ner_rules.v6+")
    assert rules.split("+")[1] != trained.split("+")[1]  # the trained one also hashes the model files
    assert _fingerprint(True) == _fingerprint(True) and len(_fingerprint(True)) == 10
