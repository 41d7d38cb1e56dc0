"""Doses and thresholds: classify the numeric mentions of a document and read their context.

A quantity with a drug-amount unit and no comparator is a dose; a quantity with a comparator (or a
range under a named measure) is a threshold, and so are how often a service recurs ("every 6 months",
`interval_of`) and a count of one that caps a service without a comparator ("One stent per eye", `find_caps`).
Time windows and frequency limits written without a comparator word are read from `data/windows.json`
(`window_comparator`: "a 3-month trial of", "a 30-day service", "6 months have passed", "prior to 6 months after";
`is_frequency_limit`: "once per year", "three times a week"; `find_once_caps`: "billed once";
`find_period_counts`: "1 per 3 months"; `is_negated_look_back`: "has not been performed within the past 2 years").
Numbers in study descriptions ("13 of 31 patients", "a median of 55 months (range 1 to 161 months)") and a
drug's schedule ("every six weeks" after a dose, "over five days") are context, not limits, and are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.extract.lexicon import Lexicon, phrase_patterns
from pipeline.extract.numbers import Quantity, parse_number
from pipeline.extract.numbers.lexicons import WORDS
from pipeline.extract.units import DATA_DIR, UNITS, check, conventional_unit, form_pattern, read_lexicon, string_list

# The amounts a drug is given in, also per unit of time ("mcg/kg/day", "mg/m2/week": `split_per_time`); a
# volume is a dose only bare ("0.5 mL"), since a volume per time is a rate ("30 mL/min" creatinine clearance).
DOSE_AMOUNT_UNITS = frozenset({"mg", "g", "mcg", "units", "IU", "g/kg", "mg/kg", "mcg/kg", "units/kg", "IU/kg", "mL/kg",
                               "mg/m2", "mcg/m2", "g/m2", "units/m2", "vector genomes", "vector genomes/kg"})
PLAIN_AMOUNT_UNITS = frozenset({"mg", "g", "mcg", "mL"})  # amounts that are a dose only in a dosing sentence
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


_UP_TO_RE = re.compile(r"up\s+to\s+(?:a\s+total\s+of\s+)?", re.I)
_MAXIMUM_DOSE_RE = re.compile(r"\bmax(?:imum|\.)?\s+(?:[a-z]+\s+)?dos(?:e|es|age)\b(?:(?!\d)[^.;])*$", re.I)


def is_dose(q: Quantity, text: str = "", sentence_start: int = 0) -> bool:
    """A drug amount stated as a value, not a limit; also the maximum dose of a regimen ("The maximum dose
    is 40 mcg/kg/min", "should not exceed 60 mg"), which states what to give at most (models/ANNOTATION.md: DOSE)."""
    if not is_dose_unit(q.unit):
        return False
    if q.comparator in (None, "between", "="):
        return True
    if q.comparator == "<=" and _UP_TO_RE.fullmatch(text, q.start, q.number_start):
        return True  # "up to 60 Units" is the dose (models/ANNOTATION.md: DOSE); a denial of more is a threshold
    return q.comparator == "<=" and bool(_MAXIMUM_DOSE_RE.search(text[sentence_start : q.start]))


def is_dose_unit(unit: str | None) -> bool:
    """Whether a unit is a drug amount (`DOSE_AMOUNT_UNITS`), bare or per unit of time ("mg/kg/day")."""
    if unit is None:
        return False
    return unit in DOSE_AMOUNT_UNITS or unit == "mL" or split_per_time(unit)[0] in DOSE_AMOUNT_UNITS


_DRUG_NAME_MIN = 8  # "concept", "precept" end like a drug name; INN names are longer ("etanercept", "rituximab")


def names_a_drug(sentence: str, lexicon: Lexicon) -> bool:
    """Whether a word of the sentence is worded as a drug's non-proprietary name (`drug_name_endings`: "aflibercept")."""
    return any(len(w) >= _DRUG_NAME_MIN and w.endswith(lexicon.drug_name_endings) for w in re.findall(r"[a-z]+", sentence.lower()))


def in_dose_context(sentence: str, lexicon: Lexicon) -> bool:
    """A sentence about giving a drug: a `dose_context` word ("given", "intravenously", "per"), a drug marker or a
    drug's non-proprietary name."""
    lowered = sentence.lower()
    return _has_phrase(lowered, lexicon.dose_context) or _has_phrase(lowered, lexicon.drug_markers) or names_a_drug(lowered, lexicon)


_STUDY_WORDS_RE = re.compile(
    r"\b(?:study|studies|trial|trials|cohort|retrospective|prospective|case series|case reports?|median|mean|"
    r"hazard ratio|odds ratio|confidence interval|et al|patients achieved|were treated|reported|follow-up|followed for)\b",
    re.I,
)
_OUTCOME_RIGHT_BEFORE_RE = re.compile(r"\b(?:improvement|response|remission|reduction|survival|mortality)\b[^.;:]{0,30}$", re.I)


_SHARE_OF_PEOPLE_RE = re.compile(
    r"\s*(?:of|out\s+of)\s+(?:the\s+|all\s+|these\s+)?(?:patients|cases|individuals|people|persons|subjects|adults|children|women|men|"
    r"beneficiaries|population)\b", re.I)


def in_outcome_context(text: str, q: Quantity, sentence_start: int, section_kind: str) -> bool:
    """True for numbers that describe study results rather than policy limits."""
    after = text[q.end : q.end + 25].lower()
    if re.search(r"^\s*(?:of|out of)\s+\d", after) or re.match(r"\s*patients\b", after) or (
        q.comparator in (None, "<=", "between") and _SHARE_OF_PEOPLE_RE.match(after)  # ("at least 50% of patients" may be a rule)
    ):
        return True  # "13 of 31 patients", "up to two thirds of patients": how many were affected, not a limit
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


def _has_phrase(lowered: str, phrases: tuple[str, ...]) -> bool:
    """Whether any phrase of a lexicon list occurs in `lowered` as whole words."""
    return any(phrase in lowered and pattern.search(lowered) for phrase, pattern in phrase_patterns(phrases, r"(?<![a-z0-9]){}(?![a-z0-9])"))


def in_background(sentence: str, lexicon: Lexicon) -> bool:
    """A descriptive sentence (prevalence, onset, reported rates: "one case in a million", "has been reported
    as high as 30% to 50%") states no limit, also inside a policy section (models/ANNOTATION.md 12.8): it has a
    background cue and none of the words that make a sentence a rule."""
    lowered = sentence.lower()
    return _has_phrase(lowered, lexicon.background_cues) and not _has_phrase(lowered, lexicon.rule_cues)


_LIST_LOGIC_RE = re.compile(r"\s*(?:of|out\s+of)\s+(?:the\s+|these\s+|those\s+)?(?:following|above|below|listed|criteria|conditions|items)\b", re.I)


def is_list_logic(text: str, q: Quantity) -> bool:
    """"4 or more of the following criteria", "at least 2 of the above": how many items of the document's own
    list must hold is list logic, not a threshold (models/ANNOTATION.md 12.7)."""
    return _LIST_LOGIC_RE.match(text, q.end) is not None


def is_schedule(text: str, q: Quantity) -> bool:
    """"every six weeks", "over five days", "per month", "for 6-12 weeks": a schedule, not a threshold; a range its
    bounds state ("for at least 1 month but not more than 2 months") is a limit."""
    before = text[max(0, q.start - 12) : q.start].lower()
    bare = q.comparator is None or (q.comparator == "between" and q.start == q.number_start)
    return bool(re.search(r"\b(?:every|over|per|each|for|at|on|through|divided)\s*$", before)) and bare


# "every 6 months", "every one or two years", "at 24-month intervals", "on a six-month basis" (12.6)
_EVERY_RE = re.compile(r"\bevery\s+(?:(?P<alt>[\w.]+)\s+or\s+)?$", re.I)
_ONCE_EVERY_RE = re.compile(r"\b(?:once|one time)\s+every\s+$", re.I)
_INTERVAL_AT_RE = re.compile(r"\b(?:at|on\s+an?)\s+$", re.I)
_AROUND_THE_CLOCK = frozenset({(24.0, "hours"), (1.0, "days")})
_INTERVAL_NOUN_RE = re.compile(r"[\s\-]*(?:intervals?|basis)\b", re.I)


def interval_of(text: str, q: Quantity) -> tuple[str, float, float | None] | None:
    """(comparator, low, high) of a time written as how often something recurs ("every 6 months" -> = 6,
    "every two to three weeks" -> between 2 and 3, models/ANNOTATION.md 12.6), None for any other time.
    `=` is how the sentence reads a bare interval; the gold accepts it beside the `<=`/`>=` a context gives."""
    if q.unit not in _TIME_UNITS or q.comparator not in (None, "between"):
        return None
    before = text[max(0, q.start - 24) : q.start]
    every = _EVERY_RE.search(before)
    if every is None and not (_INTERVAL_AT_RE.search(before) and _INTERVAL_NOUN_RE.match(text, q.end)):
        return None
    if every is None and (q.low, q.unit) in _AROUND_THE_CLOCK:
        return None  # "staffed on a 24-hour basis": around the clock, not how often something recurs
    if q.comparator == "between":
        return "between", q.low, q.high
    alt = parse_number(every.group("alt")) if every is not None and every.group("alt") else None
    if alt is not None and alt != q.low:
        return "between", min(alt, q.low), max(alt, q.low)  # "every one or two years"
    if _ONCE_EVERY_RE.search(before):
        return ">=", q.low, None  # "may cover a BMM once every 2 years": one per period caps the service (12.6)
    return "=", q.low, None


_DOSING_RE = re.compile(r"\b(?:dos(?:e|es|age|ing)|administ\w*|infus\w*|cycles?|regimens?)\b", re.I)


def is_dosing_interval(text: str, q: Quantity, sentence_start: int, lexicon: Lexicon) -> bool:
    """"Maintenance IVIG cycles every six to eight weeks": how often a drug is given is its schedule, not a limit."""
    before = text[sentence_start : q.start].lower()
    return bool(_DOSING_RE.search(before)) or _has_phrase(before, lexicon.drug_markers)


def interval_measure(text: str, q: Quantity, sentence_start: int) -> str:
    """"interval of <what recurs>": the content words before the interval ("abdominal ultrasound every 6 months")."""
    clause = re.split(r"[;:(]|,\s", text[max(sentence_start, q.start - 80) : q.start])[-1]
    words = _content_words_before(re.sub(r"(?:\b(?:every|at|on|an?|once|twice|approximately|usually|least)\s*)+$", "", clause.strip(), flags=re.I))
    return f"interval of {' '.join(words[-3:])}" if words else "interval"


# A cap written as a count of one without a comparator ("One stent per eye", "one per side", "a single dose
# (...) per eligible eye", "1 additional test within a rolling 12-month period"): one of a thing per scope, or a
# sentence that opens with "One <thing> is/are ...".
_CAP_NP = r"(?P<np>(?:[A-Za-z][\w\-/]*[ \t]+){0,8}?)"
_CAP_PER_RE = re.compile(
    rf"(?P<num>(?:only[ \t]+)?(?:one|a[ \t]+single|1(?![\d.,])))[ \t]+{_CAP_NP}(?:\([^()\n]{{1,60}}\)[ \t]*)?"
    rf"(?P<scope>per[ \t]+(?:(?:eligible|affected|treated)[ \t]+)?[a-z]+|(?:with)?in[ \t]+a[ \t]+rolling[ \t]+[\w\-]+(?:[ \t]+period)?)\b",
    re.I,
)
_CAP_OPENING_RE = re.compile(rf"(?P<num>One)[ \t]+{_CAP_NP}(?:is|are)[ \t]+")
# what may stand before an opening "One": a line start, a list marker, the end of a sentence
_CAP_OPENS_RE = re.compile(r"(?:^|\n|[.:;][ \t]|\n[ \t]*-[ \t]+(?:[A-Za-z0-9]{1,3}\.[ \t]+)?)$")
# "can be performed with a single MIGS procedure", "allows for a single dose", "limited to one session"
_CAP_VERB_RE = re.compile(
    r"\b(?:performed|done|allow(?:s|ed)?|limited|restricted)[ \t]+(?:with|for|to)[ \t]+(?P<num>(?:only[ \t]+)?(?:one|a[ \t]+single))[ \t]+"
    r"(?P<np>(?:[A-Za-z][\w\-/]*[ \t]+){0,3}?[A-Za-z][\w\-/]*)(?=[ \t]*[.,;(]|[ \t]+(?:per|for|in|at|during)\b)",
    re.I,
)
_CAP_NOT_NP = frozenset({"of", "or", "and", "to", "the", "who", "that", "which", "time", "more", "less", "case"})


def find_caps(text: str) -> list[tuple[Quantity, str]]:
    """Counts of one that cap a service without a comparator ("One trabecular stent device per eye" -> <= 1
    count, models/ANNOTATION.md 12.6/12.7), with the measure they limit (the thing counted and its scope)."""
    out = []
    seen: set[int] = set()
    for pattern in (_CAP_PER_RE, _CAP_OPENING_RE, _CAP_VERB_RE):
        for m in pattern.finditer(text):
            at = m.start("num")
            if at in seen or (at and (text[at - 1].isalnum() or text[at - 1] in ".,")):
                continue  # the same count read by two patterns, or a part of a word or a longer number
            if pattern is _CAP_OPENING_RE and not _CAP_OPENS_RE.search(text, max(0, m.start() - 12), m.start()):
                continue  # "One" inside a sentence is a pronoun or a number, not the subject of a rule
            words = m.group("np").split()
            if words and (words[0].lower() in _CAP_NOT_NP or words[-1].lower() in _CAP_NOT_NP):
                continue  # "one of the ...", "one or more", "one time": list logic, other numbers
            scope = m.groupdict().get("scope")
            measure = " ".join([*words, scope] if scope else words)
            start, end = m.start("num"), m.end("scope") if scope else m.start("np") + len(m.group("np").rstrip())
            seen.add(at)
            out.append((Quantity(start, end, 1.0, None, "<=", "count", "", m.start("num"), m.end("num")), measure.strip() or "count"))
    out += [(q, measure) for q, measure in find_once_caps(text) + find_period_counts(text) if q.start not in seen]
    out.sort(key=lambda pair: pair[0].start)
    return out


# "best-corrected visual acuity of 20/50 or worse": a Snellen fraction, whose denominator is the limit (unitless,
# models/ANNOTATION.md 12.10); a larger denominator is worse vision.
_SNELLEN_RE = re.compile(r"20/(?P<den>\d{2,3})\b(?P<after>\s+or\s+(?:worse|less|better))?", re.I)
_SNELLEN_BEFORE_RE = re.compile(
    r"\b(?P<measure>(?:best[ -]corrected\s+)?(?:visual\s+acuity|vision|VA|BCVA))\b[^.;:\n\d]{0,30}?"
    r"(?P<before>(?:worse|less)\s+than\s+|better\s+than\s+)?$",
    re.I,
)


def find_snellen(text: str) -> list[tuple[Quantity, str]]:
    """Visual acuity limits written as Snellen fractions ("visual acuity of 20/50 or worse" -> >= 50, "20/40 or
    better" -> <= 40, "worse than 20/40" -> > 40), with the measure they limit; a bare acuity is no limit."""
    out = []
    for m in _SNELLEN_RE.finditer(text):
        if m.start() and (text[m.start() - 1].isalnum() or text[m.start() - 1] in "/."):
            continue  # "120/80", "5/20/40": part of another number
        named = _SNELLEN_BEFORE_RE.search(text, max(0, m.start() - 60), m.start())
        if named is None:
            continue  # "20/40" with no acuity named before it: a ratio or a date, not a Snellen limit
        before = (named.group("before") or "").lower()
        after = (m.group("after") or "").lower()
        if "better" in after:
            comparator = "<="
        elif after:
            comparator = ">="
        elif before:
            comparator = "<" if before.startswith("better") else ">"
        else:
            continue  # a bare acuity ("Visual acuity 20/200") states a finding, not which side is covered
        start = named.start("before") if named.group("before") else m.start()
        q = Quantity(start, m.end(), float(m.group("den")), None, comparator, None, "", m.start(), m.end("den"))
        out.append((q, f"{named.group('measure')} (Snellen denominator)"))
    return out


FLIPPED = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_PROHIBITION_RE = re.compile(
    r"\b(?:must|may|should|shall|will|can|could|would)\s+not\b|\bcannot\b|\bprohibited\b|\bnot\s+(?:be\s+)?(?:allowed|permitted)\b",
    re.I,
)


_LOOK_BACK_START_RE = re.compile(r"(?:within|in|during)\b", re.I)
# "has not been performed", "not ... ", "no test has been done": the event must be absent from the window
_NEGATED_BEFORE_RE = re.compile(
    r"(?:\b(?:not|never|nor)\b(?:[ \t]+[A-Za-z\-]+){0,4}|\bno\b(?:[ \t]+[A-Za-z\-]+){1,3}[ \t]+(?:has|have|had|was|were)[ \t]+been(?:[ \t]+[A-Za-z\-]+){0,3})[ \t]*$",
    re.I,
)


def is_negated_look_back(text: str, q: Quantity, sentence_start: int) -> bool:
    """"has not been performed within the prior 12 months", "no test has been done in the preceding 12 months": a
    look-back whose event must not have happened, i.e. time since the event > N (models/ANNOTATION.md 4, 12.6)."""
    if q.unit not in _TIME_UNITS or q.comparator != "<=" or not _LOOK_BACK_START_RE.match(text, q.start):
        return False
    clause = re.split(r"[;:(]|,\s", text[max(sentence_start, q.start - 60) : q.start])[-1]
    return _NEGATED_BEFORE_RE.search(clause) is not None


# "Testing is not performed more than once": a "not" on the verb right before the limit negates the limit
_NOT_VERB_BEFORE_RE = re.compile(r"\bnot[ \t]+(?:be[ \t]+|been[ \t]+)?[a-z]+(?:[ \t]+[a-z]+)?[ \t]+$", re.I)


def is_prohibition(text: str, q: Quantity, sentence_start: int) -> bool:
    """"a supplier must not dispense more than ...", "is not performed more than once": the limit states what is
    not allowed."""
    before = text[sentence_start : q.start]
    return bool(_PROHIBITION_RE.search(before) or _NOT_VERB_BEFORE_RE.search(before))


_MEASURE_STOP = frozenset(
    {"of", "the", "a", "an", "is", "are", "be", "than", "at", "least", "less", "more", "greater", "to", "or", "and", "with",
     "levels", "level", "value", "values", "has", "have", "had", "must", "should", "no", "not", "equal", "minimum", "maximum",
     "up", "if", "for", "in", "on", "by", "who", "which", "that", "there", "patient", "patients", "beneficiary", "beneficiaries", "consistent", "documented",
     "i.e", "e.g", "was", "were", "been", "show", "shows", "demonstrated", "measured", "when", "only", "any", "his", "her",
     "it", "its", "they", "this", "these", "those", "also", "such", "as"}
)
# Verbs and linking words before a number name no measure ("criteria include fever > 38" -> "fever", not
# "criteria include fever"; "despite CPAP usage of at least 4 hours" -> "CPAP usage"; "it is recommended" -> "").
_MEASURE_VERBS = frozenset(
    {"include", "includes", "including", "included", "may", "might", "can", "could", "will", "would", "shall", "should",
     "must", "being", "reported", "recommended", "recommend", "recommends", "despite", "covered", "indicated", "required",
     "requires", "require", "considered", "meet", "meets", "met", "while", "where", "without", "during", "within",
     "criteria", "criterion", "performed", "provided", "done", "given", "administered", "billed", "paid", "after",
     "before", "since", "following", "reasonable", "necessary", "continues", "continue"}
)
# Words after which a clause names the measure itself: "criteria include fever > 38" -> "fever".
_MEASURE_INTRO = frozenset({"include", "includes", "including", "included", "despite", "showed", "shows", "showing"})
_COUNT_SCOPE_RE = re.compile(r"\s+((?:per|each|in\s+(?:one|a|each|the\s+same)|at\s+(?:one|a|each|the\s+same))\s+[A-Za-z][\w\-]*)", re.I)
_TIME_UNITS = frozenset({"seconds", "minutes", "hours", "days", "weeks", "months", "years"})
# "14 days after the first injection", "within the past 6 months": how long since an event (12.6 look-backs).
_SINCE_AFTER_RE = re.compile(r"\s+(?:after|following|since)\s+((?:the|a|an|his|her|their)\s+)?([A-Za-z][\w\-/]*(?:\s+[A-Za-z][\w\-/]*){0,3})")
_EVENT_STOP_RE = re.compile(r"\b(?:and|or|who|that|which|with|for|to|in|is|are|will|be|on|at|as|than|if|when)\b", re.I)
_OLD_RE = re.compile(r"\s+old\b(?!\s+(?:and|or)\s+older)", re.I)
_LOOK_BACK_RE = re.compile(r"\b(?:within|in|during|over)\s+the\s+(?:past|last|prior|previous|preceding)\b", re.I)
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
    the time since an event for a look-back, the noun phrase after a percentage or count, else the content
    words before it; "" when the text names nothing (never a verb or a filler such as "value")."""
    after = text[q.end : q.end + 40].lower()
    before = text[max(sentence_start, q.start - 80) : q.start]
    own = text[q.start : q.end].lower()
    if q.unit in ("years", None) and re.search(r"\b(?:ages?|aged)\s+(?:of\s+)?\d", own):
        return "age"  # "between the ages of 50 and 75", "aged 45 to 75": the age words are inside the mention
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
    length = _length_measure(text, q)
    if length:
        return length
    since = _time_since(text, q, sentence_start)
    if since:
        return since
    abbreviation = re.search(r"\(([A-Z][A-Za-z0-9\-]{1,9})\)\s*(?:of|is|was|:)?\s*$", before)
    if abbreviation:
        # "systolic blood pressure (BP) below 100": the written name with its abbreviation, either may be the one used
        long_form = _content_words_before(before[: abbreviation.start()])[-3:]
        return f"{' '.join(long_form)} ({abbreviation.group(1)})" if long_form else abbreviation.group(1)
    if q.unit in (None, "count", "%"):
        phrase = _phrase_after(text, q)
        counted = q.unit == "%" or q.unit is None and q.low == int(q.low) and _counts_a_noun(text, q, lexicon)
        if phrase and counted:
            return phrase  # "at least one acute infection", "50% pain relief"
    clauses = re.split(r"[;:]|,\s|\band\b|\bor\b", before)
    clause = clauses[-1]
    if len(clauses) > 1 and not re.search(r"[A-Za-z]", clause):
        clause = clauses[-2]  # "Hb >12 and <13 g/dL": the second bound limits the measure of the first
    service = service_count_per_period(q.unit)
    if service is not None:  # "limited to 6 sessions per year": what is counted and its period; "Services ... 2 per day"
        named = q.unit.startswith(service[0])
        return " ".join(part for part in (*([] if named else _content_words_before(clause)[-2:]), q.unit_text) if part)
    scope = _COUNT_SCOPE_RE.match(text, q.end) if q.unit in COUNT_UNITS else None
    if scope:  # "no more than 2 levels in one region", "covered once per lifetime": the counted thing and its scope
        return " ".join(part for part in (*_content_words_before(clause)[-3:], q.unit_text, scope.group(1)) if part)
    known = _known_measure_before(clause, lexicon)
    if known:
        return known
    kept = _content_words_before(clause)
    if kept:
        return " ".join(kept[-3:])
    return _phrase_after(text, q)


def category_measure(text: str, label_start: int, label: str, sentence_start: int) -> str:
    """What a category number grades: the label with up to two qualifying words before it ("CKD stage",
    "Durie-Salmon stage", "NYHA class"), never a verb or a linking word."""
    clause = re.split(r"[;:,.]\s", text[max(sentence_start, label_start - 60) : label_start])[-1]
    qualifiers = _content_words_before(clause.replace("(", " ").replace(")", " "))[-2:]
    return " ".join([*qualifiers, label]).strip()


def _content_words_before(clause: str) -> list[str]:
    """The content words of the clause that ends right before a number (no verbs, no linking words), from after
    a word that introduces the measure ("include", "despite") when there is one."""
    words_before = re.findall(r"[A-Za-z][A-Za-z0-9\-/]*", clause)[-6:]
    intro = [i for i, w in enumerate(words_before) if w.lower() in _MEASURE_INTRO]
    if intro and intro[-1] + 1 < len(words_before):
        words_before = words_before[intro[-1] + 1 :]
    return [w for w in words_before if w.lower().strip(".") not in _MEASURE_STOP and w.lower() not in _MEASURE_VERBS]


def _counts_a_noun(text: str, q: Quantity, lexicon: Lexicon) -> bool:
    """Whether the word right after a bare integer is what it counts ("one acute infection"), not a verb or
    a linking word ("≥2 indicating definite osteoarthritis", "12 and", "2 prior to")."""
    word = re.match(r"[ \t]+([A-Za-z][\w.\-]*)(?:[ \t]+([A-Za-z]+))?", text[q.end : q.end + 40])
    if not word:
        return False
    first = word.group(1).lower().rstrip(".")
    # one word ("indicating") or two ("prior to": "two prior treatment failures" still counts failures)
    return first not in lexicon.not_counted_after and f"{first} {(word.group(2) or '').lower()}" not in lexicon.not_counted_after


_LENGTH_OF_RE = re.compile(r"[ \t]+of[ \t]+((?:[A-Za-z][\w\-/]*[ \t]*){1,3})")


def _length_measure(text: str, q: Quantity) -> str | None:
    """"duration of trial of conservative therapy" for "a six-week trial of conservative therapy": the length read
    by `window_comparator` measures the trial or course named after it."""
    noun = WINDOWS.length_noun_re.match(text, q.end) if q.unit in _TIME_UNITS and _period_adjective(text, q) else None
    if noun is None:
        return None
    what = _LENGTH_OF_RE.match(text, noun.end())
    thing = _AFTER_STOP_RE.split(what.group(1))[0].strip() if what else ""
    return f"duration of {noun.group(0).strip()}" + (f" of {thing}" if thing else "")


def _time_since(text: str, q: Quantity, sentence_start: int) -> str | None:
    """"time since X" for a period counted from an event: "at least 14 days after the first injection",
    "not performed within the past 2 years" (models/ANNOTATION.md 12.6)."""
    if q.unit not in _TIME_UNITS:
        return None
    if q.unit in ("hours", "days", "weeks") and _OLD_RE.match(text, q.end):  # "AMI less than 48 hours old": the time since it
        words = _content_words_before(re.split(r"[;:(]|,\s", text[max(sentence_start, q.start - 60) : q.start])[-1])
        return f"time since {' '.join(words[-3:])}" if words else "time since the event"
    after = _SINCE_AFTER_RE.match(text, q.end, q.end + 80)
    if after:
        event = _EVENT_STOP_RE.split(after.group(2))[0].strip()
        if event:
            return f"time since {event}"
    own = text[max(sentence_start, q.start - 20) : q.end]
    if _LOOK_BACK_RE.search(own):
        clause = re.split(r"[;:]|,\s", text[max(sentence_start, q.start - 80) : q.start])[-1]
        words = _content_words_before(_LOOK_BACK_RE.split(clause)[0])
        return f"time since {' '.join(words[-3:])}" if words else "time since the event"
    return None


# "24 hours of supervised care per day": the time, what fills it, then its period (models/ANNOTATION.md 5: hours/day)
_TIME_OF_THING_RE = re.compile(r"[ \t]+of[ \t]+(?:[A-Za-z][\w\-]*[ \t]+){0,2}[A-Za-z][\w\-]*(?=[ \t]+per[ \t])", re.I)


# "unit(s) of A4595", "units of HCPCS code E0601": billing units of a supply code, not a drug's activity units
_SUPPLY_UNITS_RE = re.compile(r"\s+(?:of\s+)?(?:(?:HCPCS\s+)?codes?\s+)?\(?[A-V]\d{4}\b")


# "(>80gm ethanol/day)": an intake, the substance between the amount and its period (models/ANNOTATION.md 5: g/day)
_INTAKE_UNITS = frozenset({"g", "mg", "mcg"})
_MASS_OF_THING_RE = re.compile(r"[ \t]+(?:of[ \t]+)?[A-Za-z][\w\-]*(?=[ \t]*/|[ \t]+per[ \t])", re.I)


_CALENDAR_PERIODS = frozenset({"day", "week", "month", "year"})


def service_count_per_period(unit: str | None) -> tuple[str, str] | None:
    """(counted noun, period) of a count of services per calendar period ("sessions/week", "/day" of "2 per day"):
    a frequency limit, whose unit is the count (models/ANNOTATION.md 12.6), not a rate such as "events/hour"."""
    head, _, period = (unit or "").partition("/")
    if period not in _CALENDAR_PERIODS or head and head not in SERVICE_COUNT_UNITS:
        return None
    return head or "count", period


def threshold_unit(text: str, q: Quantity, measure: str, lexicon: Lexicon) -> str | None:
    """The unit of a threshold: as written; else the conventional unit of the measure named before the number
    ("BMI >40" -> kg/m2, models/ANNOTATION.md 12.10); else "count" for a bare integer before the noun it counts
    ("at least one acute infection", "three A4624 catheters"); scores and scales stay unitless."""
    if q.unit is not None:
        # "once per eye", "twice per encounter": a count, its scope goes to the measure (models/ANNOTATION.md 5)
        if q.unit.startswith("times/"):
            return "count"
        service = service_count_per_period(q.unit)
        if service is not None:
            return service[0]  # "more than 3 sessions per week": a count of sessions, its period goes to the measure
        if q.unit == "units" and _SUPPLY_UNITS_RE.match(text, q.end):
            return "count"  # "a maximum of one unit of A4595 per month": units of a supply code are counted (guideline 5)
        if q.unit in _TIME_UNITS:
            rate = _TIME_OF_THING_RE.match(text, q.end, q.end + 60)
        else:
            rate = _MASS_OF_THING_RE.match(text, q.end, q.end + 60) if q.unit in _INTAKE_UNITS else None
        per = UNITS.den_re.match(text, rate.end()) if rate else None
        if per is not None and per.group("den") not in UNITS.ambiguous_dens and (
            q.unit in _TIME_UNITS or UNITS.den(per.group("den")) in UNITS.time_dens
        ):
            return f"{q.unit}/{UNITS.den(per.group('den'))}"  # "24 hours of supervised care per day" -> hours/day
        return q.unit
    if measure and measure in text[max(0, q.start - 120) : q.end]:  # named before the number or in its own words
        conventional = conventional_unit(measure)
        if conventional:
            return conventional
    if any(w in lexicon.unitless_measures for w in re.findall(r"[a-z][a-z0-9\-]*", measure.lower())):
        return None  # "a score of ≥2 indicating definite osteoarthritis": a grade, not a count
    if q.low == int(q.low) and (_counts_a_noun(text, q, lexicon) or (measure.split() or [""])[-1].lower() in COUNT_UNITS):
        return "count"  # "three A4624 catheters"; "Injections beyond three to the same tendon": the counted noun before
    return None


_RELATIVE_COMPARATORS = (
    # (pattern before the number, pattern after it, comparator): phrasings the number parser leaves bare
    (re.compile(r"\b(?:during|within|in|for)\s+the\s+first\s*$", re.I), None, "<="),
    (re.compile(r"\b(?:a\s+)?(?:maximum|max\.?)\b(?:\s+[\w\-]+){0,3}\s+(?:of|is)\s*$", re.I), None, "<="),
    (re.compile(r"\b(?:a\s+)?(?:minimum|min\.?)\b(?:\s+[\w\-]+){0,3}\s+(?:of|is)\s*$", re.I), None, ">="),
    (re.compile(r"\bafter\s*$", re.I), re.compile(r"^\s+(?:have|has)\s+(?:elapsed|passed)", re.I), ">"),
    # "colitis of over 15 years duration": "over" a time is a spread, unless the time is how long something lasted
    (re.compile(r"\bover\s*$", re.I), re.compile(r"^\s+(?:in\s+|of\s+)?duration\b", re.I), ">"),
    # look-backs the number parser leaves bare ("over" + a time is a spread there): "over the past 12 months",
    # "in the 12 months preceding the visit", "over the 5 years immediately preceding" (12.6: at most that long ago)
    (re.compile(r"\bover\s+the\s+(?:past|last|previous|prior|preceding)\s*$", re.I), None, "<="),
    (re.compile(r"\b(?:in|during|over)\s+the\s*$", re.I), re.compile(r"^\s+(?:immediately\s+)?(?:preceding|prior\s+to|before)\b", re.I), "<="),
    # "no more frequently than every 6 months": an interval of at least that (models/ANNOTATION.md 4)
    (re.compile(r"\b(?:no|not)\s+more\s+(?:often|frequently)\s+than\s+(?:once\s+)?(?:every\s+)?$", re.I), None, ">="),
    (re.compile(r"\bmore\s+(?:often|frequently)\s+than\s+(?:once\s+)?(?:every\s+)?$", re.I), None, "<"),
    # "The patient has had 2 ... diagnostic facet joint procedures": a history of that many, at least that many
    (re.compile(r"\b(?:has|have)\s+(?:had|received|undergone|completed|failed)\s*$", re.I), None, ">="),
    # "once per lifetime", "once in a lifetime" (models/ANNOTATION.md 12.6: at most once)
    (None, re.compile(r"^\s*(?:per|in\s+(?:a|the|their|his|her))\s+(?:patient'?s\s+|beneficiary'?s\s+)?lifetime\b", re.I), "<="),
)
_SHARE_OF_PERIODS_RE = re.compile(r"\s*(?:(?:per|a|each)\s+[a-z]+\s+)?(?:on|for|in)\s+", re.I)
_OF_PERIODS_RE = re.compile(r"\s*of\s+(?:the\s+)?(?:nights|days|weeks|months|sessions|visits)\b", re.I)
_MORE_OFTEN_RE = re.compile(r"(?:\b(?P<neg>no|not)\s+)?\bmore\s+(?:often|frequently)\s+than\s+$", re.I)
# "a repeat test after 12 weeks of supplementation", "after a 12-week period" (12.6): more than that period.
_AFTER_PERIOD_RE = re.compile(r"\bafter\s+(?:a\s+|an\s+)?$", re.I)
_AFTER_ORDINAL_RE = re.compile(r"\bafter\s+the\s+$", re.I)

WINDOWS_PATH = DATA_DIR / "windows.json"


@dataclass(frozen=True)
class WindowLexicon:
    """The compiled time-window and frequency words of `data/windows.json` (see its description)."""

    length_noun_re: re.Pattern[str]  # matched after a time: "trial of", "supervised course"
    service_period_re: re.Pattern[str]  # matched after a time: "service", "packaged service"
    duration_re: re.Pattern[str]  # searched before a time: "persisted for", "tried for a period of"
    elapsed_re: re.Pattern[str]  # matched after a time: "have passed"
    event_re: re.Pattern[str]  # matched after a time: "after", "following"
    before_point_re: re.Pattern[str]  # searched before a time: "prior to"
    point_re: re.Pattern[str]  # searched before a time: "in", "at"
    frequency_scope_re: re.Pattern[str]  # matched after a count of times: "per year", "a week", "weekly"
    once_re: re.Pattern[str]  # "used once" followed by a follower word or a punctuation mark
    per_period_re: re.Pattern[str]  # "2 per 1 month", "1 per 3 months", "1 per calendar year"
    period_qualifiers: frozenset[str]  # "calendar", "rolling"


def _words_alt(words: list[str]) -> str:
    """Whole-word alternation of written forms, longest first."""
    return "|".join(form_pattern(w) for w in sorted(words, key=len, reverse=True))


def load_windows(path: Path = WINDOWS_PATH) -> WindowLexicon:
    """Validate and compile the window lexicon; a malformed file raises LexiconError naming the entry."""
    data = read_lexicon(path)
    keys = ("length_nouns", "service_period_nouns", "duration_verbs", "elapsed_verbs", "event_words", "before_point_words", "point_words",
            "scope_words", "window_openers", "count_periods", "period_qualifiers", "article_periods", "frequency_adverbs", "once_verbs", "once_verb_followers")
    words = {key: string_list(data.get(key), path, key) for key in keys}
    for key in keys:
        for i, word in enumerate(words[key]):
            check(word == word.lower() and word.strip() == word, path, f"{key}[{i}]", f"must be lower case without outer spaces, got {word!r}")
    alt = {key: _words_alt(value) for key, value in words.items()}
    # one qualifying word may stand between the period and its noun ("a 6-week supervised trial")
    between = r"(?:[ \t]+[a-z][a-z\-]*)?"
    return WindowLexicon(
        length_noun_re=re.compile(rf"{between}[ \t]+(?:{alt['length_nouns']})(?![A-Za-z])", re.I),
        service_period_re=re.compile(rf"{between}[ \t]+(?:{alt['service_period_nouns']})(?![A-Za-z])", re.I),
        duration_re=re.compile(rf"(?<![A-Za-z])(?:{alt['duration_verbs']})(?:[ \t]+for)?(?:[ \t]+a[ \t]+(?:period|duration)[ \t]+of)?[ \t]+$", re.I),
        elapsed_re=re.compile(rf"[ \t]+(?:have|has)[ \t]+(?:{alt['elapsed_verbs']})(?![A-Za-z])", re.I),
        event_re=re.compile(rf"[ \t]+(?:{alt['event_words']})(?![A-Za-z])", re.I),
        before_point_re=re.compile(rf"(?<![A-Za-z])(?:{alt['before_point_words']})[ \t]+$", re.I),
        point_re=re.compile(rf"(?<![A-Za-z])(?:{alt['point_words']})[ \t]+$", re.I),
        frequency_scope_re=re.compile(
            rf"[ \t]+(?:(?:{alt['scope_words']}|{alt['window_openers']})[ \t]+[A-Za-z0-9]|an?[ \t]+(?:{alt['article_periods']})(?![A-Za-z])"
            rf"|(?:{alt['frequency_adverbs']})(?![A-Za-z]))",
            re.I,
        ),
        period_qualifiers=frozenset(words["period_qualifiers"]),
        per_period_re=re.compile(
            rf"(?<![\w.,/\-])(?P<num>\d{{1,3}}|[A-Za-z]+)[ \t]+per[ \t]+(?:(?P<every>\d{{1,3}}|[A-Za-z]+)[ \t]+)?"
            rf"(?:(?:{alt['period_qualifiers']})[ \t]+)?(?P<period>{alt['count_periods']})(?![A-Za-z])",
            re.I,
        ),
        once_re=re.compile(
            rf"(?<![A-Za-z])(?:{alt['once_verbs']})[ \t]+(?:only[ \t]+)?(?P<num>once)"
            rf"(?=[ \t]*(?:[.,;:)]|$)|[ \t]+(?:{alt['once_verb_followers']})(?![A-Za-z]))",
            re.I | re.M,
        ),
    )


WINDOWS = load_windows()


_ARTICLE_END_RE = re.compile(r"(?<![A-Za-z])an?[ \t]+$", re.I)


def _period_adjective(text: str, q: Quantity) -> bool:
    """A time written as an adjective after an indefinite article ("a 3-month", "a six-week"): "a" makes it a
    requirement, "the first 30-day course" points back to one."""
    return q.unit_text != "" and text[q.number_end : q.number_end + 1] == "-" and _ARTICLE_END_RE.search(text, max(0, q.start - 20), q.start) is not None


def window_comparator(text: str, q: Quantity) -> str | None:
    """The comparator of a bare time that its own phrasing states (models/ANNOTATION.md 4, 12.6): "a 3-month trial
    of" (>=), "a 30-day service" (=), "6 months have passed" (>=), "persisted for 3 months" (>=), "prior to 6 months after" (<), "in one year after
    surgery" (=); None for any other time."""
    if q.unit not in _TIME_UNITS or q.comparator is not None:
        return None
    before = text[max(0, q.start - 20) : q.start]
    hyphenated = _period_adjective(text, q)
    if hyphenated and WINDOWS.length_noun_re.match(text, q.end):
        return ">="
    if hyphenated and WINDOWS.service_period_re.match(text, q.end):
        return "="
    if WINDOWS.elapsed_re.match(text, q.end) or WINDOWS.duration_re.search(text, max(0, q.start - 40), q.start):
        return ">="
    if WINDOWS.event_re.match(text, q.end):
        if WINDOWS.before_point_re.search(before):
            return "<"
        if WINDOWS.point_re.search(before):
            return "="
    return None


_TAKEN_RE = re.compile(r"\b(?:tak(?:e|es|en|ing)|orally|by\s+mouth)\b[^.;:]{0,30}$", re.I)


def is_frequency_limit(text: str, q: Quantity) -> bool:
    """A count of times with no comparator, followed by its period or scope: "once per year", "three times a week",
    "twice weekly", "once per individual cyst" (models/ANNOTATION.md 12.6: at most that often)."""
    if q.comparator is not None or not (q.unit == "times" or (q.unit or "").startswith("times/")):
        return False
    if _TAKEN_RE.search(text, max(0, q.start - 40), q.start):
        return False  # "taking metformin twice daily": how a drug is taken, not how often a service is covered
    return "/" in q.unit or WINDOWS.frequency_scope_re.match(text, q.end) is not None


def find_period_counts(text: str) -> list[tuple[Quantity, str]]:
    """A bare count per period, as usual-maximum-quantity tables write it ("A7030 | Full face mask ... | 1 per 3
    months" -> <= 1 count, models/ANNOTATION.md 9, 12.6), with the counted thing (a table row's first cell) and
    its period as the measure."""
    out = []
    for m in WINDOWS.per_period_re.finditer(text):
        if m.group("num").lower() in WORDS.multiplicatives:
            continue  # "once per lifetime": a frequency, read with its comparator by the number parser
        value = parse_number(m.group("num"))
        every = m.group("every")
        if value is None or value < 1 or value != int(value) or (every is not None and parse_number(every) is None and every.lower() not in WINDOWS.period_qualifiers):
            continue  # "mg per 3 months", "events per hour": no count of its own
        line_start = text.rfind("\n", 0, m.start()) + 1
        line = text[line_start : m.start()]
        thing = line.split(" | ")[0].strip(" -") if " | " in line else " ".join(_content_words_before(line)[-3:])
        period = text[m.end("num") : m.end()].strip()
        q = Quantity(m.start("num"), m.end(), float(value), None, "<=", "count", "", m.start("num"), m.end("num"))
        out.append((q, f"{thing} {period}".strip()))
    return out


def find_once_caps(text: str) -> list[tuple[Quantity, str]]:
    """"used once no matter how many", "should be billed once.": a service counted once after the verb that bills or
    performs it (<= 1 count); "once" before a clause ("once the arrhythmia has been documented") is no count."""
    out = []
    for m in WINDOWS.once_re.finditer(text):
        clause = re.split(r"[.;:(\n]\s|,\s|\n", text[max(0, m.start() - 80) : m.start()])[-1]  # its own sentence
        words = _content_words_before(clause)
        q = Quantity(m.start("num"), m.end("num"), 1.0, None, "<=", "count", "", m.start("num"), m.end("num"))
        out.append((q, " ".join([*words[-3:], m.group(0).split()[0].lower()]).strip()))
    return out


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
    often = _MORE_OFTEN_RE.search(before)
    if often and (q.unit or "").startswith("times"):
        return "<=" if often.group("neg") else ">"  # "not more often than once every 2 years": the count, at most once
    for before_re, after_re, comparator in _RELATIVE_COMPARATORS:
        if (before_re is None or before_re.search(before)) and (after_re is None or after_re.search(after)):
            return comparator
    window = window_comparator(text, q)  # first: "after a six-week trial of" states the trial's length, >=
    if window is not None:
        return window
    if q.unit in _TIME_UNITS and (_AFTER_PERIOD_RE.search(before) or _AFTER_ORDINAL_RE.search(before) and text[q.number_end : q.number_end + 1].isalpha()):
        return ">"  # "after a 12-week period"; "until after the 91st day"
    if previous is not None and previous.comparator not in (None, "between"):
        if re.fullmatch(r"\s*(?:,|or|and|,\s*or)\s*", text[previous.end : q.start]):
            return previous.comparator  # "a minimum of 12 degrees or 30%": one comparator for both values
        if q.unit == "%" and _SHARE_OF_PERIODS_RE.fullmatch(text[previous.end : q.start]) and _OF_PERIODS_RE.match(after):
            return previous.comparator  # ">= 4 hours per night on 70% of nights": the share of nights is held to it too
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
     "recommended", "initial", "maximum", "minimum", "starting", "typical", "higher", "lower", "same", "this", "that",
     "subsequent", "first", "second", "next", "single", "additional", "following", "prior", "previous", "each",
     "average", "repeat", "loading", "maintenance"}  # "The subsequent dose of up to 100 Units": the phase, not the drug
)
# A dose's schedule in its unit: per unit of time, or per administration ("200 Units per treatment session").
_PER_TIME_RE = re.compile(r"^(.+?)/(min|day|week|month|year|session|treatment|injection|infusion|dose|cycle|eye|site|visit)$")
_PER_TIME_WORDS = {"min": "minute"}


def split_per_time(unit: str) -> tuple[str, str | None]:
    """"mg/day" -> ("mg", "per day"), "units/session" -> ("units", "per session"): doses keep the amount unit and
    carry the schedule as frequency."""
    match = _PER_TIME_RE.match(unit)
    if match and match.group(1) not in ("kg",):
        return match.group(1), f"per {_PER_TIME_WORDS.get(match.group(2), match.group(2))}"
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
