"""Pure parsing of CMS Coverage API bodies: envelopes, report rows, LCD records, revisions, reasons.

No I/O here: the client (coverage_api.py) hands decoded JSON to these functions, so every shape rule
is testable on plain dicts. Record fields follow ../shared/MCD_FORMAT.md section 2.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from pipeline.ingest.markup import ESCAPED_TAG, RAW_TAG
from pipeline.ingest.meta import clean_contractor, clean_value, parse_date


class EnvelopeError(ValueError):
    """A body that is valid JSON but not the API's {"meta": {...}, "data": [...]} envelope."""


@dataclass(frozen=True)
class Envelope:
    """The records of one response and the token of the next page ("" or None: last page)."""

    records: list[dict[str, Any]]
    next_token: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReportEntry:
    """One current LCD version listed by /v1/reports/local-coverage-final-lcds."""

    lcd_id: str  # "L34648", the warehouse id
    number: str  # "34648", the `lcdid` query value
    version: str  # "31"
    title: str | None = None
    contractor_name_type: str | None = None  # raw, e.g. "WPS Insurance Corporation\r\n(MAC - Part A, MAC - Part B)"
    updated_on: date | None = None
    effective_date: date | None = None
    url: str | None = None

    @property
    def contractor(self) -> str | None:
        """The contractor as one line (several contractors joined by '; ')."""
        return clean_contractor(self.contractor_name_type)

    @property
    def changed_on(self) -> date | None:
        """The later of updated_on and effective_date: what --since compares against."""
        known = [d for d in (self.updated_on, self.effective_date) if d is not None]
        return max(known) if known else None


@dataclass(frozen=True)
class LcdData:
    """The /v1/data/lcd answer for one (lcd, version): the record, or None when the API has no such version."""

    lcd_id: str
    version: str
    url: str
    record: dict[str, Any] | None

    @property
    def found(self) -> bool:
        """Whether the API returned a record for this version."""
        return self.record is not None


@dataclass(frozen=True)
class RevisionEntry:
    """One row of an LCD version's revision history (a change log: it lists earlier revisions too)."""

    record_version: str | None  # the record's lcd_version
    rev_hist_num: str | None  # "R16"
    rev_hist_date: date | None
    explanation: str  # rev_hist_exp as plain text
    last_updated: date | None = None


@dataclass(frozen=True)
class ChangeReason:
    """One reason for change of an LCD version ("Revisions Due to Code Removal", "Other (...)")."""

    record_version: str | None
    description: str
    last_updated: date | None = None


_BREAK_TAG = re.compile(r"<\s*(?:br|/p|/li|/div|/h\d)\s*/?\s*>", re.IGNORECASE)
_REV_NUM = re.compile(r"^\s*(R\d+)\b")
_REV_EXPLANATION = re.compile(r"Revision Explanation:\s*(.*)", re.IGNORECASE | re.DOTALL)
_NUMBER_ID = re.compile(r"[Ll]?(\d+)")


def parse_envelope(payload: Any) -> Envelope:
    """The records and next-page token of a decoded body; EnvelopeError when it is not an envelope."""
    if not isinstance(payload, dict):
        raise EnvelopeError(f"response is a JSON {type(payload).__name__}, not an object with 'data'")
    data = payload.get("data")
    if not isinstance(data, list):
        raise EnvelopeError("response has no 'data' list")
    if not all(isinstance(record, dict) for record in data):
        raise EnvelopeError("response 'data' holds something other than records")
    meta = payload.get("meta") if isinstance(payload.get("meta"), dict) else {}
    token = meta.get("next_token")
    return Envelope(records=data, next_token=str(token) if token else None, meta=meta)


def parse_token(payload: Any) -> str:
    """The license-agreement token: data[0].Token."""
    records = parse_envelope(payload).records
    token = records[0].get("Token") if records else None
    if not isinstance(token, str) or not token.strip():
        raise EnvelopeError("license-agreement response carries no data[0].Token")
    return token.strip()


def lcd_number(lcd_id: str | int) -> str:
    """'L34648' or 34648 -> '34648', the value of the API's `lcdid` parameter."""
    found = _NUMBER_ID.fullmatch(str(lcd_id).strip())
    if not found:
        raise ValueError(f"not an LCD id: {lcd_id!r} (expected L<number>)")
    return str(int(found.group(1)))


def _scalar_text(value: Any) -> str | None:
    """A scalar as a stripped one-line string (placeholders such as 'N/A' become None)."""
    return clean_value(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None


def parse_report_entry(record: dict[str, Any]) -> ReportEntry | None:
    """A report row as a ReportEntry; None for non-LCD rows or rows without an id or version."""
    doc_type = _scalar_text(record.get("document_type"))
    if doc_type is not None and doc_type.upper() != "LCD":
        return None
    display = _scalar_text(record.get("document_display_id"))
    number = _scalar_text(record.get("document_id"))
    version = _scalar_text(record.get("document_version"))
    try:
        number = lcd_number(number if number is not None else display or "")
    except ValueError:
        return None
    if version is None:
        return None
    contractor = record.get("contractor_name_type")
    return ReportEntry(
        lcd_id=f"L{number}",
        number=number,
        version=version,
        title=_scalar_text(record.get("title")),
        contractor_name_type=contractor if isinstance(contractor, str) and contractor.strip() else None,
        updated_on=parse_date(record.get("updated_on")),
        effective_date=parse_date(record.get("effective_date")),
        url=_scalar_text(record.get("url")),
    )


def parse_lcd_data(lcd_id: str, version: str, url: str, records: list[dict[str, Any]]) -> LcdData:
    """The record of `version` among `records` (empty: no such version; one record: that one)."""
    if not records:
        return LcdData(lcd_id, version, url, None)
    for record in records:
        if _scalar_text(record.get("lcd_version")) == version or _scalar_text(record.get("document_version")) == version:
            return LcdData(lcd_id, version, url, record)
    return LcdData(lcd_id, version, url, records[0])


def plain_text(value: Any) -> str:
    """An API text field as plain text: entity-escaped HTML decoded (twice when escaped), tags dropped."""
    if not isinstance(value, str):
        return "" if value is None else str(value)
    text = html.unescape(value) if ESCAPED_TAG.search(value) else value
    text = _BREAK_TAG.sub("\n", text)
    text = html.unescape(RAW_TAG.sub("", text))
    lines = (" ".join(line.split()) for line in text.replace("\r\n", "\n").split("\n"))
    return "\n".join(line for line in lines if line)


def parse_revision(record: dict[str, Any]) -> RevisionEntry:
    """A revision-history record {lcd_version, rev_hist_exp, rev_hist_date, last_updated[, rev_hist_num]}."""
    explanation = plain_text(record.get("rev_hist_exp"))
    number = _scalar_text(record.get("rev_hist_num"))
    if number is None:
        found = _REV_NUM.match(explanation)
        number = found.group(1) if found else None
    elif number.isdigit():
        number = f"R{number}"
    return RevisionEntry(
        record_version=_scalar_text(record.get("lcd_version")),
        rev_hist_num=number,
        rev_hist_date=parse_date(record.get("rev_hist_date")),
        explanation=explanation,
        last_updated=parse_date(record.get("last_updated")),
    )


def parse_reason(record: dict[str, Any]) -> ChangeReason | None:
    """A reason-change record {lcd_version, description, last_updated}; None when it names no reason."""
    description = _scalar_text(plain_text(record.get("description")))
    other = _scalar_text(plain_text(record.get("reason_change_other")))
    if other and description and other.casefold() not in description.casefold():
        description = f"{description} ({other})"
    description = description or other
    if description is None:
        return None
    return ChangeReason(
        record_version=_scalar_text(record.get("lcd_version")),
        description=description,
        last_updated=parse_date(record.get("last_updated")),
    )


@dataclass(frozen=True)
class RevisionRow:
    """One lcd_revision_history row: a history entry, with the version's reasons on its latest entry."""

    rev_hist_date: date | None
    rev_hist_num: str | None
    explanation: str | None
    reasons_for_change: tuple[str, ...] = ()


def revision_order(rev_hist_date: date | None, rev_hist_num: str | None) -> tuple[date, int]:
    """Sort key of history entries: by date, then by the number in 'R16' (R10 after R9)."""
    digits = re.sub(r"\D", "", rev_hist_num or "")
    return (rev_hist_date or date.min, int(digits) if digits else -1)


def revision_rows(revisions: list[RevisionEntry], reasons: list[ChangeReason]) -> list[RevisionRow]:
    """The rows to store for one version: its history entries, its reasons on the latest one.

    With reasons but no history, one row with null history fields carries the reasons.
    """
    texts = tuple(dict.fromkeys(reason.description for reason in reasons))
    rows = [RevisionRow(r.rev_hist_date, r.rev_hist_num, r.explanation or None) for r in revisions]
    if not texts:
        return rows
    if not rows:
        return [RevisionRow(None, None, None, texts)]
    latest = max(range(len(rows)), key=lambda i: revision_order(rows[i].rev_hist_date, rows[i].rev_hist_num))
    rows[latest] = RevisionRow(rows[latest].rev_hist_date, rows[latest].rev_hist_num, rows[latest].explanation, texts)
    return rows


def revision_summary(explanation: str) -> str:
    """The 'Revision Explanation: ...' part of a revision-history text, or the whole text, on one line."""
    found = _REV_EXPLANATION.search(explanation)
    text = found.group(1) if found else _REV_NUM.sub("", explanation, count=1)
    return " ".join(text.split())


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None when absent or bad."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, (moment - (now or datetime.now(timezone.utc))).total_seconds())
