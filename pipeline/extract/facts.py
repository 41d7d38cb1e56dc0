"""Doses and thresholds: classify the numeric mentions of a document and read their context.

A quantity with a drug-amount unit and no comparator is a dose; a quantity with a comparator (or a
range under a named measure) is a threshold. Numbers in study descriptions ("13 of 31 patients",
"a median of 55 months (range 1 to 161 months)") and schedule words ("every six weeks", "over five
days") are context, not limits, and are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.extract.lexicon import Lexicon
from pipeline.extract.numbers import Quantity

DOSE_UNITS = frozenset({"g/kg", "mg/kg", "mcg/kg", "units/kg", "IU/kg", "mg", "g", "mcg", "units", "IU", "mg/m2", "g/kg/day", "mg/kg/day", "mg/day", "mcg/day", "IU/day", "units/day", "mL", "mg/week", "mg/month"})
SCHEDULE_WORDS = ("every", "per", "once", "twice", "over", "each", "q")
COUNT_RE = re.compile(r"^\s*(?:\(\d+\)\s*)?(?:[a-z][a-z\-]+\s*){1,6}", re.I)


@dataclass(frozen=True)
class FactContext:
    """The sentence a quantity sits in and what the sentence says around it."""

    sentence_start: int
    sentence_end: int
    section_kind: str
    negative: bool  # the sentence or its list says "not covered", "not indicated", ...


def is_dose(q: Quantity) -> bool:
    """A drug amount stated as a value, not a limit."""
    return q.unit in DOSE_UNITS and q.comparator in (None, "between", "=") and not _is_per_time_limit(q)


def _is_per_time_limit(q: Quantity) -> bool:
    return False


def in_outcome_context(text: str, q: Quantity, sentence_start: int, lexicon: Lexicon) -> bool:
    """True for numbers that describe study results rather than policy limits."""
    window = text[max(sentence_start, q.start - 60) : q.start].lower()
    after = text[q.end : q.end + 25].lower()
    if re.search(r"\b(?:of|out of)\s+\d", after) or re.match(r"\s*patients\b", after):
        return True
    if re.search(r"\(\s*(?:range|ci|95%|p\s*[<=])", window[-20:]):
        return True
    sentence_prefix = text[sentence_start : q.start].lower()
    hits = sum(1 for word in lexicon.outcome_context if re.search(rf"\b{re.escape(word)}\b", sentence_prefix))
    return hits >= 1 and not re.search(r"\b(?:must|required|requires|criteria|covered|eligible|indicated|necessary)\b", sentence_prefix)


def is_schedule(text: str, q: Quantity) -> bool:
    """"every six weeks", "over five days", "per month": a schedule, not a threshold."""
    before = text[max(0, q.start - 12) : q.start].lower()
    return bool(re.search(r"\b(?:every|over|per|each|for|at|on|through|divided)\s*$", before)) and q.comparator in (None, "between")


def measure_for(text: str, q: Quantity, sentence_start: int, lexicon: Lexicon) -> str:
    """What a threshold limits: a known measure nearby, "age" for years of age, else the words around it."""
    after = text[q.end : q.end + 40].lower()
    before = text[max(sentence_start, q.start - 60) : q.start]
    own = text[q.start : q.end].lower()
    if q.unit == "years" and (
        re.search(r"\b(?:of age|old|aged)\b", own)
        or re.match(r"\s*(?:of age|old)", after)
        or re.search(r"\b(?:age|aged)\b[^.]{0,20}$", before.lower())
    ):
        return "age"
    if q.unit is None and re.match(r"\s+[a-z]", after):
        # "at least one acute infection requiring ...": a count of what follows
        tail = re.match(r"\s*((?:[a-z][a-z\-]*\s*){1,4})", text[q.end : q.end + 60])
        phrase = re.split(r"\b(?:and|or|who|that|which|with|for|to|in|of|per|within|during)\b", tail.group(1))[0].strip() if tail else ""
        if phrase:
            return phrase
    before = re.split(r"[;:()]|\band\b|\bor\b|,", before)[-1]  # the measure sits in the same clause
    lowered_before = before.lower()
    best: tuple[int, str] | None = None
    for measure in lexicon.measures:
        for match in re.finditer(rf"(?<![a-z0-9]){re.escape(measure)}(?![a-z0-9])", lowered_before):
            if best is None or match.end() > best[0]:
                best = (match.end(), measure)
    if best:
        return before[best[0] - len(best[1]) : best[0]].strip()
    if q.unit in (None, "count") or q.unit in ("days", "weeks", "months", "years", "hours"):
        tail = re.match(r"\s*((?:[A-Za-z][A-Za-z\-]*\s*){1,5})", text[q.end : q.end + 60])
        if tail:
            phrase = re.split(r"\b(?:and|or|who|that|which|with|for|to|in|of)\b", tail.group(1))[0].strip()
            if phrase:
                return f"{q.unit_text} {phrase}".strip() if q.unit not in (None, "count") else phrase
    words_before = re.findall(r"[A-Za-z][A-Za-z0-9\-/]*", before)
    stop = {"of", "the", "a", "an", "is", "are", "be", "than", "at", "least", "less", "more", "greater", "to", "or", "and", "with", "levels", "level", "value", "values", "has", "have", "must", "should", "no", "not", "equal", "minimum", "maximum", "up"}
    kept = [w for w in words_before[-4:] if w.lower() not in stop]
    return " ".join(kept[-2:]) if kept else (q.unit or "value")


def count_unit(text: str, q: Quantity) -> str | None:
    """Bare integers before a noun ("at least one acute infection") count things."""
    if q.unit is not None:
        return q.unit
    if q.low == int(q.low) and re.match(r"\s+[a-z]", text[q.end : q.end + 3]):
        return "count"
    return None


def frequency_near(text: str, q: Quantity, sentence_end: int, lexicon: Lexicon) -> str | None:
    """The schedule written right after a dose ("per month", "every six weeks", "on days -7 and -2")."""
    window = text[q.end : min(sentence_end, q.end + 90)]
    found = []
    for pattern in lexicon.frequency_patterns:
        match = re.search(rf"\b{pattern}\b" if pattern[0].isalpha() else pattern, window, flags=re.I)
        if match:
            found.append((match.start(), -(match.end() - match.start()), match.group().strip()))
    if not found:
        return None
    found.sort()
    return found[0][2]


def phase_near(text: str, start: int, windows: list[tuple[int, int]], lexicon: Lexicon) -> str | None:
    """Induction / maintenance / prophylaxis: the nearest phase word before the dose in its sentence, else after it,
    else in the wider windows given (the paragraph before, the indication's own statement)."""
    for window_start, window_end in windows:
        window = text[window_start:window_end].lower()
        before, after = None, None
        for phase, phrases in lexicon.phases.items():
            for phrase in phrases:
                for match in re.finditer(rf"\b{re.escape(phrase)}\b", window):
                    at = window_start + match.start()
                    if at < start and (before is None or at > before[0]):
                        before = (at, phase)
                    elif at >= start and (after is None or at < after[0]):
                        after = (at, phase)
        if before or after:
            return (before or after)[1]
    return None


def drug_near(text: str, q: Quantity, sentence_start: int, sentence_end: int, default: str | None, lexicon: Lexicon) -> str | None:
    """The drug a dose is of: "2 g/kg of IVIG", a drug word in the sentence, else the document's drug."""
    after = re.match(r"\s+of\s+([A-Za-z][A-Za-z0-9\-]+(?:\s+[a-z]+)?)", text[q.end : q.end + 40])
    if after and after.group(1).lower() not in ("body", "the", "a", "weight", "ideal"):
        return after.group(1).split()[0] if after.group(1).split()[0].isupper() else after.group(1)
    sentence = text[sentence_start:sentence_end].lower()
    for marker in lexicon.drug_markers:
        if re.search(rf"\b{re.escape(marker)}\b", sentence):
            return default if default and marker in default.lower() else marker.upper() if len(marker) <= 5 else marker
    return default
