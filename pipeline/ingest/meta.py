"""Document metadata: header label/value lines, dates, contractor names, canonical ids."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from typing import Sequence

from pipeline.datamodel import DocumentMeta

_US_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\b")
_LABELLED = re.compile(r"(?P<label>[A-Za-z][A-Za-z ()/-]{0,40}?)\s*(?::|\s\|)\s*(?P<value>\S.*)")
_NONE_VALUES = {"", "n/a", "na", "none", "unknown", "-", "null"}

# Header label (case-folded) -> (DocumentMeta field, document type the label implies).
_LABELS: dict[str, tuple[str, str | None]] = {
    "lcd id": ("lcd_id", "LCD"),
    "lcd": ("lcd_id", "LCD"),
    "proposed lcd id": ("lcd_id", "LCD"),
    "article id": ("lcd_id", "Article"),
    "ncd id": ("lcd_id", "NCD"),
    "ncd": ("lcd_id", "NCD"),
    "document id": ("lcd_id", None),
    "lcd version": ("version", None),
    "article version": ("version", None),
    "ncd version": ("version", None),
    "version": ("version", None),
    "version number": ("version", None),
    "title": ("title", None),
    "lcd title": ("title", None),
    "article title": ("title", None),
    "ncd title": ("title", None),
    "document title": ("title", None),
    "contractor": ("contractor", None),
    "contractor name": ("contractor", None),
    "contractor(s)": ("contractor", None),
    "contractors": ("contractor", None),
    "revision effective date": ("effective_date", None),
    "effective date": ("effective_date", None),
    "original effective date": ("original_effective_date", None),
    "document type": ("document_type", None),
}
_ID_PREFIX = {"LCD": "L", "Article": "A"}


def parse_date(value: object) -> date | None:
    """A date from MM/DD/YYYY or YYYY-MM-DD[ HH:MM:SS] anywhere in `value`; None if absent or invalid."""
    if not isinstance(value, str):
        return None
    for regex, order in ((_ISO_DATE, (0, 1, 2)), (_US_DATE, (2, 0, 1))):
        found = regex.search(value)
        if found:
            parts = [int(found.group(i + 1)) for i in range(3)]
            try:
                return date(parts[order[0]], parts[order[1]], parts[order[2]])
            except ValueError:
                return None
    return None


def clean_value(value: object) -> str | None:
    """A stripped one-line value, None for placeholders like "N/A" or "unknown"."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    return None if text.casefold() in _NONE_VALUES else text


def clean_contractor(value: object) -> str | None:
    """'Palmetto GBA\\r\\n(MAC - Part A)' -> one line; several contractors (blank-line separated) joined by '; '."""
    if not isinstance(value, str):
        return clean_value(value)
    names = [clean_value(chunk) for chunk in re.split(r"\r?\n\s*\r?\n", value)]
    joined = "; ".join(name for name in names if name)
    return joined or None


def document_type_for(lcd_id: str | None) -> str | None:
    """Document type implied by an id's prefix (L/DL -> LCD, A -> Article, NCD -> NCD)."""
    if not lcd_id:
        return None
    if lcd_id.upper().startswith("NCD"):
        return "NCD"
    if re.fullmatch(r"D?L\d+", lcd_id, re.IGNORECASE):
        return "LCD"
    if re.fullmatch(r"A\d+", lcd_id, re.IGNORECASE):
        return "Article"
    return None


def canonical_id(value: str, doc_type: str | None) -> str:
    """'38841' under an LCD label -> 'L38841'; NCD display ids become 'NCD<id>' like the raw_docs folders."""
    value = value.strip().split()[0] if value.strip() else value
    if doc_type == "NCD":
        return value if value.upper().startswith("NCD") else f"NCD{value}"
    if doc_type in _ID_PREFIX and value.isdigit():
        return _ID_PREFIX[doc_type] + value
    return value.upper() if re.fullmatch(r"[a-z]{1,3}\d+", value) else value


def canonical_version(value: str) -> str:
    """'20' / 'R20' / 'v20' -> '20'; anything else as written."""
    found = re.fullmatch(r"[RrVv]?\s*(\d+(?:\.\d+)*)", value.strip())
    return found.group(1) if found else value.strip()


def _labelled_pairs(lines: Sequence[str]) -> list[tuple[str, str]]:
    """(label, value) pairs: 'Label: value', 'Label | value', or a label line followed by its value line."""
    pairs: list[tuple[str, str]] = []
    for index, line in enumerate(lines):
        found = _LABELLED.fullmatch(line)
        if found and found.group("label").strip().casefold() in _LABELS:
            pairs.append((found.group("label"), found.group("value")))
            continue
        label = line.rstrip(" :").strip()
        if label.casefold() in _LABELS and index + 1 < len(lines) and lines[index + 1].strip():
            following = lines[index + 1].rstrip(" :").strip()
            if following.casefold() not in _LABELS:
                pairs.append((label, lines[index + 1]))
    return pairs


def header_meta(lines: Sequence[str]) -> DocumentMeta:
    """Metadata from the header lines before the first section ('LCD ID: L38841', 'Title: ...')."""
    found: dict[str, str] = {}
    contractors: list[str] = []
    doc_type: str | None = None
    for label, value in _labelled_pairs(lines):
        field, implied_type = _LABELS[label.strip().casefold()]
        if field == "contractor" and clean_contractor(value):
            contractors.append(clean_contractor(value) or "")  # pages list one contractor per row
        if field in found or clean_value(value) is None:
            continue
        found[field] = value
        if field == "lcd_id":
            doc_type = implied_type
    meta = DocumentMeta()
    if "lcd_id" in found:
        lcd_id = canonical_id(found["lcd_id"], doc_type)
        meta = replace(meta, lcd_id=lcd_id, document_type=doc_type or document_type_for(lcd_id))
    if "version" in found:
        meta = replace(meta, version=canonical_version(found["version"]))
    if "document_type" in found and meta.document_type is None:
        meta = replace(meta, document_type=clean_value(found["document_type"]))
    return replace(
        meta,
        title=clean_value(found.get("title")),
        contractor="; ".join(dict.fromkeys(contractors)) or None,
        effective_date=parse_date(found.get("effective_date")),
        original_effective_date=parse_date(found.get("original_effective_date")),
    )


def title_from_first_line(lines: Sequence[str]) -> str | None:
    """The first preamble line as a title when it looks like one (short, not a label, not a sentence)."""
    if not lines:
        return None
    first = lines[0].strip()
    if not first or len(first) > 200 or first.startswith("- ") or _labelled_pairs([first]):
        return None
    if first.endswith((".", ";", ",")):
        return None
    return first


def merge(primary: DocumentMeta, fallback: DocumentMeta) -> DocumentMeta:
    """Field-wise: `primary` where it says something, else `fallback`."""
    values = {
        name: getattr(primary, name) if getattr(primary, name) is not None else getattr(fallback, name)
        for name in DocumentMeta.__dataclass_fields__
    }
    return DocumentMeta(**values)
