"""Scale corpus for throughput benchmarks: N synthetic LCDs made from the shipped documents in raw_docs.

Run `.venv/bin/python bench/scale_corpus.py --n 940 --out /tmp/corpus940 [--seed 0]`, or call
`build_corpus(n_lcds, out, seed)`. Writes `out/<LCD_ID>/<VERSION>.<ext>` (the raw_docs layout) plus a
marker `out/.scale-corpus.json` (a dotfile, so `discover()` never takes it for a document).

- Templates: every .txt and .json file under raw_docs, cycled in path order; copy k gets the id
  `L9kkkkk` (`A9kkkkk` for a billing Article, `NCD990.k` for an NCD), written into the document's own
  header lines / record fields too, so path and content agree on who it is.
- Numbers: every measuring number of the policy text (doses, thresholds, ages, durations, counts) is
  scaled by a seeded factor in [0.75, 1.25]: integers stay integers, decimals keep their decimal
  places, percentages stay <= 100 and ranges keep their order. Dates, years, ids, CPT/HCPCS/ICD-10
  codes, statute and manual section numbers, list numbering, reference markers and URLs are masked
  and never change; so are header lines and the reference/code-list sections. JSON records carry
  their text as entity-escaped HTML: numbers are found in the visible text (tags and entities mapped
  out) and only ASCII digits are spliced back, which need no escaping at either level.
- `revised_share` of the LCDs get a next version (version + 1) with one to three number runs changed
  again (measurements with a unit preferred), so a diff stage has real policy changes to find.
- `pdf_share` of the LCDs are typeset as PDF with fpdf2 (printed-LCD style, as bench/pdf_speed.py):
  .txt templates from their lines, .json templates from the reader's normalised text. Every PDF is
  typeset from its own varied text; speed comes from laying lines out with the core font's width
  table and `FPDF.text` instead of `multi_cell` (about 35x faster), not from caching.
Same (n, seed, shares) -> byte-identical files.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import random
import re
import shutil
import sys
import time
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

if str(Path(__file__).resolve().parent) not in sys.path:  # bench/ itself, for pdf_speed
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from fpdf import FPDF  # noqa: E402
from pdf_speed import LATIN1_SAFE  # noqa: E402

from pipeline.ingest import read_document  # noqa: E402
from pipeline.ingest.api_json import read_json  # noqa: E402
from pipeline.ingest.normalize import render  # noqa: E402
from pipeline.paths import RAW_DOCS  # noqa: E402

TEMPLATE_ROOT = RAW_DOCS
MARKER = ".scale-corpus.json"
MAX_LCDS = 100_000  # ids are "9" + five digits
FACTOR_RANGE = (0.75, 1.25)
REROLLS = 20
# Ids this module writes; a folder holding only these (and the marker) is a previous corpus.
SYNTHETIC_ID = re.compile(r"(?:[LA]9\d{5}|NCD990\.\d{1,5})")
VERSION_FILE = re.compile(r"\d+\.(?:txt|json|pdf)")
# Record fields whose numbers are policy (LCD, then NCD); manual citations, code lists and references are not.
JSON_POLICY_FIELDS = frozenset({
    "indication", "summary_of_evidence", "analysis_of_evidence", "coding_guidelines", "doc_reqs", "util_guide",
    "appendices", "item_service_description", "indications_limitations", "other_text",
})
# .txt section headings (case-folded substrings) whose numbers identify rather than measure.
TXT_SKIPPED_SECTIONS = ("national coverage policy", "bibliograph", "sources of information", "reference",
                        "icd-10", "cpt", "hcpcs", "codes", "revision history")
BLOCK_TAGS = frozenset("p br li ul ol div h1 h2 h3 h4 h5 h6 tr td th table thead tbody blockquote hr".split())
PDF_CREATED = datetime(2024, 1, 1, tzinfo=timezone.utc)  # a fixed date keeps PDF bytes reproducible
RUNNING_HEADER = "Local Coverage Determination - printed copy"

_MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|December"
           "|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec")
_KEYWORDS = (r"sections?|chapters?|parts?|pub\.?|publications?|titles?|tables?|figures?|appendix|appendices"
             r"|groups?|steps?|phases?|types?|levels?|grades?|class(?:es)?|stages?|tiers?|categor(?:y|ies)"
             r"|criteri(?:on|a)|items?|articles?|versions?|rev\.|revisions?|no\.|numbers?|pages?|vol\.|volumes?"
             r"|issues?|paragraphs?|lines?|boxes?|codes?|modifiers?|ncd|lcd|cr|transmittals?|options?|sec\.|chap\."
             r"|ch\.?|cim|iom|schedule|#")
_LIST_TAIL = r"(?:\s*(?:,|and|or|through|to|[-–])\s*§*\s*\d+(?:\.\d+)*)*"
# Spans where digits identify (dates, codes, citations, numbering): never varied.
_MASK = re.compile("|".join(f"(?:{p})" for p in (
    r"(?:https?://|www\.)\S+",
    r"\d{1,2}[/\-.]\d{1,2}[/\-.]\d{2,4}",  # 7/15/2021
    r"\d{4}[/\-.]\d{1,2}[/\-.]\d{1,2}",  # 2021-07-15
    r"\d{1,2}/\d{4}",  # 10/2024
    rf"\b(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s*\d{{4}})?",  # January 21, 2020
    rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})\b",  # 21 January
    r"\d{1,2}:\d{2}",  # 10:30
    r"\d+(?:\.\d+){2,}",  # 50.4.4.1
    r"\d+(?:[-–]\d+){2,}",  # phone-like chains
    r"\b100-\d{2}\b",  # CMS IOM publication numbers
    r"\d{3}[-.]\d{3}[-.]\d{4}", r"\(\d{3}\)\s*\d{3}[-.]\d{4}", r"1-8\d\d-[A-Z0-9-]+",
    r"\d+\s?(?:\((?:[a-zA-Z]{1,5}|\d{1,3})\))+",  # statutes: 1862(a)(1)(A)
    rf"\d+\s+(?:CFR|C\.F\.R\.|U\.S\.C\.?|USC|FR)\b(?:\s*(?:[Pp]arts?|[Ss]ections?|§+)?\s*\d+(?:\.\d+)*{_LIST_TAIL})?",
    rf"§+\s*\d+(?:[.\-–]\d+)*(?:\([^)\n]{{1,6}}\))*{_LIST_TAIL}",
    rf"(?<![A-Za-z])(?i:{_KEYWORDS})\s*\d+(?:\.\d+)*{_LIST_TAIL}",  # Section 20, Group 1, Type 2
    r"\^\s*\d+(?:\s*[-–,]\s*\d+)*",  # ^3-9 reference markers
    r"[(\[]\s*\d+(?:\s*(?:[,\-–]|and|or)\s*\d+)*\s*[)\]]",  # (1), [3, 4]: labels and references
    # journal citations: 2018;28(1):87-99
    r"\d{4}[a-z]?\s*;\s*\d+(?:\s*\(\s*\d+(?:\s*[-–]\s*\d+)?\s*\))?"
    r"(?:\s*:\s*[A-Za-z]?\d+(?:\s*[-–]\s*[A-Za-z]?\d+)?)?",
    r"\d+\s*:\s*\d+\s*[-–]\s*\d+",  # 28:87-99
    r"\(\d{4}[a-z]?\)\s*\d+(?:\s*\(\d+\))?\s*[,:]\s*[A-Za-z]?\d+(?:\s*[-–]\s*\d+)?",  # (2018) 28, 87-99
)))
# List markers and numbered headings at the start of a line ("1. ", "(2) ", "10.1 Billing").
_LINE_MASK = re.compile(
    r"^[^\S\n]*(?:[-*•][^\S\n]*)?[(\[]?\d{1,3}[.):\]](?=[^\S\n]|$)|^[^\S\n]*\d+(?:\.\d+)+[^\S\n]", re.MULTILINE
)
_NUMBER = re.compile(r"(?<![\w.])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
# Units a number may be glued to ("1.5g/kg", "400mg") and still be a measurement.
_GLUED_UNIT = re.compile(r"(?:mg|mcg|µg|g|kg|ml|mL|dl|dL|mm|cm|mmHg|IU|units?)(?![A-Za-z])")
_UNIT_AFTER = re.compile(
    r"\s*-?\s*(?:%|percent|mg|mcg|µg|g\b|kg|ml|dl|mm|cm|units?|IU|days?|weeks?|months?|years?"
    r"|hours?|minutes?|doses?|sessions?|visits?|treatments?|injections?|cycles?|times|mmHg)",
    re.IGNORECASE,
)
_PERCENT_AFTER = re.compile(r"\s*(?:%|percent\b|per cent\b)", re.IGNORECASE)
_RANGE_JOIN = re.compile(r"\s*(?:-|–|—|to|through|and)\s*")
_ESCAPED_TAG = re.compile(r"&lt;\s*(?:/|&sol;)?\s*[a-zA-Z]")
_RAW_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]*>")
_TAG_NAME = re.compile(r"(?:&lt;|<)\s*(/|&sol;)?\s*([a-zA-Z][a-zA-Z0-9]*)")
_ENTITY = re.compile(r"&(?:amp;)*(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_TXT_HEADING = re.compile(r"===\s*(.*?)\s*===\s*$")
_HEADER_LINE = re.compile(r"[A-Z][A-Za-z ()/-]{0,40}:\s")
_VERSION_LINE = re.compile(r"^((?:LCD|Article|NCD) Version:[ \t]*)\S+", re.MULTILINE)


@dataclass(frozen=True)
class CorpusInfo:
    """What build_corpus wrote and how long it took."""

    n_lcds: int
    n_files: int
    n_versions: int
    bytes: int
    words: int  # whitespace words of the normalised Document text each file was made from
    pdf_files: int
    pdf_pages: int
    number_repeats: int  # LCDs whose policy numbers equal another copy's of the same template (few-number templates)
    seconds: float


@dataclass(frozen=True)
class Slot:
    """A number that may be varied: `value[start:end]` of one field, as written."""

    start: int
    end: int
    written: str
    percent: bool  # followed by "%" / "percent": stays <= 100
    unit: bool  # followed by a unit: a measurement, preferred for revisions
    follows: bool  # upper end of a range whose lower end is the slot before


@dataclass(frozen=True)
class Field:
    """One text of a template (a .txt file, or one string field of a record) and its numbers."""

    key: str  # record field name; "" for a .txt file
    value: str
    slots: tuple[Slot, ...]


@dataclass(frozen=True)
class Template:
    """A shipped document the corpus copies, with its variable numbers located."""

    lcd_id: str
    version: int
    kind: str  # "L", "A" or "NCD": the prefix of the synthetic id
    fmt: str  # "txt" or "json"
    record: dict[str, Any] | None
    fields: tuple[Field, ...]
    words: int

    @property
    def slots(self) -> tuple[Slot, ...]:
        """Every slot of every field, in order."""
        return tuple(slot for field in self.fields for slot in field.slots)


@dataclass(frozen=True)
class Plan:
    """What to write for corpus member k."""

    index: int
    template: Template
    lcd_id: str
    pdf: bool
    revised: bool


# ---- finding the numbers -------------------------------------------------------------------------


def _txt_view(text: str) -> str:
    """The text with header lines, headings and reference/code-list sections blanked (same offsets)."""
    out, skipping, preamble = [], False, True
    for line in text.split("\n"):
        heading = _TXT_HEADING.match(line)
        if heading:
            preamble = False
            skipping = any(word in heading.group(1).casefold() for word in TXT_SKIPPED_SECTIONS)
        elif preamble and not line.strip():
            preamble = False
        blank = heading or skipping or (preamble and _HEADER_LINE.match(line))
        out.append(" " * len(line) if blank else line)
    return "\n".join(out)


def _markup_view(value: str, escaped: bool) -> tuple[str, list[int]]:
    """Visible text of an HTML string and, per visible character, its offset in `value` (-1: synthetic)."""
    tag = re.compile(r"&lt;.*?&gt;" if escaped else r"<\s*/?\s*[a-zA-Z][^<>]*>", re.DOTALL)
    token = re.compile(f"(?P<tag>{tag.pattern})|(?P<entity>{_ENTITY.pattern})", re.DOTALL)
    chars: list[str] = []
    where: list[int] = []
    position = 0
    for found in token.finditer(value):
        chars.extend(value[position:found.start()])
        where.extend(range(position, found.start()))
        if found.group("tag"):
            name = _TAG_NAME.match(found.group())
            tag_name = name.group(2).lower() if name else ""
            if tag_name in BLOCK_TAGS or (tag_name == "sup" and name is not None and not name.group(1)):
                # A block ends a line (list markers sit at line starts); <sup> opens a reference marker.
                chars.append("\n" if tag_name in BLOCK_TAGS else "^")
                where.append(-1)
        else:
            shown = html.unescape(html.unescape(found.group()) if escaped else found.group())
            # An entity is one visible character, never a digit a number could grow into.
            chars.append("#" if shown[:1].isdigit() else (shown[:1] or " "))
            where.append(-1)
        position = found.end()
    chars.extend(value[position:])
    where.extend(range(position, len(value)))
    return "".join(chars), where


def field_view(value: str, is_txt: bool) -> tuple[str, list[int]]:
    """Where numbers are looked for: the visible text of a .txt file or record field, and offsets back into it."""
    if is_txt:
        view = _txt_view(value)
        return view, list(range(len(view)))
    # As the JSON reader decides: entity-escaped markup, else raw HTML or plain text (entities count once).
    return _markup_view(value, escaped=bool(_ESCAPED_TAG.search(value)) and not _RAW_TAG.search(value))


def _masked(view: str) -> bytearray:
    """1 for every character of `view` inside an identifying span (date, code, citation, numbering)."""
    mask = bytearray(len(view))
    for regex in (_MASK, _LINE_MASK):
        for found in regex.finditer(view):
            mask[found.start():found.end()] = b"\x01" * (found.end() - found.start())
    return mask


def _measuring(view: str, start: int, end: int, written: str) -> bool:
    """Whether the number view[start:end] measures something (is not a code, year, id or fraction part)."""
    before = view[start - 1] if start else " "
    before2 = view[start - 2] if start > 1 else " "
    after = view[end:end + 2]
    digits = written.replace(",", "").split(".")[0]
    if before in "/\\#$^§&@+:;_'" or (before in "-–" and before2.isalpha()) or (before == "," and before2.isdigit()):
        return False
    if (after[:1].isalpha() and not _GLUED_UNIT.match(view, end)) or after[:1] == "(":
        return False  # B19-like tokens, 2nd, 1861(s)
    if (after[:1] in "/:," and after[1:2].isdigit()) or after[:1] == "^":
        return False  # 1/2, 1:1, 12,13, 10^9, 1<sup>st</sup>
    if after[:1] == ")" and view.rfind("(", max(0, start - 40), start) <= view.rfind(")", max(0, start - 40), start):
        return False  # "it must 1) be ..., 2) be ...": an enumerator, not inside parentheses
    if after[:1] in "'’" and after[1:2].isalpha():
        return False  # 1980's
    plain_integer = "," not in written and "." not in written
    if plain_integer and (len(digits) >= 5 or (len(digits) == 4 and 1900 <= int(digits) <= 2099)):
        return False  # CPT/HCPCS codes and years
    if len(digits) > 1 and digits.startswith("0"):
        return False  # "02": a code part
    return float(written.replace(",", "")) > 0


def find_slots(value: str, is_txt: bool = False) -> tuple[Slot, ...]:
    """The numbers of a .txt file or one record field that may be varied, in order."""
    view, where = field_view(value, is_txt)
    mask = _masked(view)
    slots: list[Slot] = []
    previous_end = -1  # view offset just after the last slot
    for found in _NUMBER.finditer(view):
        start, end = found.span()
        if any(mask[start:end]) or not _measuring(view, start, end, found.group()):
            continue
        first, last = where[start], where[end - 1]
        if first < 0 or last - first != end - 1 - start or value[first:last + 1] != found.group():
            continue  # the number is split by markup
        follows = previous_end >= 0 and _RANGE_JOIN.fullmatch(view, previous_end, start) is not None
        slots.append(Slot(first, last + 1, found.group(), _PERCENT_AFTER.match(view, end) is not None,
                          _UNIT_AFTER.match(view, end) is not None, follows))
        previous_end = end
    return tuple(slots)


# ---- templates ------------------------------------------------------------------------------------


def _kind(lcd_id: str) -> str:
    """The synthetic id prefix for a template id."""
    if lcd_id.startswith("NCD"):
        return "NCD"
    return "A" if re.fullmatch(r"A\d+", lcd_id) else "L"


def load_template(path: Path, root: Path = TEMPLATE_ROOT) -> Template:
    """One raw_docs file as a template: its texts, their numbers and its normalised word count."""
    document = read_document(path, root)
    raw = path.read_text(encoding="utf-8")
    record: dict[str, Any] | None = None
    if path.suffix == ".json":
        record = json.loads(raw)
        texts = [(key, value) for key, value in record.items() if isinstance(value, str)]
        parts = tuple(Field(key, value, find_slots(value) if key in JSON_POLICY_FIELDS else ()) for key, value in texts)
    else:
        parts = (Field("", raw, find_slots(raw, is_txt=True)),)
    return Template(path.parent.name, int(path.stem), _kind(path.parent.name), path.suffix[1:], record, parts,
                    len(document.text.split()))


def load_templates(root: Path = TEMPLATE_ROOT) -> tuple[Template, ...]:
    """Every .txt and .json document under `root` that has numbers to vary, in path order."""
    paths = sorted(p for p in root.glob("*/*") if p.suffix in (".txt", ".json") and p.stem.isdigit())
    return tuple(template for template in map(load_template, paths) if template.slots)


# ---- varying the numbers --------------------------------------------------------------------------


def _format(value: float, decimals: int, commas: bool) -> str:
    """A number written like the original: same decimal places, thousands separators if it had them."""
    return f"{value:{',' if commas else ''}.{decimals}f}"


def vary(written: str, factor: float, percent: bool, rng: random.Random) -> str:
    """`written` scaled by `factor`, always different, positive, same format; percentages stay <= 100."""
    decimals = len(written.split(".")[1]) if "." in written else 0
    value = float(written.replace(",", ""))
    step = 10.0 ** -decimals
    new = round(value * factor, decimals)
    if new == value:
        new = round(value + step * rng.choice((-1, 1)), decimals)
    if new <= 0:
        new = round(value + step, decimals)
    if percent and value <= 100 < new:
        new = round(value - step, decimals) if value >= 100 else 100.0
    return _format(new, decimals, "," in written)


def runs(slots: Sequence[Slot]) -> list[list[int]]:
    """Slot indexes grouped into ranges ("2-5 days" is one run of two): a run is varied as one."""
    grouped: list[list[int]] = []
    for index, slot in enumerate(slots):
        if slot.follows and grouped:
            grouped[-1].append(index)
        else:
            grouped.append([index])
    return grouped


def vary_run(values: list[str], slots: Sequence[Slot], run: list[int], rng: random.Random) -> None:
    """Vary one run in place with one factor, keeping a rising range rising and percentages <= 100."""
    percent = any(slots[i].percent for i in run)  # "30-40%": the "%" covers both ends
    before = [_num(values[i]) for i in run]
    factor = rng.uniform(*FACTOR_RANGE)
    if percent and max(before) <= 100:
        factor = min(factor, 100 / max(before))
    for position, index in enumerate(run):
        values[index] = vary(values[index], factor, percent, rng)
        previous = _num(values[run[position - 1]]) if position else 0.0
        if position and before[position] > before[position - 1] and _num(values[index]) <= previous:
            decimals = len(values[index].split(".")[1]) if "." in values[index] else 0
            raised = previous + before[position] - before[position - 1]
            values[index] = _format(min(raised, 100.0) if percent else raised, decimals, "," in values[index])


def _num(written: str) -> float:
    """The value of a written number."""
    return float(written.replace(",", ""))


def first_values(template: Template, rng: random.Random) -> tuple[str, ...]:
    """Every number of the template varied: the numbers of a new corpus member."""
    slots = template.slots
    values = [slot.written for slot in slots]
    for run in runs(slots):
        vary_run(values, slots, run, rng)
    return tuple(values)


def revised_values(template: Template, values: Sequence[str], rng: random.Random) -> tuple[str, ...]:
    """A later version: one to three runs (measurements with a unit preferred) changed again."""
    slots = template.slots
    grouped = runs(slots)
    measured = [run for run in grouped if any(slots[i].unit for i in run)] or grouped
    new = list(values)
    for run in rng.sample(measured, min(len(measured), rng.randint(1, 3))):
        vary_run(new, slots, run, rng)
    return tuple(new)


# ---- writing documents ----------------------------------------------------------------------------


def splice(value: str, slots: Sequence[Slot], values: Sequence[str]) -> str:
    """`value` with each slot's number replaced by its new value."""
    pieces, position = [], 0
    for slot, new in zip(slots, values):
        pieces += [value[position:slot.start], new]
        position = slot.end
    pieces.append(value[position:])
    return "".join(pieces)


def _field_values(template: Template, values: Sequence[str]) -> Iterator[tuple[Field, Sequence[str]]]:
    """Each field with its share of the flat value list."""
    position = 0
    for field in template.fields:
        yield field, values[position:position + len(field.slots)]
        position += len(field.slots)


def synthetic_id(kind: str, index: int) -> str:
    """The corpus id of member `index`: L900042, A900042 or NCD990.42."""
    return f"NCD990.{index}" if kind == "NCD" else f"{kind}9{index:05d}"


def _replace_id(text: str, old: str, new: str) -> str:
    """Every whole-token occurrence of the template's own id replaced by the synthetic one."""
    return re.sub(rf"(?<![A-Za-z0-9.]){re.escape(old)}(?![A-Za-z0-9]|\.\d)", new, text)


def render_txt(template: Template, lcd_id: str, version: int, values: Sequence[str]) -> str:
    """The .txt document: numbers varied, own id and "... Version:" header rewritten."""
    field = template.fields[0]
    text = _replace_id(splice(field.value, field.slots, values), template.lcd_id, lcd_id)
    return _VERSION_LINE.sub(lambda found: f"{found.group(1)}{version}", text, count=1)


def _same_type(old: Any, new: int) -> Any:
    """`new` as an int or a str, like the value it replaces."""
    return new if isinstance(old, int) else str(new)


def render_json(template: Template, lcd_id: str, version: int, values: Sequence[str]) -> str:
    """The .json record: numbers varied, id/display id/version/NCD chapter and url rewritten."""
    assert template.record is not None
    record = dict(template.record)
    for field, share in _field_values(template, values):
        record[field.key] = _replace_id(splice(field.value, field.slots, share), template.lcd_id, lcd_id)
    number = int(lcd_id.split(".")[-1]) + 900000 if template.kind == "NCD" else int(lcd_id[1:])
    record["document_id"] = _same_type(record.get("document_id"), number)
    record["document_version"] = _same_type(record.get("document_version"), version)
    record["document_display_id"] = lcd_id[3:] if template.kind == "NCD" else lcd_id
    if template.kind == "NCD":
        record["chapter"] = "990"
        if isinstance(record.get("url"), str):
            record["url"] = re.sub(r"ncdid=\d+&ncdver=\d+", f"ncdid={number}&ncdver={version}", record["url"])
    return json.dumps(record, indent=4)


class PrintedLcd(FPDF):
    """A Letter page with a running header and a "Page N of M" footer, like a printed MCD page."""

    def header(self) -> None:
        self.set_font("Helvetica", size=8)
        self.cell(0, 5, RUNNING_HEADER, new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", size=10)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="C")
        self.set_font("Helvetica", size=10)


def wrap(line: str, width: float, widths: dict[str, int], size: float) -> list[str]:
    """`line` broken at spaces into lines no wider than `width` points (overlong words split)."""
    scale = size / 1000
    out: list[str] = []
    current, current_width = "", 0.0
    for word in line.split(" "):
        word_width = sum(widths.get(char, 500) for char in word) * scale
        while word_width > width and len(word) > 1:  # a URL longer than the line: hard split
            cut = max(1, int(len(word) * width / word_width))
            if current:
                out.append(current)
            out.append(word[:cut])
            current, current_width = "", 0.0
            word = word[cut:]
            word_width = sum(widths.get(char, 500) for char in word) * scale
        space = widths.get(" ", 278) * scale if current else 0.0
        if current and current_width + space + word_width > width:
            out.append(current)
            current, current_width = word, word_width
        else:
            current = f"{current} {word}" if current else word
            current_width += space + word_width
    out.append(current)
    return out


def typeset_pdf(text: str) -> tuple[bytes, int]:
    """A printed-LCD PDF of `text` (one paragraph per line, leading spaces as indent) and its page count."""
    text = text.translate(LATIN1_SAFE).encode("latin-1", "replace").decode("latin-1")
    pdf = PrintedLcd(format="Letter")
    pdf.set_creation_date(PDF_CREATED)
    pdf.set_margins(20, 15, 20)
    # Lines are placed with FPDF.text after our own wrapping: multi_cell's per-character layout is
    # ~80 ms a page, which would make PDFs most of a 5,000-LCD build.
    pdf.set_auto_page_break(False)
    pdf.add_page()
    widths, line_height, top, bottom = pdf.current_font.cw, 4.5, 28.0, pdf.h - 18
    y = top
    for raw in text.split("\n"):
        if not raw.strip():
            y += line_height
            continue
        x = pdf.l_margin + (len(raw) - len(raw.lstrip(" "))) * 2
        for piece in wrap(raw.strip(), (pdf.w - pdf.r_margin - x) * pdf.k, widths, 10):
            if y > bottom:
                pdf.add_page()
                y = top
            pdf.text(x, y, piece)
            y += line_height
        y += 2.5
    return bytes(pdf.output()), pdf.page_no()


def pdf_source_text(template: Template, document: str) -> str:
    """The text a PDF member is typeset from: .txt lines as written, a record as the reader normalises it."""
    if template.fmt == "txt":
        return document
    text, _ = render(read_json(document.encode("utf-8")).blocks)
    return text


def plan(n_lcds: int, seed: int, pdf_share: float, revised_share: float, templates: Sequence[Template]) -> list[Plan]:
    """Which template, id and format each member gets; PDF and revised members drawn by the seed."""
    chooser = random.Random(f"scale-corpus:{seed}:choose")
    pdfs = set(chooser.sample(range(n_lcds), round(n_lcds * pdf_share)))
    revised = set(chooser.sample(range(n_lcds), round(n_lcds * revised_share)))
    cycle = [templates[k % len(templates)] for k in range(n_lcds)]
    return [Plan(k, t, synthetic_id(t.kind, k), k in pdfs, k in revised) for k, t in enumerate(cycle)]


# ---- the corpus folder ----------------------------------------------------------------------------


def is_scale_corpus(folder: Path) -> bool:
    """A folder this module wrote: its marker, and nothing but synthetic-id folders of version files."""
    if not (folder / MARKER).is_file():
        return False
    for entry in folder.iterdir():
        if entry.name == MARKER:
            continue
        if not (entry.is_dir() and SYNTHETIC_ID.fullmatch(entry.name)):
            return False
        if not all(child.is_file() and VERSION_FILE.fullmatch(child.name) for child in entry.iterdir()):
            return False
    return True


def prepare_output(out: Path) -> None:
    """Create `out` empty; a previous scale corpus there is replaced, anything else is refused."""
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not is_scale_corpus(out):
            raise FileExistsError(f"{out} is not empty and holds no scale corpus ({MARKER}); refusing to write into it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


class _Writer:
    """Writes member files, keeping every file's bytes distinct and adding up the CorpusInfo figures."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.digests: set[str] = set()
        self.numbers: dict[tuple[str, int], set[tuple[str, ...]]] = {}  # per template: number sets used
        self.files = self.bytes = self.words = self.pdf_files = self.pdf_pages = self.repeats = 0

    def encode(self, member: Plan, text: str) -> tuple[bytes, int]:
        """The file bytes of one version (typeset when the member is a PDF) and its page count."""
        if member.pdf:
            return typeset_pdf(pdf_source_text(member.template, text))
        return text.encode("utf-8"), 0

    def fresh(self, data: bytes) -> bool:
        """Whether no file written so far has these bytes."""
        return hashlib.sha256(data).hexdigest() not in self.digests

    def used(self, template: Template) -> set[tuple[str, ...]]:
        """The number sets already given to copies of `template`."""
        return self.numbers.setdefault((template.lcd_id, template.version), set())

    def write(self, member: Plan, version: int, data: bytes, pages: int) -> None:
        """Write one version file and count it."""
        extension = "pdf" if member.pdf else member.template.fmt
        folder = self.out / member.lcd_id
        folder.mkdir(exist_ok=True)
        (folder / f"{version}.{extension}").write_bytes(data)
        self.digests.add(hashlib.sha256(data).hexdigest())
        self.files += 1
        self.bytes += len(data)
        self.words += member.template.words
        self.pdf_files += bool(member.pdf)
        self.pdf_pages += pages


def _render(member: Plan, version: int, values: Sequence[str]) -> str:
    """The document text of one version of a member."""
    make = render_txt if member.template.fmt == "txt" else render_json
    return make(member.template, member.lcd_id, version, values)


def _member_values(writer: _Writer, member: Plan, seed: int) -> tuple[str, ...]:
    """The member's numbers, rerolled (up to REROLLS times) while another copy of its template has them."""
    used = writer.used(member.template)
    for attempt in range(REROLLS):
        values = first_values(member.template, random.Random(f"scale-corpus:{seed}:{member.index}:{attempt}"))
        if values not in used:
            break
    else:
        # A template with one or two small numbers has only a few dozen variants: repeats are counted.
        writer.repeats += 1
    used.add(values)
    return values


def write_member(writer: _Writer, member: Plan, seed: int) -> None:
    """Write a member's first version and, if revised, its next one; reroll the numbers on a byte clash."""
    template = member.template
    values = _member_values(writer, member, seed)
    for attempt in range(REROLLS):
        # The ids make clashes all but impossible; a clash rerolls the numbers rather than writing twins.
        data, pages = writer.encode(member, _render(member, template.version, values))
        if writer.fresh(data):
            break
        values = first_values(template, random.Random(f"scale-corpus:{seed}:{member.index}:clash{attempt}"))
    else:
        raise RuntimeError(f"{member.lcd_id}: no distinct variant of {template.lcd_id} in {REROLLS} attempts")
    writer.write(member, template.version, data, pages)
    if not member.revised:
        return
    for attempt in range(REROLLS):
        revised = revised_values(template, values, random.Random(f"scale-corpus:{seed}:{member.index}:rev{attempt}"))
        data, pages = writer.encode(member, _render(member, template.version + 1, revised))
        if revised != values and writer.fresh(data):
            break
    else:
        raise RuntimeError(f"{member.lcd_id}: no distinct revision in {REROLLS} attempts")
    writer.write(member, template.version + 1, data, pages)


def build_corpus(
    n_lcds: int, out: Path, seed: int = 0, pdf_share: float = 0.05, revised_share: float = 0.2
) -> CorpusInfo:
    """Write `n_lcds` synthetic LCDs (varied copies of raw_docs) to out/<LCD_ID>/<VERSION>.<ext>."""
    if not 1 <= n_lcds <= MAX_LCDS:
        raise ValueError(f"n_lcds must be between 1 and {MAX_LCDS}, got {n_lcds}")
    if not (0 <= pdf_share <= 1 and 0 <= revised_share <= 1):
        raise ValueError("pdf_share and revised_share must be between 0 and 1")
    started = time.perf_counter()
    out = Path(out)
    prepare_output(out)
    templates = load_templates()
    writer = _Writer(out)
    members = plan(n_lcds, seed, pdf_share, revised_share, templates)
    for member in members:
        write_member(writer, member, seed)
    parameters = {"generator": "bench/scale_corpus.py", "n_lcds": n_lcds, "seed": seed, "pdf_share": pdf_share,
                  "revised_share": revised_share, "templates": [f"{t.lcd_id}/{t.version}.{t.fmt}" for t in templates]}
    (out / MARKER).write_text(json.dumps(parameters, indent=2) + "\n", encoding="utf-8")
    return CorpusInfo(n_lcds, writer.files, writer.files, writer.bytes, writer.words, writer.pdf_files,
                      writer.pdf_pages, writer.repeats, round(time.perf_counter() - started, 2))


def corpus_digest(out: Path) -> str:
    """One sha256 over every document file's relative path and bytes (the marker excluded)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(out).rglob("*") if p.is_file() and p.name != MARKER):
        digest.update(path.relative_to(out).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: build a corpus and print its CorpusInfo."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        epilog="Example: .venv/bin/python bench/scale_corpus.py --n 940 --out /tmp/corpus940 --seed 0",
    )
    parser.add_argument("--n", type=int, required=True, help="number of LCDs")
    parser.add_argument("--out", type=Path, required=True, help="output folder (new, empty, or a previous corpus)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pdf-share", type=float, default=0.05)
    parser.add_argument("--revised-share", type=float, default=0.2)
    args = parser.parse_args(argv)
    try:
        info = build_corpus(args.n, args.out, args.seed, args.pdf_share, args.revised_share)
    except (ValueError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for field in fields(info):
        print(f"{field.name:14} {getattr(info, field.name)}")
    print(f"{'sha256':14} {corpus_digest(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
