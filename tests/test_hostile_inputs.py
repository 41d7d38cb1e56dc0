"""Every kind of hostile input in one `lcd ingest` run: each is refused with one `ingest_errors` row and a
one-line reason, the good documents load, the run exits 1 naming the failures, and no table is damaged.

The unit tests of each refusal live beside their reader (tests/test_ingest_*.py); this is the end-to-end
check that they all hold at once, through the CLI and the Prefect flow.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import duckdb
import pytest
from _mcd_zip import build_mcd_zip, shipped_records
from _pdf import latin1_safe, text_to_pdf
from fpdf import FPDF

from pipeline.cli import main
from pipeline.ingest import DEFAULT_MAX_FILE_BYTES, ReadError, max_file_bytes, read_document
from pipeline.warehouse.db import view_names
from tests.conftest import RAW_DOCS

HOSTILE_ID = "L1'; drop table lcd_versions; --"
QUOTED_ID = 'L2 "quoted" \\ name'
SCRIPT = "<script>alert('pwned')</script>"

# file (relative to the drop folder) -> expected error_type
REFUSED = {
    "EMPTY/1.txt": "empty",
    "RANDOM/1.txt": "binary",
    "RANDOM/1.pdf": "parse",
    "TRUNCATED/1.pdf": "parse",
    "ENCRYPTED/1.pdf": "encrypted",
    "UTF16/1.txt": "binary",
    "LATIN1/1.txt": "decode",
    "SHIFTJIS/1.txt": "decode",
    "MALFORMED/1.json": "parse",
    "FIELDLESS/1.json": "no_text",
    "SCRIPTONLY/1.html": "no_text",
    "HUGE/1.txt": "too_large",
    "bomb.zip": "too_large",
    "dotdot.zip": "unsafe",
    "absolute.zip": "unsafe",
}


def _encrypted_pdf() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(0, 5, "Indications\nCovered when criteria are met.")
    pdf.set_encryption(owner_password="owner", user_password="secret")
    return bytes(pdf.output())


def _write(root: Path, rel: str, data: bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture()
def hostile_drop(tmp_path: Path) -> Path:
    """Two good documents, a <script> page and two hostile-id folders that load, and every refused file."""
    root = tmp_path / "drop"
    for rel in ("IVIG-OFFLABEL/1.txt", "L34648/31.json"):
        _write(root, rel, (RAW_DOCS / rel).read_bytes())
    ivig2 = (RAW_DOCS / "IVIG-OFFLABEL" / "2.txt").read_text(encoding="utf-8")
    _write(root, f"{HOSTILE_ID}/1.txt", ivig2.encode())
    _write(root, f"{QUOTED_ID}/1.txt", (ivig2 + "\nQuoted copy.\n").encode())
    page = (
        f"<html><head><title>t</title>{SCRIPT}</head><body><h1>Hostile page</h1>{SCRIPT}"
        "<h2>Coverage Indications, Limitations, and/or Medical Necessity</h2>"
        "<p>Infliximab is covered for Crohn disease at 5 mg/kg.</p><script>document.write('x')</script></body></html>"
    )
    _write(root, "SCRIPTED/1.html", page.encode())

    rng = random.Random(7)
    ivig_pdf = text_to_pdf(latin1_safe(ivig2))
    text = "Indications: café, naïve patients, ≥ 2 doses. 用量"
    _write(root, "EMPTY/1.txt", b"")
    _write(root, "RANDOM/1.txt", bytes([0]) + rng.randbytes(4096))
    _write(root, "RANDOM/1.pdf", rng.randbytes(4096))
    _write(root, "TRUNCATED/1.pdf", ivig_pdf[: len(ivig_pdf) // 2])
    _write(root, "ENCRYPTED/1.pdf", _encrypted_pdf())
    _write(root, "UTF16/1.txt", text.encode("utf-16-le"))
    _write(root, "LATIN1/1.txt", "Indications: café, naïve patients".encode("latin-1"))
    _write(root, "SHIFTJIS/1.txt", "適応症: 用量は体重 1 kg あたり 2 g".encode("shift_jis"))
    _write(root, "MALFORMED/1.json", b'{"title": "x",')
    _write(root, "FIELDLESS/1.json", json.dumps({"document_display_id": "L7", "title": "No text"}).encode())
    _write(root, "SCRIPTONLY/1.html", f"<html><head>{SCRIPT}</head><body>{SCRIPT}</body></html>".encode())
    with open(_write(root, "HUGE/1.txt", b""), "wb") as handle:
        handle.truncate(DEFAULT_MAX_FILE_BYTES + 1)  # sparse: refused by size before a byte is parsed

    record = [r for r in shipped_records() if r["document_display_id"] == "L38213"]
    build_mcd_zip(root / "bomb.zip", records=record, inner_members={"lcd_x_urls.csv": bytes(8 << 20)})
    build_mcd_zip(root / "dotdot.zip", records=record, inner_members={"../../evil.csv": b"x"})
    build_mcd_zip(root / "absolute.zip", records=record, inner_members={"/etc/evil.csv": b"x"})
    return root


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every base table and its column list (name, type): the schema the run must leave intact."""
    rows = con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'main' and table_name in (select table_name from information_schema.tables where table_type = 'BASE TABLE') "
        "order by table_name, ordinal_position"
    ).fetchall()
    tables: dict[str, list[tuple]] = {}
    for table, column, data_type in rows:
        tables.setdefault(table, []).append((column, data_type))
    return tables


def test_hostile_drop_folder_refuses_each_bad_file_and_loads_the_rest(prefect_server, hostile_drop, db_path, capsys, monkeypatch):
    monkeypatch.setenv("LCD_BUNDLE_MAX_BYTES", str(4 << 20))
    status = main(["ingest", str(hostile_drop), "--db", str(db_path), "--no-progress"])
    out, err = capsys.readouterr()
    assert status == 1
    assert f"versions: 5 new, 0 skipped, {len(REFUSED)} failed" in out
    assert f"{len(REFUSED)} document(s) failed" in err

    con = duckdb.connect(str(db_path), read_only=True)
    try:
        errors = con.execute("select source_path, error_type, message from ingest_errors").fetchall()
        by_file = {Path(p).relative_to(hostile_drop).as_posix(): (t, m) for p, t, m in errors}
        assert {rel: t for rel, (t, _) in by_file.items()} == REFUSED
        assert all(m and "\n" not in m for _, m in by_file.values())
        for rel in REFUSED:
            assert rel in err or Path(rel).parent.name in err, rel  # the summary names every failure

        loaded = dict(con.execute("select lcd_id, source_path from lcd_versions").fetchall())
        assert sorted(loaded) == sorted(["IVIG-OFFLABEL", "L34648", HOSTILE_ID, QUOTED_ID, "SCRIPTED"])
        # the hostile ids were stored as data and read back exactly; the table they name is still there
        assert con.execute("select count(*) from lcd_versions where lcd_id = ?", [HOSTILE_ID]).fetchone()[0] == 1
        text = con.execute("select t.text from lcd_versions v join version_texts t using (version_key) where v.lcd_id = 'SCRIPTED'").fetchone()[0]
        assert "Infliximab is covered" in text and "script" not in text.lower() and "alert" not in text
        assert con.execute("select count(*) from indications").fetchone()[0] > 10
        tables = _tables(con)
        assert {"lcd_versions", "ingest_errors", "indications"} <= set(tables)
        counts = {t: con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables if t != "ingest_errors"}
        assert {name for (name,) in con.execute("select view_name from duckdb_views() where not internal").fetchall()} >= set(view_names())
    finally:
        con.close()

    # a second run retries only the refused files, loads nothing twice, and changes no schema
    assert main(["ingest", str(hostile_drop), "--db", str(db_path), "--no-progress"]) == 1
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        assert _tables(con) == tables
        assert {t: con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in counts} == counts
    finally:
        con.close()


def test_file_over_the_size_limit_is_refused_before_reading(tmp_path, monkeypatch):
    path = _write(tmp_path, "L1/1.txt", b"Indications\n" + b"x" * 100)
    monkeypatch.setenv("LCD_MAX_FILE_BYTES", "50")
    with pytest.raises(ReadError) as caught:
        read_document(path)
    assert (caught.value.error_type, str(caught.value)) == ("too_large", "file is 112 bytes, over the 50 bytes limit (LCD_MAX_FILE_BYTES)")
    monkeypatch.setenv("LCD_MAX_FILE_BYTES", "112")
    assert read_document(path).lcd_id == "L1"


def test_max_file_bytes_setting():
    assert max_file_bytes({}) == DEFAULT_MAX_FILE_BYTES == 50 << 20
    assert max_file_bytes({"LCD_MAX_FILE_BYTES": "1024"}) == 1024
    for bad in ("0", "-5", "lots"):
        with pytest.raises(ValueError):
            max_file_bytes({"LCD_MAX_FILE_BYTES": bad})


def test_bad_size_limit_setting_fails_each_file_with_the_reason(tmp_path, monkeypatch):
    path = _write(tmp_path, "L1/1.txt", b"Indications\nCovered.\n")
    monkeypatch.setenv("LCD_MAX_FILE_BYTES", "lots")
    with pytest.raises(ReadError) as caught:
        read_document(path)
    assert caught.value.error_type == "unsupported" and "LCD_MAX_FILE_BYTES" in str(caught.value)

