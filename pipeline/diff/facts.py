"""What a version says as policy (a snapshot of its facts) and what changed between two of them."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.datamodel import Document, Extraction, Section

CHANGE_TYPES = (
    "indication_added",
    "indication_removed",
    "coverage_changed",
    "dose_added",
    "dose_removed",
    "dose_changed",
    "threshold_added",
    "threshold_removed",
    "threshold_changed",
    "criterion_added",
    "criterion_removed",
    "text_changed",  # a policy sentence whose numbers or negation changed, with no fact change saying so
)


@dataclass(frozen=True)
class IndicationFact:
    """One mention of an indication in a version."""

    name: str
    normalized_name: str
    coverage: str
    section: str  # section kind: policy | evidence | other
    section_name: str  # canonical name of the section it sits in, or its kind when unknown
    sentence: str | None
    char_start: int | None


@dataclass(frozen=True)
class DoseFact:
    """A dose, with the normalized name of its indication (None if policy-wide)."""

    indication: str | None
    drug: str | None
    amount_low: float
    amount_high: float
    unit: str
    frequency: str | None
    phase: str | None
    section: str
    section_name: str
    text: str
    sentence: str | None


@dataclass(frozen=True)
class ThresholdFact:
    """A numeric limit, with the normalized name of its indication (None if policy-wide)."""

    indication: str | None
    measure: str
    comparator: str
    value: float
    value_high: float | None
    unit: str | None
    polarity: str
    section: str
    section_name: str
    text: str
    sentence: str | None


@dataclass(frozen=True)
class CriterionFact:
    """A non-numeric criterion, with the normalized and written name of its indication."""

    indication: str | None
    indication_name: str | None
    kind: str
    text: str
    section: str
    section_name: str


@dataclass(frozen=True)
class PolicySnapshot:
    """Every fact of one version, in document order; the diff decides which ones are policy."""

    lcd_id: str
    version: str
    version_key: int | None
    indications: tuple[IndicationFact, ...] = ()
    doses: tuple[DoseFact, ...] = ()
    thresholds: tuple[ThresholdFact, ...] = ()
    criteria: tuple[CriterionFact, ...] = ()
    policy_text: tuple[tuple[str, str], ...] = ()  # (section name, text) of each policy section, in order


@dataclass(frozen=True)
class PolicyChange:
    """One policy change between two versions, in readable form."""

    change_type: str  # one of CHANGE_TYPES
    subject: str  # indication name, "<drug> dose" or the threshold's measure
    before: str | None
    after: str | None
    before_sentence: str | None = None
    after_sentence: str | None = None
    indication: str | None = None  # normalized name of the indication concerned
    section: str | None = None  # name of the section the fact sits in
    parent: int | None = None  # index (in the same diff) of the indication added/removed it belongs to


def section_name_at(sections: tuple[Section, ...], offset: int | None, kind: str) -> str:
    """Name of the section containing `offset`, falling back to the fact's section kind."""
    if offset is not None:
        for section in sections:
            if section.start <= offset < section.end:
                return section.name
    return kind


def snapshot_of(doc: Document, extraction: Extraction, version_key: int | None = None) -> PolicySnapshot:
    """The snapshot of a document not (necessarily) in the warehouse, e.g. for `lcd extract`/tests."""
    by_id = {ind.local_id: ind for ind in extraction.indications}

    def name_of(local_id: int | None) -> str | None:
        return by_id[local_id].normalized_name if local_id in by_id else None

    def where(offset: int | None, kind: str) -> str:
        return section_name_at(doc.sections, offset, kind)

    indications = tuple(
        IndicationFact(i.name, i.normalized_name, i.coverage, i.section, where(i.char_start, i.section), i.sentence, i.char_start)
        for i in extraction.indications
    )
    doses = tuple(
        DoseFact(
            name_of(d.indication_id), d.drug, d.amount_low, d.amount_high, d.unit, d.frequency, d.phase,
            d.section, where(d.char_start, d.section), d.text, d.sentence or None,
        )
        for d in extraction.doses
    )
    thresholds = tuple(
        ThresholdFact(
            name_of(t.indication_id), t.measure, t.comparator, t.value, t.value_high, t.unit, t.polarity,
            t.section, where(t.char_start, t.section), t.text, t.sentence or None,
        )
        for t in extraction.thresholds
    )
    criteria = tuple(
        CriterionFact(
            name_of(c.indication_id),
            by_id[c.indication_id].name if c.indication_id in by_id else None,
            c.kind, c.text, c.section, where(c.char_start, c.section),
        )
        for c in extraction.criteria
    )
    return PolicySnapshot(doc.lcd_id, doc.version, version_key, indications, doses, thresholds, criteria, policy_texts(doc.text, doc.sections))


def policy_texts(text: str, sections: tuple[Section, ...]) -> tuple[tuple[str, str], ...]:
    """(section name, text) of each policy section of a version's normalised text."""
    return tuple((s.name, text[s.start : s.end]) for s in sections if s.kind == "policy")
