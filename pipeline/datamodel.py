"""The records that flow between ingest, extract, load, diff and report.

Plain frozen dataclasses: every stage is a pure function from one of these to the next, so each stage
can be tested alone and the Prefect flow only wires them together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

# Section kinds as stored in the warehouse (`section` columns).
SECTION_KINDS = ("policy", "evidence", "other")
COVERAGE_VALUES = ("covered", "not_covered", "unclear")
COMPARATORS = ("<", "<=", ">", ">=", "=", "between")
POLARITIES = ("inclusion", "exclusion")
PHASES = ("induction", "maintenance", "prophylaxis")


@dataclass(frozen=True)
class Section:
    """A titled region of a document's normalised text: `text[start:end]`, heading line included."""

    name: str  # canonical name, e.g. "coverage_indications", "summary_of_evidence", "bibliography"
    heading: str  # the heading as written ("" for a leading untitled region)
    kind: str  # one of SECTION_KINDS
    start: int
    end: int


@dataclass(frozen=True)
class DocumentMeta:
    """What the document says about itself; `None` where it does not say."""

    lcd_id: str | None = None
    version: str | None = None
    title: str | None = None
    contractor: str | None = None
    effective_date: date | None = None
    original_effective_date: date | None = None
    document_type: str | None = None  # "LCD", "NCD", "Article"


@dataclass(frozen=True)
class Document:
    """One version of one LCD as read from a source file.

    `text` is the normalised text every offset in the warehouse points into: one paragraph or list
    item per line, list items start with "- " (nested items are indented by two spaces per level),
    headings stand on their own line.
    """

    text: str
    sections: tuple[Section, ...]
    meta: DocumentMeta
    source_path: str
    source_sha256: str
    source_format: str  # "txt" | "html" | "json" | "pdf"
    lcd_id: str  # resolved identity: metadata wins over the path for nothing but title/contractor/dates
    version: str
    pages: int | None = None  # PDF page count; None for other formats

    def section_at(self, offset: int) -> Section | None:
        """The section containing character `offset`, if any."""
        for section in self.sections:
            if section.start <= offset < section.end:
                return section
        return None


@dataclass(frozen=True)
class Indication:
    """A condition or clinical situation the policy names as covered or not covered."""

    local_id: int  # index within its Extraction; facts refer to it by this id
    name: str  # as written
    normalized_name: str  # lower-case, canonical spelling, used to align versions
    coverage: str  # one of COVERAGE_VALUES
    section: str  # one of SECTION_KINDS
    sentence: str
    char_start: int
    char_end: int
    confidence: float
    icd10_codes: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # other surface forms merged into this indication


@dataclass(frozen=True)
class Dose:
    """A dose of a drug, optionally tied to an indication."""

    indication_id: int | None
    drug: str | None
    amount_low: float
    amount_high: float
    unit: str
    frequency: str | None
    phase: str | None  # one of PHASES or None
    section: str
    text: str
    char_start: int
    char_end: int
    sentence: str = ""


@dataclass(frozen=True)
class Threshold:
    """A numeric limit a patient or service must meet (inclusion) or that rules coverage out (exclusion)."""

    indication_id: int | None
    measure: str
    comparator: str  # one of COMPARATORS
    value: float
    value_high: float | None
    unit: str | None
    polarity: str  # one of POLARITIES
    section: str
    text: str
    char_start: int
    char_end: int
    sentence: str = ""


@dataclass(frozen=True)
class Criterion:
    """A non-numeric condition attached to an indication (a list item under "the following criteria")."""

    indication_id: int | None
    kind: str  # "requirement" | "exclusion" | "documentation"
    text: str
    section: str
    char_start: int
    char_end: int


@dataclass(frozen=True)
class Extraction:
    """Everything extracted from one Document."""

    indications: tuple[Indication, ...] = ()
    doses: tuple[Dose, ...] = ()
    thresholds: tuple[Threshold, ...] = ()
    criteria: tuple[Criterion, ...] = ()
    extractor_version: str = ""
    notes: tuple[str, ...] = field(default=())
