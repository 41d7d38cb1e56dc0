"""CMS Coverage API / MCD export records (.json): one LCD or NCD record per file.

The text is laid out like an lcd_text file: header lines ("LCD ID: L34648", "Title: ...") form the
preamble, then every non-empty text field becomes a section opened by the heading line this reader
writes ("CMS National Coverage Policy", "Coverage Indications, Limitations, and/or Medical Necessity",
...), with one blank line between sections. Inside the policy field (LCD `indication`, NCD
`indications_limitations`) a whole-line lexicon heading of kind policy or evidence ("Covered
Indications", "Limitations", "History/Background and/or General Information") opens a sub-section;
other-kind lines and bold sub-headings stay inside it. Every other field is exactly one section.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from pipeline.ingest.base import Parsed
from pipeline.ingest.errors import ReadError
from pipeline.ingest.markup import ESCAPED_TAG, RAW_TAG, render_html
from pipeline.ingest.meta import clean_contractor, clean_value, document_type_for, parse_date
from pipeline.ingest.normalize import BLANK, Block, parse_plain_lines
from pipeline.ingest.sections import lexicon, match_heading
from pipeline.datamodel import DocumentMeta

# (record field, lexicon section name) in the reading order of an MCD LCD page.
LCD_FIELDS = (
    ("issue", "issue"),
    ("cms_cov_policy", "cms_national_coverage_policy"),
    ("indication", "coverage_indications"),
    ("summary_of_evidence", "summary_of_evidence"),
    ("analysis_of_evidence", "analysis_of_evidence"),
    ("coding_guidelines", "coding_information"),
    ("doc_reqs", "documentation_requirements"),
    ("util_guide", "utilization_guidelines"),
    ("appendices", "appendices"),
    ("diagnoses_support", "icd10_codes_supporting"),
    ("diagnoses_dont_support", "icd10_codes_not_supporting"),
    ("associated_info", "associated_information"),
    ("source_info", "sources_of_information"),
    ("bibliography", "bibliography"),
)
NCD_FIELDS = (
    ("item_service_description", "item_service_description"),
    ("indications_limitations", "indications_and_limitations"),
    ("cross_reference", "cross_reference"),
    ("other_text", "other_information"),
    ("reasons_for_denial", "reasons_for_denial"),
)
# Fields whose own lexicon sub-headings may open sub-sections.
POLICY_FIELDS = {"indication", "indications_limitations"}



def decode_json(data: bytes) -> Any:
    """Parse JSON bytes; ReadError for empty, non-UTF-8 or malformed input."""
    if not data.strip():
        raise ReadError("empty", "empty file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReadError("decode", f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReadError("parse", f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc


def unwrap_record(payload: Any) -> dict[str, Any]:
    """The single record in a bare record, a one-element array, or an API envelope {"meta", "data": [record]}."""
    if isinstance(payload, dict) and isinstance(payload.get("data"), list):
        payload = payload["data"]
    if isinstance(payload, list):
        if len(payload) != 1:
            raise ReadError("parse", f"JSON holds {len(payload)} records; expected exactly one per file")
        payload = payload[0]
    if not isinstance(payload, dict):
        raise ReadError("parse", f"JSON record is a {type(payload).__name__}, not an object")
    return payload


def is_ncd(record: dict[str, Any]) -> bool:
    """NCD records carry document_type "NCD" or the NCD text fields."""
    if str(record.get("document_type", "")).upper() == "NCD":
        return True
    return "indications_limitations" in record or "item_service_description" in record


def field_blocks(value: Any) -> list[Block]:
    """Blocks of one text field: entity-escaped HTML, plain HTML, or plain text."""
    if not isinstance(value, str) or not value.strip():
        return []
    markup = value
    if ESCAPED_TAG.search(value) and not RAW_TAG.search(value):
        # The markup itself is entity-escaped; one unescape gives HTML whose own entities the parser
        # then decodes once ("&amp;lt;" -> "&lt;" -> "<"), so a literal "<" never becomes a tag.
        markup = html.unescape(value)
    if RAW_TAG.search(markup):
        return render_html(markup).blocks
    return parse_plain_lines(html.unescape(value).splitlines())


def _text(value: Any) -> str | None:
    """A scalar field as a clean one-line string."""
    return clean_value(value) if isinstance(value, (str, int, float)) else None


def lcd_meta(record: dict[str, Any]) -> DocumentMeta:
    """DocumentMeta of an LCD (or Article) record."""
    display = _text(record.get("document_display_id")) or _text(record.get("display_id"))
    number = _text(record.get("document_id")) or _text(record.get("lcd_id"))
    doc_type = _text(record.get("document_type"))
    lcd_id = display or (f"{'A' if doc_type == 'Article' else 'L'}{number}" if number and number.isdigit() else number)
    return DocumentMeta(
        lcd_id=lcd_id,
        version=_text(record.get("document_version")) or _text(record.get("lcd_version")),
        title=_text(record.get("title")),
        contractor=clean_contractor(record.get("contractor_name_type") or record.get("contractor_name")),
        effective_date=parse_date(record.get("rev_eff_date")) or parse_date(record.get("effective_date")),
        original_effective_date=parse_date(record.get("orig_det_eff_date")),
        document_type=doc_type or document_type_for(lcd_id) or "LCD",
    )


def ncd_meta(record: dict[str, Any]) -> DocumentMeta:
    """DocumentMeta of an NCD record; the id is "NCD<display id>" like the raw_docs folder names."""
    display = _text(record.get("document_display_id"))
    return DocumentMeta(
        lcd_id=f"NCD{display}" if display else None,
        version=_text(record.get("document_version")),
        title=_text(record.get("title")),
        effective_date=parse_date(record.get("effective_date")),
        document_type="NCD",
    )


def header_lines(record: dict[str, Any], meta: DocumentMeta, ncd: bool) -> list[str]:
    """The preamble: label/value lines as in the lcd_text files, for the values the record has."""
    if ncd:
        labelled: tuple[tuple[str, Any], ...] = (
            ("NCD ID", record.get("document_display_id")),
            ("NCD Version", meta.version),
            ("Title", meta.title),
            ("Benefit Category", record.get("benefit_category")),
            ("Effective Date", record.get("effective_date")),
            ("Implementation Date", record.get("implementation_date")),
            ("Effective End Date", record.get("effective_end_date")),
        )
    else:
        prefix = "Article" if meta.document_type == "Article" else "LCD"
        labelled = (
            (f"{prefix} ID", meta.lcd_id),
            (f"{prefix} Version", meta.version),
            ("Title", meta.title),
            ("Contractor", meta.contractor),
            ("Original Effective Date", record.get("orig_det_eff_date")),
            ("Revision Effective Date", record.get("rev_eff_date")),
            ("Revision Ending Date", record.get("rev_end_date")),
            ("Retirement Date", record.get("retirement_date")),
        )
    lines = []
    for label, value in labelled:
        text = " ".join(str(value).split()) if isinstance(value, (str, int, float)) else ""
        if text:
            lines.append(f"{label}: {text}")
    return lines


def _mark_subheadings(blocks: list[Block], policy_field: bool) -> list[Block]:
    """Allow only policy/evidence lexicon sub-headings, and only in the policy field, to open sections."""
    marked = []
    for block in blocks:
        allowed = policy_field and block.level is None
        if allowed:
            match = match_heading(block.text)
            allowed = match is not None and match.kind != "other"
        marked.append(Block(block.text, block.level, block.forced, can_head=allowed))
    return marked


def record_blocks(record: dict[str, Any], meta: DocumentMeta, ncd: bool) -> list[Block]:
    """Header lines, then one headed section per non-empty text field."""
    lex = lexicon()
    blocks = [Block(line, can_head=False) for line in header_lines(record, meta, ncd)]
    found_text = False
    for key, name in NCD_FIELDS if ncd else LCD_FIELDS:
        content = [block for block in field_blocks(record.get(key)) if block.text.strip()]
        if not content:
            continue
        found_text = True
        display, match = lex.heading_for(name)
        blocks += [BLANK, Block(display, forced=match), *_mark_subheadings(content, key in POLICY_FIELDS)]
    if not found_text:
        raise ReadError("no_text", "JSON record has no policy text fields")
    return blocks


def read_json(data: bytes) -> Parsed:
    """Parse one Coverage API / MCD record."""
    record = unwrap_record(decode_json(data))
    ncd = is_ncd(record)
    meta = ncd_meta(record) if ncd else lcd_meta(record)
    return Parsed(blocks=record_blocks(record, meta, ncd), meta=meta)
