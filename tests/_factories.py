"""Hand-built IVIG-like LCD versions (Document + Extraction) for the warehouse, diff and report tests.

Each version is built from its policy facts: the text is composed first, then every fact's offsets are
found in it, so offsets always point at the fact's words in the version's own text.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date

from pipeline.datamodel import Criterion, Document, DocumentMeta, Dose, Extraction, Indication, Section, Threshold

GVHD_CRITERIA = (
    "laboratory proven hypogammaglobulinemia",
    "at least one acute infection requiring hospitalization",
    "at least 100 days post transplant",
)


@dataclass(frozen=True)
class IvigSpec:
    """The policy one test version states; every field is one thing a revision may change."""

    lcd_id: str = "L35891"
    version: str = "35"
    effective_date: date | None = date(2024, 3, 1)
    title: str = "Immune Globulin Intravenous (IVIG)"
    contractor: str = "National Government Services, Inc."
    gvhd_coverage: str = "covered"
    dose_high: float = 1.5
    igg_comparator: str = "<"
    igg_value: float = 400.0
    criteria: tuple[str, ...] = GVHD_CRITERIA
    extra_indications: tuple[str, ...] = ()
    include_sps: bool = True
    evidence_dose: float = 2.0
    evidence_indication: str = "Kawasaki disease"
    reflowed: bool = False  # same facts, different layout, sentence order and a typo in a sentence
    salt: str = ""  # changes the bytes (hash) without changing the text's facts


def _policy_lines(spec: IvigSpec) -> list[str]:
    """The policy section's lines, in the order and wording the spec asks for."""
    verb = "is covered" if spec.gvhd_coverage == "covered" else "is not covered"
    igg = f"{spec.igg_comparator} {spec.igg_value:g} mg/dL"
    gvhd = (
        f"IVIG {verb} for chronic graft versus host disease when serum IgG is {igg}."
        if not spec.reflowed
        else f"For  chronic graft versus host disease, IVIG {verb} when the the serum IgG is {igg}."
    )
    dose = f"The dose for chronic graft versus host disease is 0.4–{spec.dose_high:g} g/kg monthly."
    sps = "IVIG is covered for stiff-person syndrome."
    criteria = [f"- {c}" for c in (reversed(spec.criteria) if spec.reflowed else spec.criteria)]
    extras = [f"IVIG is covered for {name}." for name in spec.extra_indications]
    head = [sps] if spec.include_sps else []
    body = [gvhd, "The following criteria must be met:", *criteria, dose]
    lines = [*extras, *head, *body] if spec.reflowed else [*body, *head, *extras]
    return ["Coverage Indications, Limitations, and/or Medical Necessity", *lines]


def _evidence_lines(spec: IvigSpec) -> list[str]:
    """The evidence section's lines: literature, not policy."""
    return [
        "Summary of Evidence",
        f"In one trial, patients with {spec.evidence_indication} received {spec.evidence_dose:g} g/kg once.",
    ]


def build_version(spec: IvigSpec | None = None, **changes: object) -> tuple[Document, Extraction]:
    """A Document and its Extraction for `spec` (with `changes` applied)."""
    spec = replace(spec or IvigSpec(), **changes)
    policy, evidence = _policy_lines(spec), _evidence_lines(spec)
    text = "\n".join(policy) + "\n" + "\n".join(evidence) + "\n"
    split = len("\n".join(policy)) + 1
    sections = (
        Section("coverage_indications", policy[0], "policy", 0, split),
        Section("summary_of_evidence", evidence[0], "evidence", split, len(text)),
    )
    finder = _Finder(text)
    indications: list[Indication] = []

    def indication(name: str, coverage: str, section: str) -> int:
        start = finder.find(name, after=split if section == "evidence" else 0)
        local_id = len(indications)
        indications.append(
            Indication(local_id, name, name.lower(), coverage, section, finder.sentence(start), start, start + len(name), 0.9)
        )
        return local_id

    gvhd = indication("chronic graft versus host disease", spec.gvhd_coverage, "policy")
    if spec.include_sps:
        indication("stiff-person syndrome", "covered", "policy")
    for name in spec.extra_indications:
        indication(name, "covered", "policy")
    indication(spec.evidence_indication, "covered", "evidence")

    dose_text = f"0.4–{spec.dose_high:g} g/kg monthly"
    dose_at = finder.find(dose_text)
    evidence_text = f"{spec.evidence_dose:g} g/kg"
    evidence_at = finder.find(evidence_text, after=split)
    doses = (
        Dose(gvhd, "IVIG", 0.4, spec.dose_high, "g/kg", "monthly", None, "policy", dose_text, dose_at,
             dose_at + len(dose_text), finder.sentence(dose_at)),
        Dose(None, "IVIG", spec.evidence_dose, spec.evidence_dose, "g/kg", "once", None, "evidence", evidence_text,
             evidence_at, evidence_at + len(evidence_text), finder.sentence(evidence_at)),
    )
    igg_text = f"IgG is {spec.igg_comparator} {spec.igg_value:g} mg/dL"
    igg_at = finder.find(igg_text)
    thresholds = (
        Threshold(gvhd, "IgG", spec.igg_comparator, spec.igg_value, None, "mg/dL", "inclusion", "policy", igg_text,
                  igg_at, igg_at + len(igg_text), finder.sentence(igg_at)),
    )
    criteria = tuple(
        sorted(
            (Criterion(gvhd, "requirement", c, "policy", finder.find(c), finder.find(c) + len(c)) for c in spec.criteria),
            key=lambda criterion: criterion.char_start,  # document order, as an extractor emits them
        )
    )
    raw = f"{spec.lcd_id}|{spec.version}|{spec.salt}|{text}".encode()
    doc = Document(
        text=text,
        sections=sections,
        meta=DocumentMeta(spec.lcd_id, spec.version, spec.title, spec.contractor, spec.effective_date, None, "LCD"),
        source_path=f"raw_docs/{spec.lcd_id}/{spec.version}.txt",
        source_sha256=hashlib.sha256(raw).hexdigest(),
        source_format="txt",
        lcd_id=spec.lcd_id,
        version=spec.version,
    )
    extraction = Extraction(tuple(indications), doses, thresholds, criteria, extractor_version="test-1")
    return doc, extraction


class _Finder:
    """Offsets and sentences of phrases in one text."""

    def __init__(self, text: str) -> None:
        self.text = text

    def find(self, phrase: str, after: int = 0) -> int:
        """Start of the first `phrase` at or after `after`; a missing phrase is a broken fixture."""
        start = self.text.find(phrase, after)
        if start < 0:
            raise AssertionError(f"fixture text lacks {phrase!r}")
        return start

    def sentence(self, offset: int) -> str:
        """The line (one sentence or list item in these fixtures) containing `offset`."""
        start = self.text.rfind("\n", 0, offset) + 1
        end = self.text.find("\n", offset)
        return self.text[start:end]
