"""Build MCD bulk downloads (current_lcd.zip) in the CMS layout from the shipped Coverage API records.

Layout (../shared/MCD_FORMAT.md section 1): current_lcd.zip holds the inner current_lcd_csv.zip, an
Access .mdb and a data-dictionary PDF; the inner zip holds lcd.csv (the 48 columns in header order,
empty where a record has no value), contractor.csv, contractor_type_lookup.csv, lcd_x_contractor.csv,
lcd_x_revision_history.csv, lcd_x_reason_change.csv and reason_change_lookup.csv.

The shipped records carry id, version, title, contractor_name_type, retirement_date, cms_cov_policy
and indication (still HTML-escaped as CMS ships them). contractor.csv has only the columns the reader
uses (the real file's 23 columns are not documented); dates, revision history and reasons are made up
by the tests that need them and passed in.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path

from pipeline.ingest.mcd_bundle import LCD_COLUMNS

RAW = Path(__file__).resolve().parents[1] / "raw_docs"

REVISION_HISTORY_COLUMNS = ("lcd_id", "lcd_version", "rev_hist_num", "rev_hist_date", "rev_hist_exp", "last_updated")
REASON_CHANGE_COLUMNS = ("lcd_id", "lcd_version", "reason_change_id", "reason_change_version", "last_updated", "reason_change_other")
REASON_LOOKUP_COLUMNS = ("reason_change_id", "reason_change_version", "description", "last_updated", "sort_order")
CONTRACTOR_COLUMNS = ("contractor_id", "contractor_type_id", "contractor_version", "contractor_number", "contractor_bus_name", "last_updated")
LCD_X_CONTRACTOR_COLUMNS = ("lcd_id", "lcd_version", "contractor_id", "contractor_type_id", "contractor_version", "last_updated")
REASON_LOOKUP = (
    ("1", "1", "Annual Review", "2", "1"),
    ("2", "1", "Revisions Due To Code Removal", "2", "2"),
    ("9", "1", "Other (Please specify)", "2", "9"),
)


def shipped_records() -> list[dict]:
    """Every shipped LCD Coverage API record (raw_docs/L*/*.json), in path order."""
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(RAW.glob("L*/*.json"))]


def lcd_row(record: dict, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A Coverage API record mapped to lcd.csv's columns (missing ones empty)."""
    row = {column: "" for column in LCD_COLUMNS}
    row.update(
        lcd_id=str(record["document_id"]),
        lcd_version=str(record["document_version"]),
        title=record.get("title", ""),
        display_id=record.get("document_display_id", ""),
        cms_cov_policy=record.get("cms_cov_policy", ""),
        indication=record.get("indication", ""),
        date_retired="" if record.get("retirement_date") in (None, "N/A") else record["retirement_date"],
        status="A",
        last_updated="08/07/2026",
    )
    row.update(extra or {})
    return row


def _contractors(value: str) -> list[tuple[str, list[str]]]:
    """'Palmetto GBA\\r\\n(MAC - Part A, MAC - Part B)\\r\\n\\r\\nOther\\r\\n(DME MAC)' -> [(name, types), ...]."""
    out = []
    for chunk in re.split(r"\r?\n\s*\r?\n", value or ""):
        found = re.fullmatch(r"\s*(?P<name>.+?)\s*(?:\((?P<types>[^()]*)\))?\s*", chunk, re.DOTALL)
        if found and found.group("name").strip():
            types = [t.strip() for t in (found.group("types") or "").split(",") if t.strip()]
            out.append((" ".join(found.group("name").split()), types))
    return out


def csv_bytes(header: Iterable[str] | None, rows: Iterable[Iterable[str]]) -> bytes:
    """CSV as CMS writes it: comma separated, quoted where needed, CRLF line ends, UTF-8."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def companion_tables(records: list[dict]) -> dict[str, bytes]:
    """contractor.csv, contractor_type_lookup.csv and lcd_x_contractor.csv for these records."""
    type_ids: dict[str, str] = {}
    contractor_ids: dict[tuple[str, str], str] = {}
    links = []
    for record in records:
        for name, types in _contractors(record.get("contractor_name_type", "")):
            for kind in types or ["MAC"]:
                type_id = type_ids.setdefault(kind, str(len(type_ids) + 1))
                contractor_id = contractor_ids.setdefault((name, type_id), str(100 + len(contractor_ids)))
                links.append((str(record["document_id"]), str(record["document_version"]), contractor_id, type_id, "1", "08/07/2026"))
    contractors = [(cid, tid, "1", f"0{cid}", name, "08/07/2026") for (name, tid), cid in contractor_ids.items()]
    return {
        "contractor.csv": csv_bytes(CONTRACTOR_COLUMNS, contractors),
        "contractor_type_lookup.csv": csv_bytes(("contractor_type_id", "description"), [(tid, kind) for kind, tid in type_ids.items()]),
        "lcd_x_contractor.csv": csv_bytes(LCD_X_CONTRACTOR_COLUMNS, links),
    }


def inner_zip(members: dict[str, bytes]) -> bytes:
    """A zip of `members` (deflated)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def build_mcd_zip(
    path: Path,
    records: list[dict] | None = None,
    extra: dict[str, dict[str, str]] | None = None,
    revision_history: Iterable[tuple[str, ...]] = (),
    reason_changes: Iterable[tuple[str, ...]] = (),
    lcd_csv: bytes | None = None,
    inner_members: dict[str, bytes] | None = None,
    inner_name: str = "current_lcd_csv.zip",
) -> Path:
    """Write current_lcd.zip in the CMS layout; `extra` adds lcd.csv values per LCD display id.

    `lcd_csv` replaces the generated lcd.csv bytes and `inner_members` adds (or replaces) inner members,
    for the tests of malformed exports.
    """
    records = shipped_records() if records is None else records
    extra = extra or {}
    rows = [lcd_row(record, extra.get(record["document_display_id"])) for record in records]
    members = {
        "lcd.csv": lcd_csv if lcd_csv is not None else csv_bytes(LCD_COLUMNS, ([row[c] for c in LCD_COLUMNS] for row in rows)),
        **companion_tables(records),
        "lcd_x_revision_history.csv": csv_bytes(REVISION_HISTORY_COLUMNS, revision_history),
        "lcd_x_reason_change.csv": csv_bytes(REASON_CHANGE_COLUMNS, reason_changes),
        "reason_change_lookup.csv": csv_bytes(REASON_LOOKUP_COLUMNS, REASON_LOOKUP),
        "lcd_x_requestor_letters.csv": csv_bytes(None, []),  # CMS ships this one without a header row
        **(inner_members or {}),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as outer:
        outer.writestr(inner_name, inner_zip(members))
        outer.writestr("current_lcd.mdb", b"Standard Jet DB\x00" + bytes(2048))
        outer.writestr("MCD_Data_Dictionary.pdf", b"%PDF-1.4\n% data dictionary placeholder\n%%EOF\n")
    return path
