"""Doses and thresholds: classify the numeric mentions of a document and read their context.

A quantity with a drug-amount unit and no comparator is a dose; a quantity with a comparator (or a
range under a named measure) is a threshold. Numbers in study descriptions ("13 of 31 patients",
"a median of 55 months (range 1 to 161 months)") and schedule words ("every six weeks", "over five
days") are context, not limits, and are skipped.
"""

from __future__ import annotations

import re

from pipeline.extract.lexicon import Lexicon, phrase_patterns
from pipeline.extract.numbers import Quantity

DOSE_UNITS = frozenset({"g/kg", "mg/kg", "mcg/kg", "units/kg", "IU/kg", "mg", "g", "mcg", "units", "IU", "mg/m2", "g/kg/day", "mg/kg/day", "mg/day", "mcg/day", "IU/day", "units/day", "mL", "mg/week", "mg/month"})
# Nouns that only say what is counted (models/ANNOTATION.md §5: a count's unit is `count`, the counted thing
# goes to the measure): the scorer compares them equal to "count", as an extraction that keeps the noun ("12
# visits" -> "visits") states the same number. "units"/"IU" are NOT here: they are
# amounts of a drug (botulinum toxin, vitamin D), i.e. doses.
COUNT_UNITS = frozenset(
    "count counts visit visits session sessions treatment treatments cycle cycles dose doses injection injections "
    "infusion infusions event events episode episodes attack attacks site sites level levels tablet tablets capsule "
    "capsules vial vials time times item items catheter catheters fracture fractures device devices test tests "
    "service services procedure procedures".split()
)
# The count units that number services or supplies: in a covering sentence a bare count of them is a maximum
# ("An additional 8 sessions will be covered": at most 8). Not every count noun ("at one level", "once").
SERVICE_COUNT_UNITS = COUNT_UNITS & frozenset({"visits", "sessions", "treatments", "injections", "procedures", "tests", "count", "catheters", "devices"})


def is_dose(q: Quantity) -> bool:
    """A drug amount stated as a value, not a limit."""
    return q.unit in DOSE_UNITS and q.comparator in (None, "between", "=")


_STUDY_WORDS_RE = re.compile(
    r"\b(?:study|studies|trial|trials|cohort|retrospective|prospective|case series|case reports?|median|mean|"
    r"hazard ratio|odds ratio|confidence interval|et al|patients achieved|were treated|reported|follow-up|followed for)\b",
    re.I,
)
_OUTCOME_RIGHT_BEFORE_RE = re.compile(r"\b(?:improvement|response|remission|reduction|survival|mortality)\b[^.;:]{0,30}$", re.I)


def in_outcome_context(text: str, q: Quantity, sentence_start: int, section_kind: str) -> bool:
    """True for numbers that describe study results rather than policy limits."""
    after = text[q.end : q.end + 25].lower()
    if re.search(r"^\s*(?:of|out of)\s+\d", after) or re.match(r"\s*patients\b", after):
        return True  # "13 of 31 patients"
    window = text[max(sentence_start, q.start - 20) : q.start].lower()
    if re.search(r"\(\s*(?:range|ci|95%|p\s*[<=])[^)]*$", window):
        return True
    prefix = text[sentence_start : q.start]
    timed = re.match(r"(?:within|after|up to)\b", text[q.start : q.end], re.I) or re.search(
        r"\b(?:within|after|up to)\s*$", text[max(0, q.start - 12) : q.start], re.I
    )
    if timed and _OUTCOME_RIGHT_BEFORE_RE.search(prefix):
        return True  # "partial improvement within four to six cycles": when an outcome was seen, not a limit
    if section_kind == "evidence" and _STUDY_WORDS_RE.search(text[sentence_start : q.end + 80]):
        return True
    return False


def is_schedule(text: str, q: Quantity) -> bool:
    """"every six weeks", "over five days", "per month": a schedule, not a threshold."""
    before = text[max(0, q.start - 12) : q.start].lower()
    return bool(re.search(r"\b(?:every|over|per|each|for|at|on|through|divided)\s*$", before)) and q.comparator in (None, "between")


FLIPPED = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_PROHIBITION_RE = re.compile(
    r"\b(?:must|may|should|shall|will|can|could|would)\s+not\b|\bcannot\b|\bprohibited\b|\bnot\s+(?:be\s+)?(?:allowed|permitted)\b",
    re.I,
)


def is_prohibition(text: str, q: Quantity, sentence_start: int) -> bool:
    """"a supplier must not dispense more than ...": the limit states what is not allowed."""
    return bool(_PROHIBITION_RE.search(text[sentence_start : q.start]))


_MEASURE_STOP = frozenset(
    {"of", "the", "a", "an", "is", "are", "be", "than", "at", "least", "less", "more", "greater", "to", "or", "and", "with",
     "levels", "level", "value", "values", "has", "have", "had", "must", "should", "no", "not", "equal", "minimum", "maximum",
     "up", "if", "for", "in", "on", "by", "who", "which", "that", "there", "patient", "patients", "consistent", "documented",
     "i.e", "e.g", "was", "were", "been", "show", "shows", "demonstrated", "measured", "when", "only", "any", "his", "her"}
)
_AFTER_STOP_RE = re.compile(r"\b(?:and|or|who|that|which|with|for|to|in|of|per|within|during|from|is|are|will|be|on|at|as|than|if)\b", re.I)


def _known_measure_before(before: str, lexicon: Lexicon) -> str | None:
    lowered = before.lower()
    best: tuple[int, str] | None = None
    # whole word, plural allowed
    for measure, pattern in phrase_patterns(lexicon.measures, r"(?<![a-z0-9]){}(?:s|es)?(?![a-z0-9])"):
        if measure not in lowered:
            continue  # the regex cannot match without the measure's own text: a cheap test before it
        for match in pattern.finditer(lowered):
            if best is None or match.end() > best[0] or (match.end() == best[0] and len(match.group()) > len(best[1])):
                best = (match.end(), match.group())
    if best:
        start = best[0] - len(best[1])
        # keep up to two words that qualify the measure ("palpebral fissure height", "serum albumin")
        qualifiers = re.search(r"((?:[A-Za-z][A-Za-z\-]+\s+){1,2})$", before[:start])
        if qualifiers:
            kept = [w for w in qualifiers.group(1).split() if w.lower() not in _MEASURE_STOP]
            if len(kept) == len(qualifiers.group(1).split()):
                start -= len(qualifiers.group(1))
        return before[start : best[0]].strip()
    return None


def _phrase_after(text: str, q: Quantity) -> str:
    """The noun phrase right after a quantity ("50% pain relief", "three A4624 catheters per day")."""
    tail = re.match(r"[ \t]*((?:[A-Za-z][\w\-/]*[ \t]*){1,4})", text[q.end : q.end + 60])
    if not tail:
        return ""
    phrase = _AFTER_STOP_RE.split(tail.group(1))[0].strip()
    rest = text[q.end + tail.start(1) + len(phrase) : q.end + 120]
    extra = re.match(r"(\s*\([A-Z][\w\-]{1,9}\))?(\s+per\s+[a-z]+)?", rest)
    if phrase and extra and (extra.group(1) or extra.group(2)):
        phrase += rest[: extra.end()]  # "catheters (A4628) per week"
    return phrase.strip()


def measure_for(text: str, q: Quantity, sentence_start: int, lexicon: Lexicon) -> str:
    """What a threshold limits: "age" for years of age, a defined abbreviation or known measure just before,
    the noun phrase after a percentage or count, else the content words before it."""
    after = text[q.end : q.end + 40].lower()
    before = text[max(sentence_start, q.start - 80) : q.start]
    own = text[q.start : q.end].lower()
    if q.unit == "years" and (
        re.search(r"\b(?:of age|old|aged)\b", own)
        or re.match(r"\s*(?:of age|old)", after)
        or re.search(r"\b(?:age|aged)\b[^.]{0,20}$", before.lower())
    ):
        return "age"
    if re.search(r"\(\s*$", before):
        aside = re.match(r"\s+((?:between|since|after|from|of|in)\s+[^()]{3,60}?)\s*\)", text[q.end : q.end + 80])
        if aside:  # "(>24 hours between symptomatic episodes)": the parenthesis names what is measured
            return f"{q.unit_text or q.unit or ''} {aside.group(1)}".strip()
    abbreviation = re.search(r"\(([A-Z][A-Za-z0-9\-]{1,9})\)\s*(?:of|is|was|:)?\s*$", before)
    if abbreviation:
        return abbreviation.group(1)  # "Roland Morris Disability Questionnaire (RDQ) > 17"
    if q.unit in (None, "count", "%"):
        phrase = _phrase_after(text, q)
        if phrase and (q.unit == "%" or q.unit is None and q.low == int(q.low)):
            return phrase  # "at least one acute infection", "50% pain relief"
    clause = re.split(r"[;:]|,\s|\band\b|\bor\b", before)[-1]
    known = _known_measure_before(clause, lexicon)
    if known:
        return known
    words_before = re.findall(r"[A-Za-z][A-Za-z0-9\-/]*", clause)
    kept = [w for w in words_before[-5:] if w.lower().strip(".") not in _MEASURE_STOP]
    if kept:
        return " ".join(kept[-3:])
    phrase = _phrase_after(text, q)
    return phrase or (q.unit or "value")


def count_unit(text: str, q: Quantity) -> str | None:
    """Bare integers before a noun ("at least one acute infection", "three A4624 catheters") count things."""
    if q.unit is not None:
        return q.unit
    if q.low == int(q.low) and re.match(r"[ \t]+[A-Za-z]", text[q.end : q.end + 3]):
        return "count"
    return None


_RELATIVE_COMPARATORS = (
    # (pattern before the number, pattern after it, comparator): phrasings the number parser leaves bare
    (re.compile(r"\b(?:during|within|in|for)\s+the\s+first\s*$", re.I), None, "<="),
    (re.compile(r"\b(?:a\s+)?(?:maximum|max\.?)\b(?:\s+[\w\-]+){0,3}\s+(?:of|is)\s*$", re.I), None, "<="),
    (re.compile(r"\b(?:a\s+)?(?:minimum|min\.?)\b(?:\s+[\w\-]+){0,3}\s+(?:of|is)\s*$", re.I), None, ">="),
    (re.compile(r"\bafter\s*$", re.I), re.compile(r"^\s+(?:have|has)\s+(?:elapsed|passed)", re.I), ">"),
    (re.compile(r"\bmore\s+(?:often|frequently)\s+than\s+(?:once\s+)?(?:every\s+)?$", re.I), None, "<"),
)


def refine_comparator(text: str, q: Quantity, previous: Quantity | None) -> str | None:
    """The comparator of a quantity, reading phrasings around it that the number parser does not."""
    before = text[max(0, q.start - 40) : q.start]
    after = text[q.end : q.end + 30]
    if q.comparator is not None:
        if re.match(r"(?:no|not)\s+(?:sooner|earlier)\s+than", text[q.start : q.end], re.I) and re.match(
            r"[^.;]{0,30}\b(?:prior to|before)\b", after, re.I
        ):
            return "<="  # "no sooner than 30 days prior to the end of the supply": at most 30 days before it
        return q.comparator
    for before_re, after_re, comparator in _RELATIVE_COMPARATORS:
        if before_re.search(before) and (after_re is None or after_re.search(after)):
            return comparator
    if previous is not None and previous.comparator not in (None, "between"):
        if re.fullmatch(r"\s*(?:,|or|and|,\s*or)\s*", text[previous.end : q.start]):
            return previous.comparator  # "a minimum of 12 degrees or 30%": one comparator for both values
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


_NOT_DRUG_WORDS = frozenset(
    {"total", "daily", "a", "an", "the", "of", "and", "usual", "at", "in", "on", "is", "be", "given", "administered",
     "recommended", "initial", "maximum", "minimum", "starting", "typical", "higher", "lower", "same", "this", "that"}
)
_PER_TIME_RE = re.compile(r"^(.+?)/(day|week|month|year)$")


def split_per_time(unit: str) -> tuple[str, str | None]:
    """"mg/day" -> ("mg", "per day"): doses keep the amount unit and carry the schedule as frequency."""
    match = _PER_TIME_RE.match(unit)
    if match and match.group(1) not in ("kg",):
        return match.group(1), f"per {match.group(2)}"
    return unit, None


def drug_near(text: str, q: Quantity, sentence_start: int, sentence_end: int, default: str | None, lexicon: Lexicon) -> str | None:
    """The drug a dose is of: "2 g/kg of IVIG", "calcium intake of 1000 mg", a drug word in the sentence,
    else the document's drug."""
    intake = re.search(
        r"\b((?:[A-Za-z][\w\-]*\s+){0,1}[A-Za-z][\w\-]*)\s+(?:intake|supplementation|supplement|dose|dosage|dosing)\s+(?:of|is|at)\s*$",
        text[max(sentence_start, q.start - 60) : q.start],
    )
    if intake:
        words = [w for w in intake.group(1).split() if w.lower() not in _NOT_DRUG_WORDS]
        if words:
            return " ".join(words)
    after = re.match(r"\s+of\s+([A-Za-z][A-Za-z0-9\-]+(?:\s+[a-z]+)?)", text[q.end : q.end + 40])
    if after and after.group(1).lower() not in ("body", "the", "a", "weight", "ideal"):
        return after.group(1).split()[0] if after.group(1).split()[0].isupper() else after.group(1)
    sentence = text[sentence_start:sentence_end].lower()
    for marker in lexicon.drug_markers:
        if re.search(rf"\b{re.escape(marker)}\b", sentence):
            return default if default and marker in default.lower() else marker.upper() if len(marker) <= 5 else marker
    return default
