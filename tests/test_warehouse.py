"""The warehouse: schema contract, atomic bulk loading, constraints, version order."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest
from _factories import build_version

import pipeline.warehouse.load as load_module
from pipeline.datamodel import Extraction
from pipeline.warehouse import (
    SCHEMA_PATH,
    connect,
    default_db_path,
    is_loaded,
    known_hashes,
    load_version,
    previous_version_key,
    record_error,
    version_key_of,
    versions_of,
)
from pipeline.warehouse.read import next_version_key

REQUIRED_COLUMNS = {
    "lcd_versions": "version_key lcd_id version title contractor effective_date source_path source_sha256 "
    "source_format ingested_at",
    "indications": "indication_key version_key name normalized_name coverage icd10_codes section sentence "
    "char_start char_end confidence",
    "doses": "dose_key version_key indication_key drug amount_low amount_high unit frequency phase section text "
    "char_start char_end",
    "thresholds": "threshold_key version_key indication_key measure comparator value value_high unit polarity "
    "section text char_start char_end",
    "criteria": "criterion_key version_key indication_key kind text",
    "policy_changes": "change_key lcd_id from_version_key to_version_key change_type subject before after "
    "detected_at",
    "ingest_errors": "source_path error_type message at",
    "version_texts": "version_key text",
    "version_sections": "version_key name heading kind char_start char_end",
}
FACT_TABLES = ("lcd_versions", "version_texts", "version_sections", "indications", "doses", "thresholds", "criteria")
T0 = datetime(2024, 5, 1, 12, 0)


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """A fresh temp-file warehouse."""
    connection = connect(tmp_path / "wh" / "lcd.duckdb")
    yield connection
    connection.close()


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Column name -> data type of `table`."""
    rows = con.execute(
        "select column_name, data_type from information_schema.columns where table_name = ?", [table]
    ).fetchall()
    return dict(rows)


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """Rows in `table` (a name from this test module)."""
    return con.execute(f"select count(*) from {table}").fetchone()[0]


def _load(con: duckdb.DuckDBPyConnection, at: datetime = T0, **spec: object) -> int:
    """Load one factory version."""
    doc, extraction = build_version(**spec)
    return load_version(con, doc, extraction, ingested_at=at)


def test_schema_creates_every_design_table_with_required_columns(con):
    for table, names in REQUIRED_COLUMNS.items():
        columns = _columns(con, table)
        missing = set(names.split()) - set(columns)
        assert not missing, f"{table} lacks {missing}"


def test_schema_column_types_match_the_contract(con):
    assert _columns(con, "lcd_versions")["effective_date"] == "DATE"
    assert _columns(con, "indications")["icd10_codes"] == "VARCHAR[]"
    assert _columns(con, "indications")["aliases"] == "VARCHAR[]"
    assert _columns(con, "doses")["amount_low"] == "DOUBLE"
    assert _columns(con, "thresholds")["value_high"] == "DOUBLE"


def test_schema_is_idempotent_and_keeps_data(tmp_path):
    path = tmp_path / "lcd.duckdb"
    first = connect(path)
    _load(first)
    first.execute(SCHEMA_PATH.read_text())
    first.close()
    again = connect(path)
    assert _count(again, "lcd_versions") == 1
    again.close()


def test_connect_creates_the_database_folder(tmp_path):
    path = tmp_path / "nested" / "deeper" / "lcd.duckdb"
    connect(path).close()
    assert path.is_file()


def test_default_db_path_honours_lcd_db(monkeypatch, tmp_path):
    monkeypatch.setenv("LCD_DB", str(tmp_path / "x.duckdb"))
    assert default_db_path() == tmp_path / "x.duckdb"
    monkeypatch.delenv("LCD_DB")
    assert default_db_path().parts[-2:] == ("warehouse", "lcd.duckdb")


def test_load_version_stores_version_row_text_sections_and_facts(con):
    doc, extraction = build_version()
    key = load_version(con, doc, extraction, ingested_at=T0)
    row = con.execute(
        "select lcd_id, version, title, contractor, effective_date, source_format, ingested_at, version_order, "
        "document_type, extractor_version from lcd_versions where version_key = ?",
        [key],
    ).fetchone()
    assert row == ("L35891", "35", doc.meta.title, doc.meta.contractor, date(2024, 3, 1), "txt", T0, 1, "LCD", "test-1")
    assert con.execute("select text from version_texts where version_key = ?", [key]).fetchone()[0] == doc.text
    assert _count(con, "version_sections") == 2
    assert _count(con, "indications") == len(extraction.indications)
    assert _count(con, "doses") == 2
    assert _count(con, "thresholds") == 1
    assert _count(con, "criteria") == 3


def test_load_version_offsets_point_into_the_stored_text(con):
    key = _load(con)
    mismatches = con.execute(
        """
        select f.text
        from (
            select version_key, text, char_start, char_end from doses
            union all
            select version_key, text, char_start, char_end from thresholds
            union all
            select version_key, name, char_start, char_end from indications
        ) as f
        join version_texts as v using (version_key)
        where substr(v.text, f.char_start + 1, f.char_end - f.char_start) != f.text
            and f.version_key = ?
        """,
        [key],
    ).fetchall()
    assert mismatches == []


def test_load_version_maps_local_indication_ids_to_warehouse_keys(con):
    _load(con)
    _load(con, version="36", salt="b")
    rows = con.execute(
        """
        select d.version_key, i.version_key, i.normalized_name
        from doses as d
        join indications as i on i.indication_key = d.indication_key
        """
    ).fetchall()
    assert len(rows) == 2
    assert all(dose_version == ind_version for dose_version, ind_version, _ in rows)
    assert {name for *_, name in rows} == {"chronic graft versus host disease"}
    policy_wide = con.execute("select count(*) from doses where indication_key is null").fetchone()[0]
    assert policy_wide == 2  # the evidence doses


def test_load_version_is_idempotent_by_content_hash(con):
    doc, extraction = build_version()
    first = load_version(con, doc, extraction, ingested_at=T0)
    second = load_version(con, replace(doc, source_path="elsewhere/35.txt"), extraction)
    assert second == first
    assert _count(con, "lcd_versions") == 1
    assert _count(con, "indications") == len(extraction.indications)
    assert known_hashes(con) == {doc.source_sha256}
    assert is_loaded(con, doc.source_sha256)
    assert not is_loaded(con, "0" * 64)


class _CountingConnection:
    """Forwards to a DuckDB connection, counting statements (DuckDB's own class cannot be patched)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self.statements = 0
        self.executemany_calls = 0

    def execute(self, *args, **kwargs):
        self.statements += 1
        return self._con.execute(*args, **kwargs)

    def executemany(self, *args, **kwargs):
        self.executemany_calls += 1
        return self._con.executemany(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._con, name)


def test_load_version_inserts_in_bulk_whatever_the_number_of_facts(con):
    few, many = _CountingConnection(con), _CountingConnection(con)
    load_version(few, *build_version(criteria=("a single criterion",)))
    load_version(many, *build_version(version="36", criteria=tuple(f"criterion number {n}" for n in range(40))))
    assert many.statements == few.statements
    assert few.executemany_calls == many.executemany_calls == 0
    assert _count(con, "criteria") == 41


def test_failed_load_with_invalid_coverage_leaves_no_rows(con):
    doc, extraction = build_version()
    bad = replace(extraction, indications=(replace(extraction.indications[0], coverage="maybe"), *extraction.indications[1:]))
    with pytest.raises(duckdb.ConstraintException):
        load_version(con, doc, bad)
    assert {table: _count(con, table) for table in FACT_TABLES} == dict.fromkeys(FACT_TABLES, 0)
    assert not is_loaded(con, doc.source_sha256)


def test_failed_load_midway_leaves_no_rows(con, monkeypatch):
    insert = load_module.insert_arrow

    def explode(con, table, *args):
        if table == "criteria":  # the last table: every other insert of the version has run
            raise RuntimeError("disk full while inserting criteria")
        return insert(con, table, *args)

    monkeypatch.setattr(load_module, "insert_arrow", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        _load(con)
    assert {table: _count(con, table) for table in FACT_TABLES} == dict.fromkeys(FACT_TABLES, 0)
    monkeypatch.undo()
    assert _load(con) is not None  # the connection is usable again and the same bytes load cleanly
    assert _count(con, "criteria") == 3


def test_failed_load_keeps_earlier_versions_of_the_lcd(con):
    _load(con, version="34", salt="a")
    doc, extraction = build_version(version="35")
    bad_dose = replace(extraction.doses[0], amount_low=3.0, amount_high=1.0)
    with pytest.raises(duckdb.ConstraintException):
        load_version(con, doc, replace(extraction, doses=(bad_dose,)))
    assert [v.version for v in versions_of(con, "L35891")] == ["34"]
    assert _count(con, "doses") == 2


def test_fact_referring_to_unknown_indication_fails_the_load(con):
    doc, extraction = build_version()
    orphan = replace(extraction.thresholds[0], indication_id=99)
    with pytest.raises(ValueError, match="unknown indication local_id 99"):
        load_version(con, doc, replace(extraction, thresholds=(orphan,)))
    assert _count(con, "lcd_versions") == 0


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("update indications set coverage = ?", ["partially_covered"]),
        ("update indications set section = ?", ["appendix"]),
        ("update thresholds set comparator = ?", ["=<"]),
        ("update thresholds set polarity = ?", ["include"]),
        ("update doses set phase = ?", ["loading"]),
        ("update doses set section = ?", ["Policy"]),
        ("update version_sections set kind = ?", ["body"]),
        (
            "insert into policy_changes (lcd_id, to_version_key, change_type, subject, detected_at) "
            "select lcd_id, version_key, ?, 'x', now() from lcd_versions",
            ["dose_increased"],
        ),
    ],
)
def test_check_constraints_reject_values_outside_the_accepted_lists(con, sql, params):
    _load(con)
    with pytest.raises(duckdb.ConstraintException):
        con.execute(sql, params)


def test_accepted_values_are_all_allowed(con):
    key = _load(con)
    for coverage in ("covered", "not_covered", "unclear"):
        con.execute("update indications set coverage = ?", [coverage])
    for comparator in ("<", "<=", ">", ">=", "="):
        con.execute("update thresholds set comparator = ?", [comparator])
    con.execute("update thresholds set comparator = 'between', value_high = value + 100")
    for phase in ("induction", "maintenance", "prophylaxis", None):
        con.execute("update doses set phase = ?", [phase])
    for change_type in ("indication_added", "coverage_changed", "threshold_changed", "criterion_removed"):
        con.execute(
            "insert into policy_changes (lcd_id, to_version_key, change_type, subject, detected_at) values (?, ?, ?, ?, ?)",
            ["L35891", key, change_type, "x", T0],
        )


def test_keys_and_source_hash_are_unique(con):
    _load(con)
    _load(con, version="36", salt="b")
    for table, key in (("lcd_versions", "version_key"), ("indications", "indication_key"), ("doses", "dose_key")):
        assert con.execute(f"select count(distinct {key}) = count(*) from {table}").fetchone()[0]
    with pytest.raises(duckdb.ConstraintException):
        con.execute(
            "insert into lcd_versions (lcd_id, version, source_path, source_sha256, source_format, ingested_at) "
            "select lcd_id, '99', source_path, source_sha256, source_format, ingested_at from lcd_versions limit 1"
        )
    with pytest.raises(duckdb.ConstraintException):
        con.execute("insert into indications select * from indications limit 1")


def test_undated_versions_are_ordered_numerically_so_10_follows_9(con):
    for version in ("10", "9", "2", "11"):
        _load(con, version=version, effective_date=None)
    assert [v.version for v in versions_of(con, "L35891")] == ["2", "9", "10", "11"]
    assert [v.version_order for v in versions_of(con, "L35891")] == [1, 2, 3, 4]


def test_dated_versions_are_ordered_by_effective_date(con):
    # Dates win over version numbers when every version has one (DESIGN: "by revision effective date").
    _load(con, version="9", effective_date=date(2023, 1, 1))
    _load(con, version="10", effective_date=date(2022, 1, 1))
    _load(con, version="8", effective_date=date(2024, 1, 1))
    assert [v.version for v in versions_of(con, "L35891")] == ["10", "9", "8"]


def test_partly_dated_versions_fall_back_to_version_numbers(con):
    # An undated version cannot be placed among dates, so the number leads and dates break ties.
    _load(con, version="3", effective_date=date(2021, 6, 1))
    _load(con, version="2", effective_date=None)
    _load(con, version="4", effective_date=date(2022, 6, 1))
    assert [v.version for v in versions_of(con, "L35891")] == ["2", "3", "4"]


def test_same_version_with_different_bytes_is_kept_after_the_first_copy(con):
    first = _load(con, at=T0, version="35", salt="original")
    reissued = _load(con, at=T0 + timedelta(days=2), version="35", salt="reissued")
    assert reissued != first
    assert [v.version_key for v in versions_of(con, "L35891")] == [first, reissued]
    assert previous_version_key(con, reissued) == first
    assert version_key_of(con, "L35891", "35") == reissued


def test_previous_and_next_version_keys_follow_the_order_within_one_lcd(con):
    v36 = _load(con, version="36", effective_date=date(2024, 6, 1))
    v35 = _load(con, version="35", effective_date=date(2024, 3, 1))
    other = _load(con, lcd_id="L33610", version="34", effective_date=date(2024, 4, 1))
    assert previous_version_key(con, v35) is None
    assert previous_version_key(con, v36) == v35
    assert next_version_key(con, v35) == v36
    assert previous_version_key(con, other) is None
    assert previous_version_key(con, 12345) is None


def test_ingested_at_with_time_zone_is_stored_in_utc(con):
    moment = datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    key = _load(con, at=moment)
    stored = con.execute("select ingested_at from lcd_versions where version_key = ?", [key]).fetchone()[0]
    assert stored == datetime(2024, 5, 1, 12, 0)


def test_hostile_lcd_id_with_quotes_and_semicolons_is_stored_as_data(con):
    hostile = "L1'; drop table lcd_versions; --\""
    key = _load(con, lcd_id=hostile, title="O'Brien's \"IVIG\"; policy")
    assert [v.lcd_id for v in versions_of(con, hostile)] == [hostile]
    assert version_key_of(con, hostile, "35") == key
    assert con.execute("select title from lcd_versions").fetchone()[0] == "O'Brien's \"IVIG\"; policy"
    assert _count(con, "indications") == 3


def test_record_error_keeps_the_failure_for_the_operator(con):
    record_error(con, "raw_docs/L1/'x'.pdf", "PdfError", "no text layer; scanned?", sha256="ab" * 32)
    record_error(con, "raw_docs/L2/1.txt", "ValueError", "empty document")
    rows = con.execute(
        'select source_path, error_type, message, source_sha256, "at" is not null from ingest_errors order by error_key'
    ).fetchall()
    assert rows == [
        ("raw_docs/L1/'x'.pdf", "PdfError", "no text layer; scanned?", "ab" * 32, True),
        ("raw_docs/L2/1.txt", "ValueError", "empty document", None, True),
    ]


def test_empty_extraction_still_loads_the_version(con):
    doc, _ = build_version()
    key = load_version(con, doc, Extraction())
    assert versions_of(con, "L35891")[0].version_key == key
    assert _count(con, "indications") == 0


def test_read_only_connection_queries_an_existing_warehouse(tmp_path):
    path = tmp_path / "lcd.duckdb"
    writer = connect(path)
    _load(writer)
    writer.close()
    reader = connect(path, read_only=True)
    assert [v.version for v in versions_of(reader, "L35891")] == ["35"]
    with pytest.raises(duckdb.Error):
        reader.execute("delete from criteria")
    reader.close()
