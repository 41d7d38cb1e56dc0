"""MCD bulk downloads (`current_lcd.zip`, `all_lcd.zip`): one zip, every lcd.csv row one LCD version.

Layout (../shared/MCD_FORMAT.md section 1): the outer zip holds an inner `*_csv.zip` (plus an Access
.mdb and a data-dictionary PDF we never open); the inner zip holds `lcd.csv` (48 columns, one row per
LCD version, the text fields HTML-escaped as in the Coverage API) and companion tables. A row is read
as a Coverage API record by `api_json` (same field names), so the text is laid out and decoded exactly
like a `.json` record. Identity: lcd_id "L" + lcd_id, version lcd_version; source_path
`<zip>!lcd.csv#L33610v70`; source_sha256 the hash of the row's content (so an unchanged row is skipped
on re-ingest and a changed row is a new version).

Nothing is ever extracted to disk: members are streamed in memory through `safezip`. A bundle is
refused as a whole (one ReadError, one `ingest_errors` row) when it is not a zip, a member path is
unsafe (`..`, absolute, drive letter), it nests zips deeper than the one documented inner zip, it
expands past `BundleLimits` (declared sizes AND bytes actually read are counted; compression ratio), or
it has no usable lcd.csv. A malformed row fails alone (`<zip>!lcd.csv#row17`); the other rows load.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import threading
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path, PurePath
from typing import Any

from pipeline.ingest.api_json import field_blocks, lcd_meta, record_blocks
from pipeline.ingest.assemble import assemble
from pipeline.ingest.base import Parsed
from pipeline.ingest.errors import ReadError
from pipeline.ingest.meta import clean_value, parse_date
from pipeline.ingest.safezip import Budget, BundleLimits, SafeArchive, human_size, open_zip
from pipeline.datamodel import Document

__all__ = [  # BundleLimits is re-exported: callers configure a bundle read with it
    "BundleEntry",
    "BundleFailure",
    "BundleLimits",
    "BundleRow",
    "is_bundle",
    "read_bundle",
    "read_entries",
    "revision_history",
    "scan_bundle",
]

SOURCE_FORMAT = "mcd_csv"
LCD_TABLE = "lcd.csv"
# lcd.csv's 48 columns in header order (MCD_FORMAT.md 1.3).
LCD_COLUMNS = (
    "lcd_id", "lcd_version", "title", "determination_number", "orig_det_eff_date", "ent_det_end_date",
    "rev_eff_date", "rev_end_date", "indication", "diagnoses_support", "icd9_dont_support_para",
    "icd9_dont_support_ast", "diagnoses_dont_support", "coding_guidelines", "doc_reqs", "appendices",
    "util_guide", "source_info", "adv_meeting", "comment_start_dt", "comment_end_dt", "notice_start_dt",
    "rev_hist_num", "history_exp", "last_reviewed_on", "status", "last_updated", "cms_cov_policy",
    "display_id", "draft_contact", "revenue_para", "thirty_percent", "keywords", "associated_info",
    "notice_end_dt", "date_retired", "draft_released_date", "source_lcd_id", "add_icd10_info", "icd10_doc",
    "synopsis_changes", "bibliography", "summary_of_evidence", "analysis_of_evidence", "mcd_publish_date",
    "issue", "issue_change", "mac_initiated",
)  # fmt: skip
REQUIRED_COLUMNS = ("lcd_id", "lcd_version", "title")
# Export bookkeeping, not content: a weekly export that only bumps these is the same version.
UNHASHED_COLUMNS = frozenset({"last_updated", "mcd_publish_date"})
_ROW_HASH_PREFIX = b"mcd-lcd-row/1\n"

_LCD_NUMBER = re.compile(r"[Ll]?(\d{1,9})")
_VERSION = re.compile(r"\d{1,6}(?:\.\d{1,6})?")
_SURROGATE = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8, kept by errors="surrogateescape"
# csv.field_size_limit is process-wide: raise it once, under a lock, never lower it.
_CSV_LIMIT_LOCK = threading.Lock()


@dataclass(frozen=True)
class BundleEntry:
    """One lcd.csv row of a bundle, as planned: where to find it again and which version it is."""

    bundle: Path
    row: int  # 1-based data row (the header is row 0)
    lcd_id: str
    version: str

    @property
    def source_path(self) -> str:
        return version_source_path(self.bundle, self.lcd_id, self.version)


@dataclass(frozen=True)
class BundleFailure:
    """A bundle (row is None) or one of its rows that could not be read, with a one-line reason."""

    source_path: str
    error_type: str
    message: str
    sha256: str | None = None
    row: int | None = None


@dataclass(frozen=True)
class BundleRow:
    """One lcd.csv data row: its identity, raw fields and content hash."""

    entry: BundleEntry
    record: dict[str, str]
    canonical: bytes  # what source_sha256 hashes
    sha256: str


def is_bundle(path: Path) -> bool:
    """A .zip argument is read as an MCD bundle."""
    return Path(path).suffix.casefold() == ".zip"


def version_source_path(bundle: Path, lcd_id: str, version: str) -> str:
    """`current_lcd.zip!lcd.csv#L33610v70`."""
    return f"{Path(bundle).as_posix()}!{LCD_TABLE}#{lcd_id}v{version}"


def row_source_path(bundle: Path, row: int) -> str:
    """`current_lcd.zip!lcd.csv#row17`: a row whose identity could not be read."""
    return f"{Path(bundle).as_posix()}!{LCD_TABLE}#row{row}"


class Tables:
    """The CSV tables of an opened bundle: lcd.csv and whichever companion tables are present."""

    def __init__(self, archive: SafeArchive, limits: BundleLimits) -> None:
        self.archive, self.limits = archive, limits

    def has(self, name: str) -> bool:
        return self.archive.find(name) is not None

    def rows(self, name: str) -> Iterator[tuple[int, list[str] | csv.Error]]:
        """(record number, fields) per CSV record; a record the csv module rejects yields the csv.Error."""
        info = self.archive.find(name)
        if info is None:
            return
        _raise_field_limit(self.limits.max_field_bytes)
        with self.archive.open(info) as binary:
            text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")
            reader = csv.reader(text)
            number = -1
            while True:
                number += 1
                try:
                    fields = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    yield number, exc
                    continue
                yield number, fields  # undecodable bytes still escaped: _repair() them when the row is used

    def records(self, name: str) -> Iterator[dict[str, str]]:
        """Companion table rows as dicts keyed by the header; records that do not fit the header are skipped."""
        header: list[str] | None = None
        for _, fields in self.rows(name):
            if isinstance(fields, csv.Error):
                continue
            if header is None:
                header = [_repair(column).strip().casefold() for column in fields]
                continue
            if len(fields) == len(header):
                yield dict(zip(header, map(_repair, fields)))


def _raise_field_limit(limit: int) -> None:
    """Let the csv module read fields up to `limit` (it is process-wide; rows check their own limit)."""
    with _CSV_LIMIT_LOCK:
        if csv.field_size_limit() < limit:
            csv.field_size_limit(limit)


def _repair(value: str) -> str:
    """A field that was not UTF-8 (undecodable bytes kept as surrogates) decoded as Windows-1252 instead."""
    if _SURROGATE.search(value):
        return value.encode("utf-8", "surrogateescape").decode("cp1252", errors="replace")
    return value


@contextmanager
def open_bundle(path: Path, limits: BundleLimits | None = None) -> Iterator[Tables]:
    """Open a bundle's tables (outer zip, then its one inner csv zip), refusing hostile archives."""
    limits = limits or BundleLimits.from_env()
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ReadError("io", f"cannot read file ({exc.strerror or type(exc).__name__})") from exc
    if size == 0:
        raise ReadError("empty", "empty file")
    if size > limits.max_archive_bytes:
        raise ReadError("too_large", f"zip is {human_size(size)}, over the {human_size(limits.max_archive_bytes)} limit (LCD_BUNDLE_MAX_ARCHIVE_BYTES)")
    budget = Budget(limits)
    with open(path, "rb") as handle:
        with open_zip(handle, path.name, limits) as outer_zip:
            outer = SafeArchive(outer_zip, path.name, budget)
            if outer.find(LCD_TABLE) is not None:
                yield Tables(outer, limits)
                return
            inner_info = _pick_inner(outer)
            inner_bytes = outer.read(inner_info)
            inner_name = PurePath(inner_info.filename).name
            with open_zip(io.BytesIO(inner_bytes), inner_name, limits) as inner_zip:
                inner = SafeArchive(inner_zip, inner_name, budget)
                if outer.declared + inner.declared > limits.max_total_bytes:
                    raise ReadError(
                        "too_large",
                        f"{path.name} and {inner_name} declare {human_size(outer.declared + inner.declared)} uncompressed, "
                        f"over the {human_size(limits.max_total_bytes)} limit (LCD_BUNDLE_MAX_BYTES)",
                    )
                nested = inner.inner_zips()
                if nested:
                    raise ReadError(
                        "unsafe",
                        f"nested zip {PurePath(nested[0].filename).name!r} inside {inner_name}: "
                        "only the one documented inner zip level is read",
                    )
                if inner.find(LCD_TABLE) is None:
                    raise ReadError("parse", f"no {LCD_TABLE} in {inner_name} (not an MCD LCD download)")
                yield Tables(inner, limits)


def _pick_inner(outer: SafeArchive) -> zipfile.ZipInfo:
    """The inner csv zip: the only .zip member, else the one named like `*lcd*_csv.zip`."""
    candidates = outer.inner_zips()
    if len(candidates) > 1:
        candidates = [info for info in candidates if re.search(r"lcd.*csv", PurePath(info.filename).name, re.IGNORECASE)]
    if not candidates:
        raise ReadError("parse", f"no {LCD_TABLE} and no inner csv zip in {outer.label} (not an MCD LCD download)")
    if len(candidates) > 1:
        names = ", ".join(sorted(PurePath(info.filename).name for info in candidates))
        raise ReadError("parse", f"{outer.label} has several inner csv zips ({names}); expected one")
    return candidates[0]


def _lcd_header(fields: list[str] | csv.Error | None) -> list[str]:
    """The lcd.csv header as lower-case column names; ReadError when it is missing or lacks the key columns."""
    if fields is None:
        raise ReadError("parse", f"{LCD_TABLE} is empty")
    if isinstance(fields, csv.Error):
        raise ReadError("parse", f"{LCD_TABLE} header is not valid CSV ({fields})")
    header = [_repair(column).strip().casefold() for column in fields]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        first = _repair(",".join(fields))[:80]
        raise ReadError("parse", f"{LCD_TABLE} has no header with {', '.join(missing)} (first line: {first!r})")
    return header


def row_sha256(record: dict[str, str]) -> tuple[bytes, str]:
    """(canonical bytes, their sha256) of a row's content: the documented columns but export bookkeeping.

    By name, not position, and only the 48 documented columns: a column CMS adds (or an older export's
    extra `*_dt_type` columns) does not turn every row into a "new" version.
    """
    content = {key: record[key] for key in LCD_COLUMNS if key in record and key not in UNHASHED_COLUMNS}
    canonical = _ROW_HASH_PREFIX + json.dumps(content, sort_keys=True, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return canonical, hashlib.sha256(canonical).hexdigest()


def _row(bundle: Path, number: int, header: list[str], fields: list[str] | csv.Error, limits: BundleLimits) -> BundleRow | BundleFailure:
    """One data record as a BundleRow, or the reason it is malformed."""
    failure_path = row_source_path(bundle, number)
    if isinstance(fields, csv.Error):
        return BundleFailure(failure_path, "parse", f"{LCD_TABLE} row {number}: malformed CSV ({fields})", row=number)
    if len(fields) != len(header):
        return BundleFailure(failure_path, "parse", f"{LCD_TABLE} row {number}: {len(fields)} fields, expected {len(header)}", row=number)
    fields = [_repair(value) for value in fields]
    longest = max(range(len(fields)), key=lambda i: len(fields[i]), default=None)
    if longest is not None and len(fields[longest]) > limits.max_field_bytes:
        message = f"{LCD_TABLE} row {number}: field {header[longest]!r} has {len(fields[longest])} characters, over the {limits.max_field_bytes} limit (LCD_BUNDLE_MAX_FIELD_BYTES)"
        return BundleFailure(failure_path, "too_large", message, row=number)
    record = dict(zip(header, fields))
    number_match = _LCD_NUMBER.fullmatch(record["lcd_id"].strip())
    if number_match is None:
        return BundleFailure(failure_path, "parse", f"{LCD_TABLE} row {number}: lcd_id {record['lcd_id'][:40]!r} is not an LCD number", row=number)
    version = record["lcd_version"].strip()
    if not _VERSION.fullmatch(version):
        return BundleFailure(failure_path, "parse", f"{LCD_TABLE} row {number}: lcd_version {version[:40]!r} is not a version number", row=number)
    canonical, digest = row_sha256(record)
    entry = BundleEntry(Path(bundle), number, f"L{int(number_match.group(1))}", version)
    return BundleRow(entry, record, canonical, digest)


def iter_rows(tables: Tables, bundle: Path, wanted: set[int] | None = None) -> Iterator[BundleRow | BundleFailure]:
    """Every lcd.csv data row (or only the `wanted` row numbers), in file order.

    A record the csv module rejects means the parser may have lost its place (a quoted field can span
    lines), so the rows after it are refused as one failure instead of being guessed at.
    """
    records = tables.rows(LCD_TABLE)
    header = _lcd_header(next((fields for _, fields in records), None))
    last = max(wanted) if wanted else None
    for number, fields in records:
        if last is not None and number > last:
            return  # batches read consecutive rows: stop at the last one asked for
        if wanted is not None and number not in wanted:
            continue
        row = _row(bundle, number, header, fields, tables.limits)
        yield row
        if isinstance(fields, csv.Error):
            yield BundleFailure(
                Path(bundle).as_posix() + f"!{LCD_TABLE}",
                "parse",
                f"{LCD_TABLE} unreadable after row {number}: rows from there on were not loaded",
                row=number,
            )
            return


def scan_bundle(path: Path, limits: BundleLimits | None = None) -> tuple[list[tuple[BundleEntry, str]], list[BundleFailure]]:
    """(entry, sha256) of every readable row, and the failures: the plan of one bundle.

    A bundle-level refusal discards every row (one failure for the zip): half a bundle is not planned.
    """
    path = Path(path)
    entries: list[tuple[BundleEntry, str]] = []
    failures: list[BundleFailure] = []
    try:
        limits = limits or BundleLimits.from_env()
    except ValueError as exc:  # a bad LCD_BUNDLE_* setting: every bundle fails with the reason, nothing crashes
        return [], [BundleFailure(path.as_posix(), "unsupported", f"bad bundle limit setting: {exc}")]
    try:
        with open_bundle(path, limits) as tables:
            for row in iter_rows(tables, path):
                if isinstance(row, BundleFailure):
                    failures.append(row)
                else:
                    entries.append((row.entry, row.sha256))
    except ReadError as exc:
        return [], [BundleFailure(path.as_posix(), exc.error_type, str(exc), _file_sha256(path))]
    return entries, failures


def _file_sha256(path: Path) -> str | None:
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()
    except OSError:
        return None


# ---- companion tables ------------------------------------------------------------------------------

_CONTRACTOR_NAME_COLUMNS = ("contractor_bus_name", "contractor_name", "bus_name", "name")


def _key(record: dict[str, str], *columns: str) -> tuple[str, ...]:
    return tuple(record.get(column, "").strip() for column in columns)


def contractors(tables: Tables, versions: set[tuple[str, str]] | None = None) -> dict[tuple[str, str], str]:
    """(lcd_id number, lcd_version) -> "Name (Type, Type); Other Name (Type)" from lcd_x_contractor.csv,
    contractor.csv and contractor_type_lookup.csv (the Coverage API's contractor_name_type, one line).
    """
    links: dict[tuple[str, str], list[tuple[str, str, str]]] = defaultdict(list)
    for record in tables.records("lcd_x_contractor.csv"):
        key = _key(record, "lcd_id", "lcd_version")
        if versions is None or key in versions:
            links[key].append(_key(record, "contractor_id", "contractor_type_id", "contractor_version"))
    if not links:
        return {}
    names: dict[tuple[str, ...], str] = {}
    for record in tables.records("contractor.csv"):
        column = next((c for c in _CONTRACTOR_NAME_COLUMNS if record.get(c, "").strip()), None)
        if column is None:
            continue
        name = " ".join(record[column].split())
        cid, ctype, cver = _key(record, "contractor_id", "contractor_type_id", "contractor_version")
        for key in ((cid, ctype, cver), (cid, ctype), (cid,)):
            names.setdefault(key, name)  # fall back to a looser key when versions do not line up
    types: dict[str, str] = {}
    for record in tables.records("contractor_type_lookup.csv"):
        label = next((v for k, v in record.items() if k != "contractor_type_id" and v.strip()), "")
        types[record.get("contractor_type_id", "").strip()] = " ".join(label.split())
    out: dict[tuple[str, str], str] = {}
    for version_key, entries in links.items():
        grouped: dict[str, list[str]] = {}
        for cid, ctype, cver in entries:
            name = names.get((cid, ctype, cver)) or names.get((cid, ctype)) or names.get((cid,))
            if name is None:
                continue
            kinds = grouped.setdefault(name, [])
            if types.get(ctype) and types[ctype] not in kinds:
                kinds.append(types[ctype])
        parts = [f"{name} ({', '.join(kinds)})" if kinds else name for name, kinds in grouped.items()]
        if parts:
            out[version_key] = "; ".join(parts)
    return out


def _plain(value: str | None) -> str | None:
    """A possibly HTML-escaped field as plain text lines (the Coverage API decoding, reused)."""
    if not value or not value.strip():
        return None
    lines = [block.text for block in field_blocks(value) if block.text.strip()]
    return "\n".join(lines) or None


def _sort_number(value: str) -> tuple[int, str]:
    digits = re.sub(r"\D", "", value or "")
    return (int(digits) if digits else -1, value or "")


def _revision_number(value: str | None) -> str | None:
    """'16' -> 'R16' (the page and the API say R16); anything else as written."""
    number = clean_value(value)
    return f"R{number}" if number is not None and number.isdigit() else number


def reasons_for_change(tables: Tables) -> dict[tuple[str, str], list[str]]:
    """(lcd_id number, lcd_version) -> reason descriptions in lookup order, "Other" texts in brackets."""
    lookup: dict[tuple[str, ...], tuple[str, str]] = {}
    for record in tables.records("reason_change_lookup.csv"):
        description = " ".join(record.get("description", "").split())
        order = record.get("sort_order", "")
        lookup.setdefault(_key(record, "reason_change_id", "reason_change_version"), (description, order))
        lookup.setdefault(_key(record, "reason_change_id"), (description, order))
    found: dict[tuple[str, str], list[tuple[tuple[int, str], str]]] = defaultdict(list)
    for record in tables.records("lcd_x_reason_change.csv"):
        description, order = lookup.get(_key(record, "reason_change_id", "reason_change_version")) or lookup.get(
            _key(record, "reason_change_id"), ("", "")
        )
        other = " ".join(record.get("reason_change_other", "").split())
        # "Other (Please specify) (typo fixes)": the same wording `lcd sync` stores for the API's reasons.
        text = f"{description} ({other})" if description and other and other.casefold() not in description.casefold() else description or other
        if text:
            found[_key(record, "lcd_id", "lcd_version")].append((_sort_number(order), text))
    return {key: list(dict.fromkeys(text for _, text in sorted(items))) for key, items in found.items()}


def revision_history(path: Path, limits: BundleLimits | None = None) -> list[dict[str, Any]]:
    """The bundle's revision history and reasons for change as plain records, for `lcd_revision_history`.

    One dict per lcd_x_revision_history.csv row: lcd_id ("L32553"), version, rev_hist_date (date or
    None), rev_hist_num, explanation (plain text), reasons (list of str). The export keys reasons by
    LCD version while all of a version's history rows are its change log (R15, R16, R17 on the current
    version), so a version's reasons go on its latest history row; the older rows get []. A version
    with reasons but no history row gets one record with the history fields None.
    """
    path = Path(path)
    with open_bundle(path, limits) as tables:
        reasons = reasons_for_change(tables)
        history: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for record in tables.records("lcd_x_revision_history.csv"):
            number = _LCD_NUMBER.fullmatch(record.get("lcd_id", "").strip())
            version = record.get("lcd_version", "").strip()
            if number is None or not version:
                continue
            history[_key(record, "lcd_id", "lcd_version")].append(
                {
                    "lcd_id": f"L{int(number.group(1))}",
                    "version": version,
                    "rev_hist_date": parse_date(record.get("rev_hist_date")),
                    "rev_hist_num": _revision_number(record.get("rev_hist_num")),
                    "explanation": _plain(record.get("rev_hist_exp")),
                    "reasons": [],
                }
            )
    out: list[dict[str, Any]] = []
    for key in dict.fromkeys([*history, *reasons]):
        rows = history.get(key, [])
        if key in reasons:
            if rows:
                latest = max(rows, key=lambda r: (r["rev_hist_date"] or date.min, _sort_number(r["rev_hist_num"] or "")))
                latest["reasons"] = list(reasons[key])
            else:
                number = _LCD_NUMBER.fullmatch(key[0])
                if number is None:
                    continue
                rows = [
                    {
                        "lcd_id": f"L{int(number.group(1))}",
                        "version": key[1],
                        "rev_hist_date": None,
                        "rev_hist_num": None,
                        "explanation": None,
                        "reasons": list(reasons[key]),
                    }
                ]
        out.extend(rows)
    return out


# ---- documents -------------------------------------------------------------------------------------


def row_document(row: BundleRow, contractor: str | None) -> Document:
    """The Document of one lcd.csv row, laid out and decoded by the Coverage API record reader."""
    # lcd.csv calls the Coverage API's retirement_date "date_retired": same header line either way.
    record = {**row.record, "retirement_date": row.record.get("date_retired", "")}
    entry = row.entry
    meta = replace(lcd_meta(record), lcd_id=entry.lcd_id, version=entry.version, contractor=contractor, document_type="LCD")
    parsed = Parsed(blocks=record_blocks(record, meta, ncd=False), meta=meta)
    document = assemble(parsed, row.canonical, PurePath(entry.source_path), None, SOURCE_FORMAT)  # type: ignore[arg-type]
    return replace(document, lcd_id=entry.lcd_id, version=entry.version, source_path=entry.source_path)


def read_bundle(
    path: Path,
    limits: BundleLimits | None = None,
    rows: Iterable[int] | None = None,
) -> Iterator[Document | BundleFailure]:
    """Documents of every row (or of the given row numbers) of a bundle; failed rows as BundleFailures.

    A bundle-level refusal raises ReadError before any row is yielded.
    """
    for _, item in _numbered_documents(Path(path), limits, set(rows) if rows is not None else None):
        yield item


def _numbered_documents(
    path: Path, limits: BundleLimits | None, wanted: set[int] | None
) -> Iterator[tuple[int | None, Document | BundleFailure]]:
    """(row number, Document or failure) per row; the table is read (and closed) before any Document is built."""
    with open_bundle(path, limits) as tables:
        parsed_rows = list(iter_rows(tables, path, wanted))
        versions = {(row.record["lcd_id"].strip(), row.entry.version) for row in parsed_rows if isinstance(row, BundleRow)}
        names = contractors(tables, versions) if versions else {}
    for row in parsed_rows:
        if isinstance(row, BundleFailure):
            yield row.row, row
            continue
        number = row.entry.row
        try:
            yield number, row_document(row, names.get((row.record["lcd_id"].strip(), row.entry.version)))
        except ReadError as exc:
            yield number, BundleFailure(row.entry.source_path, exc.error_type, f"{LCD_TABLE} row {number}: {exc}", row.sha256, number)
        except Exception as exc:  # a reader bug on one row must fail that row, not the bundle
            message = f"{LCD_TABLE} row {number}: reader failed: {type(exc).__name__}: {exc}"
            yield number, BundleFailure(row.entry.source_path, "internal", message, row.sha256, number)


def read_entries(items: Iterable[tuple[BundleEntry, str]], limits: BundleLimits | None = None) -> Iterator[Document | BundleFailure]:
    """Documents of planned rows, reading each bundle once per call; a row that changed since planning fails."""
    by_bundle: dict[Path, dict[int, tuple[BundleEntry, str]]] = defaultdict(dict)
    for entry, digest in items:
        by_bundle[Path(entry.bundle)][entry.row] = (entry, digest)
    for bundle, planned in by_bundle.items():
        changed = f"{bundle.name} changed while it was being ingested: re-run"
        try:
            results = list(_numbered_documents(bundle, limits, set(planned)))
        except ReadError as exc:
            for row, (entry, digest) in planned.items():
                yield BundleFailure(entry.source_path, exc.error_type, str(exc), digest, row)
            continue
        seen: set[int] = set()
        for row, item in results:
            if row in planned and row not in seen:
                seen.add(row)
                entry, digest = planned[row]
                if isinstance(item, Document) and item.source_sha256 != digest:
                    item = BundleFailure(entry.source_path, "io", changed, digest, row)
            yield item
        for row, (entry, digest) in planned.items():
            if row not in seen:
                yield BundleFailure(entry.source_path, "io", changed, digest, row)
