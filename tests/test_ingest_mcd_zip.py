"""MCD bulk downloads (current_lcd.zip): zips built in the CMS layout from the shipped records (tests/_mcd_zip.py)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date
from pathlib import Path

import duckdb
import pytest
from _mcd_zip import LCD_COLUMNS, build_mcd_zip, csv_bytes, inner_zip, lcd_row, shipped_records

from pipeline.cli import main
from pipeline.ingest import ReadError, read_document
from pipeline.ingest.mcd_bundle import (
    BundleFailure,
    BundleLimits,
    read_bundle,
    revision_history,
    row_sha256,
    scan_bundle,
)
from pipeline.ingest.safezip import Budget, Metered, unsafe_member_reason
from pipeline.datamodel import Document
from pipeline.jobs.ingest import collect_batch, parse_sources, plan_ingest

RAW = Path(__file__).resolve().parents[1] / "raw_docs"
SMALL = BundleLimits(max_total_bytes=4 << 20, ratio_floor=64 << 10)


def _records(*display_ids: str) -> list[dict]:
    return [r for r in shipped_records() if r["document_display_id"] in display_ids]


def _documents(path: Path, limits: BundleLimits | None = None) -> list[Document | BundleFailure]:
    return list(read_bundle(path, limits))


def _refusal(path: Path, limits: BundleLimits | None = None) -> tuple[str, str]:
    entries, failures = scan_bundle(path, limits)
    assert entries == [] and len(failures) == 1
    assert failures[0].source_path == path.as_posix()
    return failures[0].error_type, failures[0].message


def _zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _lcd_csv(rows: list[list[str]], header=LCD_COLUMNS) -> bytes:
    return csv_bytes(header, rows)


def _row_fields(record: dict, **extra: str) -> list[str]:
    row = lcd_row(record, extra)
    return [row[c] for c in LCD_COLUMNS]


@pytest.fixture(scope="module")
def cms_zip(tmp_path_factory) -> Path:
    """current_lcd.zip of every shipped LCD record, dates in both CMS formats on two of them."""
    return build_mcd_zip(
        tmp_path_factory.mktemp("mcd") / "current_lcd.zip",
        extra={
            "L34648": {"rev_eff_date": "10/01/2024", "orig_det_eff_date": "2015-10-01 00:00:00"},
            "L38213": {"rev_eff_date": "2023-12-07 00:00:00", "orig_det_eff_date": "06/01/2018", "date_retired": "01/31/2027"},
        },
        revision_history=[
            ("34648", "31", "R30", "11/07/2024", "R30\nRevision Effective: 11/07/2024\nRevision Explanation: Annual review, no changes were made.", "08/07/2026"),
            ("34648", "31", "R31", "10/25/2025", "R31\nRevision Effective: 10/25/2025\nRevision Explanation: Added FRAX &amp; T-score criteria.", "08/07/2026"),
        ],
        reason_changes=[("34648", "31", "9", "1", "08/07/2026", "Added FRAX criteria"), ("34648", "31", "1", "1", "08/07/2026", "")],
    )


@pytest.fixture(scope="module")
def cms_documents(cms_zip) -> list[Document]:
    items = _documents(cms_zip)
    assert all(isinstance(item, Document) for item in items)
    return items  # type: ignore[return-value]


def test_mcd_zip_yields_one_version_per_shipped_lcd_record(cms_documents):
    expected = sorted((f"L{r['document_id']}", str(r["document_version"])) for r in shipped_records())
    assert len(expected) == len(list(RAW.glob("L*/*.json")))  # every shipped LCD record is a row of the zip
    assert sorted((d.lcd_id, d.version) for d in cms_documents) == expected
    assert {d.source_format for d in cms_documents} == {"mcd_csv"}


def test_mcd_zip_row_reads_like_its_coverage_api_record(cms_documents):
    for document in cms_documents:
        from_json = read_document(RAW / document.lcd_id / f"{document.version}.json", RAW)
        assert document.meta.title == from_json.meta.title
        assert document.meta.contractor == from_json.meta.contractor  # rebuilt from the contractor tables
        # Header lines differ where lcd.csv has dates the record lacks; the policy text is the same.
        assert document.text.split("\n\n", 1)[1] == from_json.text.split("\n\n", 1)[1]
        assert [(s.name, s.kind) for s in document.sections] == [(s.name, s.kind) for s in from_json.sections]


def test_l38213_zip_row_decodes_double_escaped_comparators(cms_documents):
    text = next(d for d in cms_documents if d.lcd_id == "L38213").text
    assert "pain score ≥ 8) or is non-hospitalized" in text and "&amp;" not in text and "&lt;" not in text


def test_l33800_zip_row_contractor_lists_both_dme_macs(cms_documents):
    contractor = next(d for d in cms_documents if d.lcd_id == "L33800").meta.contractor
    assert contractor == "CGS Administrators, LLC (DME MAC); Noridian Healthcare Solutions, LLC (DME MAC)"


def test_mcd_zip_source_path_names_the_row_and_hash_is_the_rows(cms_zip, cms_documents):
    document = next(d for d in cms_documents if d.lcd_id == "L34648")
    assert document.source_path == f"{cms_zip.as_posix()}!lcd.csv#L34648v31"
    entries = dict((entry.source_path, digest) for entry, digest in scan_bundle(cms_zip)[0])
    assert entries[document.source_path] == document.source_sha256
    assert len(set(entries.values())) == len(entries) == len(shipped_records())  # one distinct hash per row


def test_mcd_zip_dates_parse_us_and_iso_formats(cms_documents):
    by_id = {d.lcd_id: d for d in cms_documents}
    assert by_id["L34648"].meta.effective_date == date(2024, 10, 1)
    assert by_id["L34648"].meta.original_effective_date == date(2015, 10, 1)
    assert by_id["L38213"].meta.effective_date == date(2023, 12, 7)
    assert by_id["L38213"].meta.original_effective_date == date(2018, 6, 1)
    assert "Retirement Date: 01/31/2027" in by_id["L38213"].text
    assert by_id["L33800"].meta.effective_date is None


def test_row_hash_ignores_export_bookkeeping_and_extra_columns_but_not_content():
    record = lcd_row(shipped_records()[0])
    base = row_sha256(record)[1]
    assert row_sha256({**record, "last_updated": "01/01/2030", "mcd_publish_date": "01/02/2030"})[1] == base
    assert row_sha256({**record, "indication": record["indication"] + " "})[1] != base
    assert row_sha256({**record, "orig_det_eff_dt_type": "1"})[1] == base  # an undocumented extra column


def test_revision_history_records_carry_reasons_on_the_latest_revision(cms_zip):
    records = revision_history(cms_zip)
    assert [(r["lcd_id"], r["version"], r["rev_hist_num"], r["rev_hist_date"]) for r in records] == [
        ("L34648", "31", "R30", date(2024, 11, 7)),
        ("L34648", "31", "R31", date(2025, 10, 25)),
    ]
    assert records[0]["reasons"] == []
    assert records[1]["reasons"] == ["Annual Review", "Other (Please specify) (Added FRAX criteria)"]
    assert records[1]["explanation"].split("\n") == [
        "R31",
        "Revision Effective: 10/25/2025",
        "Revision Explanation: Added FRAX & T-score criteria.",
    ]
    assert set(records[0]) == {"lcd_id", "version", "rev_hist_date", "rev_hist_num", "explanation", "reasons"}


def test_revision_history_of_a_bundle_without_the_tables_is_empty(tmp_path):
    path = _zip(tmp_path / "bare.zip", {"lcd.csv": _lcd_csv([_row_fields(_records("L34648")[0])])})
    assert revision_history(path) == []


def test_lcd_csv_directly_in_the_outer_zip_is_read(tmp_path):
    path = _zip(tmp_path / "flat.zip", {"lcd.csv": _lcd_csv([_row_fields(_records("L34648")[0])])})
    [document] = _documents(path)
    assert (document.lcd_id, document.version, document.meta.contractor) == ("L34648", "31", None)


def test_plan_and_collect_batch_treat_a_zip_as_many_versions(cms_zip):
    rows = len(shipped_records())  # the zip holds every shipped LCD record
    plan = plan_ingest([cms_zip], known_hashes=set())
    assert len(plan.new) == rows and plan.failures == ()
    items, failures = collect_batch(list(plan.new[:5]), plan.root)
    documents, parse_failures, _stats = parse_sources(items)
    assert failures + parse_failures == [] and [d.source_path for d in documents] == [e.source_path for e, _ in plan.new[:5]]
    known = {digest for _, digest in plan.new}
    again = plan_ingest([cms_zip], known_hashes=known)
    assert (len(again.new), len(again.skipped)) == (0, rows)


def test_read_document_on_a_zip_points_to_lcd_ingest(cms_zip):
    with pytest.raises(ReadError) as caught:
        read_document(cms_zip)
    assert caught.value.error_type == "unsupported" and "lcd ingest" in str(caught.value)


# ---- malformed rows and tables -------------------------------------------------------------------


def test_malformed_row_fails_alone_with_its_row_number(tmp_path):
    good = _records("L34648", "L38213")
    rows = [_row_fields(good[0]), ["34999", "2", "too few fields"], ["abc;drop", "1", *[""] * 46], _row_fields(good[1])]
    path = build_mcd_zip(tmp_path / "current_lcd.zip", records=good, lcd_csv=_lcd_csv(rows))
    items = _documents(path)
    assert [d.lcd_id for d in items if isinstance(d, Document)] == ["L34648", "L38213"]
    failures = [f for f in items if isinstance(f, BundleFailure)]
    assert [(f.source_path.split("!")[1], f.error_type, f.message) for f in failures] == [
        ("lcd.csv#row2", "parse", "lcd.csv row 2: 3 fields, expected 48"),
        ("lcd.csv#row3", "parse", "lcd.csv row 3: lcd_id 'abc;drop' is not an LCD number"),
    ]


def test_row_without_any_text_field_is_a_no_text_failure(tmp_path):
    path = build_mcd_zip(tmp_path / "current_lcd.zip", records=[], lcd_csv=_lcd_csv([_row_fields({"document_id": 1, "document_version": 1})]))
    [failure] = _documents(path)
    assert isinstance(failure, BundleFailure) and failure.error_type == "no_text"
    assert failure.source_path.endswith("!lcd.csv#L1v1") and failure.message.startswith("lcd.csv row 1:")


def test_field_larger_than_the_csv_default_loads(tmp_path):
    record = _records("L34648")[0]
    big = record["indication"] + "&lt;p&gt;" + "Long evidence text. " * 15_000 + "&lt;&sol;p&gt;"  # ~300 KB > csv's 128 KB
    path = build_mcd_zip(tmp_path / "current_lcd.zip", records=[record], lcd_csv=_lcd_csv([_row_fields(record, indication=big)]))
    [document] = _documents(path)
    assert isinstance(document, Document) and document.text.count("Long evidence text.") == 15_000


def test_field_over_the_limit_fails_its_row_and_the_rest_load(tmp_path):
    records = _records("L34648", "L38213")
    rows = [_row_fields(records[0], issue="x" * 200_000), _row_fields(records[1])]
    path = build_mcd_zip(tmp_path / "current_lcd.zip", records=records, lcd_csv=_lcd_csv(rows))
    failure, document = _documents(path, BundleLimits(max_field_bytes=100_000))
    assert (failure.error_type, failure.message) == (
        "too_large",
        "lcd.csv row 1: field 'issue' has 200000 characters, over the 100000 limit (LCD_BUNDLE_MAX_FIELD_BYTES)",
    )
    assert document.lcd_id == "L38213"


def test_csv_syntax_error_stops_the_table_after_that_row(tmp_path, monkeypatch):
    # The csv module may lose its place after an error inside a quoted field: the rows after it are refused.
    records = _records("L34648", "L38213", "L39268")
    rows = [_row_fields(records[0]), _row_fields(records[1], issue="x" * 200_000), _row_fields(records[2])]
    path = build_mcd_zip(tmp_path / "current_lcd.zip", records=records, lcd_csv=_lcd_csv(rows))
    previous = csv.field_size_limit()
    monkeypatch.setattr("pipeline.ingest.mcd_bundle._raise_field_limit", lambda limit: csv.field_size_limit(100_000))
    try:
        items = _documents(path)
    finally:
        csv.field_size_limit(previous)
    assert [type(i).__name__ for i in items] == ["Document", "BundleFailure", "BundleFailure"]
    assert items[1].message.startswith("lcd.csv row 2: malformed CSV (field larger than field limit")
    assert items[2].message == "lcd.csv unreadable after row 2: rows from there on were not loaded"


def test_windows_1252_bytes_in_a_field_are_decoded(tmp_path):
    record = _records("L33438")[0]
    text = csv_bytes(LCD_COLUMNS, [_row_fields(record, title="Octreotide (Sandostatin\u00ae LAR Depot)")])
    path = build_mcd_zip(tmp_path / "current_lcd.zip", records=[record], lcd_csv=text.replace("\u00ae".encode(), b"\xae"))
    [document] = _documents(path)
    assert document.meta.title == "Octreotide (Sandostatin\u00ae LAR Depot)"


# ---- hostile bundles: each refused as a whole, with a one-line reason ----------------------------


def test_not_a_zip_is_refused(tmp_path):
    path = tmp_path / "current_lcd.zip"
    path.write_bytes(b"this is a text file named .zip\n")
    assert _refusal(path) == ("parse", "current_lcd.zip is not a valid zip file (File is not a zip file)")


def test_truncated_zip_is_refused(tmp_path, cms_zip):
    path = tmp_path / "current_lcd.zip"
    path.write_bytes(cms_zip.read_bytes()[: cms_zip.stat().st_size // 2])
    error_type, message = _refusal(path)
    assert error_type == "parse" and message.startswith("current_lcd.zip is not a valid zip file")


def test_corrupt_member_data_is_refused(tmp_path):
    data = bytearray(inner_zip({"lcd.csv": _lcd_csv([_row_fields(_records("L34648")[0])])}))
    data[60:90] = b"\xff" * 30  # inside the deflated lcd.csv
    path = tmp_path / "current_lcd.zip"
    path.write_bytes(bytes(data))
    error_type, message = _refusal(path)
    assert error_type == "parse" and "lcd.csv" in message


def test_empty_zip_file_is_refused(tmp_path):
    path = tmp_path / "current_lcd.zip"
    path.write_bytes(b"")
    assert _refusal(path) == ("empty", "empty file")


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        ("../../etc/cron.d/evil.csv", "contains '..'"),
        ("current_lcd_csv/..\\..\\evil.csv", "contains '..'"),
        ("/etc/passwd", "is absolute"),
        ("C:/Windows/evil.csv", "starts with a drive letter"),
        ("\\\\server\\share\\evil.csv", "is absolute"),
    ],
)
def test_member_path_escaping_the_folder_is_refused(tmp_path, member, reason):
    assert unsafe_member_reason(member) == reason
    path = build_mcd_zip(tmp_path / "current_lcd.zip", records=_records("L34648"), inner_members={member: b"x"})
    assert _refusal(path) == ("unsafe", f"zip member path {member!r} in current_lcd_csv.zip {reason}: refused")


def test_unsafe_path_in_the_outer_zip_is_refused_even_if_never_read(tmp_path):
    path = _zip(tmp_path / "current_lcd.zip", {"lcd.csv": b"lcd_id,lcd_version,title\n", "../README.txt": b"x"})
    assert _refusal(path) == ("unsafe", "zip member path '../README.txt' in current_lcd.zip contains '..': refused")


def test_zip_bomb_by_declared_size_is_refused_before_reading(tmp_path):
    path = build_mcd_zip(tmp_path / "current_lcd.zip", records=_records("L34648"), inner_members={"lcd_x_urls.csv": bytes(5 << 20)})
    assert _refusal(path, SMALL) == (
        "too_large",
        "current_lcd_csv.zip members declare 5.0 MiB uncompressed, over the 4.0 MiB limit (LCD_BUNDLE_MAX_BYTES)",
    )


def test_zip_bomb_by_compression_ratio_is_refused(tmp_path):
    path = build_mcd_zip(tmp_path / "current_lcd.zip", records=[], lcd_csv=_lcd_csv([]) + b"\n" * (2 << 20))
    error_type, message = _refusal(path, SMALL)
    assert error_type == "too_large"
    assert message.startswith("zip member 'lcd.csv' expands ") and message.endswith(":1, over the 200:1 limit (LCD_BUNDLE_MAX_RATIO)")


def test_bytes_actually_read_are_counted_against_the_limit():
    # zipfile stops at the declared size, so this guard is belt and braces: exercise it on a raw stream.
    info = zipfile.ZipInfo("lcd.csv")
    info.compress_size = 10 << 20  # a header claiming no compression at all: the ratio check passes
    stream = io.BufferedReader(Metered(io.BytesIO(bytes(5 << 20)), info, Budget(SMALL)))
    with pytest.raises(ReadError) as caught:
        stream.read()
    assert (caught.value.error_type, str(caught.value)) == (
        "too_large",
        "zip expanded past the 4.0 MiB limit while reading 'lcd.csv' (LCD_BUNDLE_MAX_BYTES)",
    )


def test_real_ratio_is_checked_while_streaming():
    info = zipfile.ZipInfo("lcd.csv")
    info.compress_size = 1000  # a header claiming 1000 compressed bytes; 2 MiB come out
    stream = io.BufferedReader(Metered(io.BytesIO(bytes(2 << 20)), info, Budget(SMALL)))
    with pytest.raises(ReadError) as caught:
        stream.read()
    assert caught.value.error_type == "too_large" and "over the 200:1 limit" in str(caught.value)


def test_zip_nested_deeper_than_the_inner_csv_zip_is_refused(tmp_path):
    deeper = inner_zip({"lcd.csv": b"lcd_id,lcd_version,title\n"})
    path = build_mcd_zip(tmp_path / "current_lcd.zip", records=_records("L34648"), inner_members={"more.zip": deeper})
    assert _refusal(path) == (
        "unsafe",
        "nested zip 'more.zip' inside current_lcd_csv.zip: only the one documented inner zip level is read",
    )


def test_bundle_without_lcd_csv_is_refused(tmp_path):
    path = _zip(tmp_path / "current_article.zip", {"current_article_csv.zip": inner_zip({"article.csv": b"article_id\n1\n"})})
    assert _refusal(path) == ("parse", "no lcd.csv in current_article_csv.zip (not an MCD LCD download)")
    other = _zip(tmp_path / "photos.zip", {"a.jpg": b"\xff\xd8"})
    assert _refusal(other) == ("parse", "no lcd.csv and no inner csv zip in photos.zip (not an MCD LCD download)")


def test_lcd_csv_without_its_header_is_refused(tmp_path):
    rows = [_row_fields(_records("L34648")[0])]
    path = build_mcd_zip(tmp_path / "current_lcd.zip", records=_records("L34648"), lcd_csv=csv_bytes(None, rows))
    error_type, message = _refusal(path)
    assert error_type == "parse"
    assert message.startswith("lcd.csv has no header with lcd_id, lcd_version, title (first line: '34648,31,Bisphosphonate")


def test_two_members_with_the_same_table_name_are_refused(tmp_path):
    path = build_mcd_zip(tmp_path / "current_lcd.zip", records=_records("L34648"), inner_members={"sub/lcd.csv": b"lcd_id\n"})
    assert _refusal(path) == ("unsafe", "current_lcd_csv.zip has two members named 'lcd.csv': refused")


def test_too_many_members_are_refused(tmp_path):
    path = _zip(tmp_path / "current_lcd.zip", {f"f{i}.txt": b"" for i in range(12)})
    assert _refusal(path, BundleLimits(max_members=10)) == ("too_large", "current_lcd.zip has 12 members, over the 10 limit")


def test_zip_file_over_the_archive_limit_is_refused(tmp_path, cms_zip):
    error_type, message = _refusal(cms_zip, BundleLimits(max_archive_bytes=1000))
    assert error_type == "too_large" and message.endswith("over the 1000 bytes limit (LCD_BUNDLE_MAX_ARCHIVE_BYTES)")


def test_bundle_limits_come_from_the_environment():
    limits = BundleLimits.from_env({"LCD_BUNDLE_MAX_BYTES": "1048576", "LCD_BUNDLE_MAX_RATIO": "50"})
    assert (limits.max_total_bytes, limits.max_ratio, limits.max_archive_bytes) == (1 << 20, 50.0, 1 << 30)
    with pytest.raises(ValueError):
        BundleLimits.from_env({"LCD_BUNDLE_MAX_BYTES": "-1"})


# ---- through the CLI and the Prefect flow ---------------------------------------------------------


def _query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_lcd_ingest_zip_loads_every_lcd_then_skips_them_all(prefect_server, cms_zip, db_path, capsys, monkeypatch):
    monkeypatch.setenv("LCD_REPORTS_DIR", str(db_path.parent / "reports"))  # not the repo's warehouse/reports
    shipped = len(shipped_records())  # the zip holds every shipped LCD record
    assert main(["ingest", str(cms_zip), "--db", str(db_path), "--no-progress"]) == 0
    out, _ = capsys.readouterr()
    assert f"versions: {shipped} new, 0 skipped, 0 failed" in out
    rows = _query(db_path, "select lcd_id, version, source_format, contractor, effective_date from lcd_versions order by lcd_id")
    assert len(rows) == shipped and {r[2] for r in rows} == {"mcd_csv"}
    assert ("L34648", "31", "mcd_csv", "WPS Insurance Corporation (MAC - Part A, MAC - Part B)", date(2024, 10, 1)) in rows
    assert _query(db_path, "select count(*) from indications")[0][0] > 50
    history = _query(
        db_path,
        "select rev_hist_num, reasons_for_change from lcd_revision_history where lcd_id = 'L34648' and source = 'mcd_bundle' order by rev_hist_num",
    )
    assert [num for num, _ in history] == ["R30", "R31"]
    assert history[0][1] == [] and len(history[1][1]) == 2  # the version's reasons sit on its latest entry
    assert main(["ingest", str(cms_zip), "--db", str(db_path), "--no-progress"]) == 0
    out, _ = capsys.readouterr()
    assert out.startswith(f"nothing new: {shipped} file(s) already loaded")


def test_lcd_ingest_zip_loads_a_changed_row_as_a_new_version(prefect_server, tmp_path, db_path, capsys):
    records = _records("L34648", "L38213")
    (tmp_path / "week1").mkdir()
    first = build_mcd_zip(tmp_path / "week1" / "current_lcd.zip", records=records)
    assert main(["ingest", str(first), "--db", str(db_path), "--no-progress"]) == 0
    changed = json.loads(json.dumps(records))
    changed[0]["document_version"] = 32
    changed[0]["indication"] += "&lt;p&gt;Zoledronic acid is not covered for osteopenia.&lt;&sol;p&gt;"
    (tmp_path / "week2").mkdir()
    second = build_mcd_zip(tmp_path / "week2" / "current_lcd.zip", records=changed)
    capsys.readouterr()
    assert main(["ingest", str(second), "--db", str(db_path), "--no-progress"]) == 0
    out, _ = capsys.readouterr()
    assert "versions: 1 new, 1 skipped, 0 failed" in out
    assert _query(db_path, "select version from lcd_versions where lcd_id = 'L34648' order by version_order") == [("31",), ("32",)]


def test_lcd_ingest_refuses_hostile_zips_and_loads_the_rest(prefect_server, tmp_path, db_path, capsys, monkeypatch):
    monkeypatch.setenv("LCD_BUNDLE_MAX_BYTES", str(4 << 20))
    drop = tmp_path / "drop"
    drop.mkdir()
    build_mcd_zip(drop / "current_lcd.zip", records=_records("L34648"))
    (drop / "corrupt.zip").write_bytes(b"PK\x03\x04 truncated download")
    build_mcd_zip(drop / "traversal.zip", records=_records("L38213"), inner_members={"../../evil.csv": b"x"})
    build_mcd_zip(drop / "bomb.zip", records=_records("L38213"), inner_members={"lcd_x_urls.csv": bytes(8 << 20)})
    rows = [_row_fields(_records("L38213")[0]), ["1", "2", "3"]]
    build_mcd_zip(drop / "badrow.zip", records=_records("L38213"), lcd_csv=_lcd_csv(rows))
    status = main(["ingest", str(drop), "--db", str(db_path), "--no-progress"])
    out, err = capsys.readouterr()
    assert status == 1
    assert "versions: 2 new, 0 skipped, 4 failed" in out
    assert sorted(_query(db_path, "select lcd_id from lcd_versions")) == [("L34648",), ("L38213",)]
    errors = {Path(p.split("!")[0]).name + ("!" + p.split("!")[1] if "!" in p else ""): (t, m) for p, t, m in _query(db_path, "select source_path, error_type, message from ingest_errors")}
    assert errors["corrupt.zip"][0] == "parse"
    assert errors["traversal.zip"] == ("unsafe", "zip member path '../../evil.csv' in current_lcd_csv.zip contains '..': refused")
    assert errors["bomb.zip"][0] == "too_large"
    assert errors["badrow.zip!lcd.csv#row2"] == ("parse", "lcd.csv row 2: 3 fields, expected 48")
    assert "4 document(s) failed" in err
