"""Load and validate the rule data files in pipeline/extract/data/.

Rules live in JSON so that a new phrasing is a data change, not a code change; every file is
checked on load so a typo fails loudly with the file and entry named, never silently matches nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache

from pipeline.paths import EXTRACT_DATA_DIR as DATA_DIR

CUE_LABELS = ("POSITIVE", "NEGATIVE")


class LexiconError(ValueError):
    """A rule data file is malformed."""


@dataclass(frozen=True)
class Cue:
    """A coverage phrase, its direction and its strength."""

    phrase: str
    label: str
    weight: float


@dataclass(frozen=True)
class Lexicon:
    """All word lists the rule components use."""

    cues: tuple[Cue, ...]
    negators: tuple[str, ...]
    condition_suffixes: tuple[str, ...]
    condition_heads: frozenset[str]
    suffix_exceptions: frozenset[str]
    population_words: frozenset[str]
    verb_stops: frozenset[str]
    glossary_headings: frozenset[str]
    alternatives_intro: tuple[str, ...]
    heading_positive: tuple[str, ...]
    heading_negative: tuple[str, ...]
    not_conditions: frozenset[str]
    instrument_words: frozenset[str]  # the last word of a scoring instrument's name ("... Outcome Score", "... Scale")
    state_heads: frozenset[str]  # the last word of a patient state joined to a condition ("... and anticoagulant therapy")
    mention_triggers: tuple[str, ...]
    state_adjectives: dict[str, str]  # "allergic to" -> "allergy to": a population's state named by its noun
    mention_stops: frozenset[str]
    not_families: frozenset[str]  # subject words of "X include A, B" that list no conditions of a family ("symptoms")
    series_links: tuple[str, ...]  # words that chain one more condition onto an inline series ("A, especially B")
    criteria_intro: tuple[str, ...]
    criteria_clause_starts: tuple[str, ...]  # where an item's condition name ends and its criteria begin
    criteria_openers: tuple[str, ...]  # "At least 75% reduction of pain": an item opening with a limit is a criterion
    name_prefixes: tuple[str, ...]  # "to rule out", "the beneficiary has": the purpose or subject before an item's condition
    subject_clause_openers: tuple[str, ...]  # "patients whose ...", "patient in whom ...": the clause names the state
    qualifier_openers: tuple[str, ...]  # "without", "in the absence of": an "or" after them joins the qualifier, not conditions
    list_intro_positive: tuple[str, ...]
    list_intro_negative: tuple[str, ...]
    list_intro_exception: tuple[str, ...]  # "Abortions are not covered except:": the items are the exceptions
    criteria_denial_exceptions: tuple[str, ...]  # "denied unless all of the following are met:": criteria, not denied items
    phases: dict[str, tuple[str, ...]]
    frequency_patterns: tuple[str, ...]
    outcome_context: tuple[str, ...]
    drug_markers: tuple[str, ...]
    member_intro: tuple[str, ...]  # "including", "such as": before a lead-in's colon, the items are members of what it names
    dose_context: tuple[str, ...]  # "given", "intravenously", "per": an amount in mg/g/mcg/mL near them is a dose
    drug_name_endings: tuple[str, ...]  # "-mab", "-cept": a long word ending so names a drug ("aflibercept 8 mg")
    measures: tuple[str, ...]
    background_cues: tuple[str, ...]  # words of descriptive sentences: prevalence, onset, reported rates
    rule_cues: tuple[str, ...]  # words that make a sentence a rule, whatever else it describes
    not_counted_after: frozenset[str]  # words after a bare number that are not what it counts ("≥2 indicating")
    unitless_measures: frozenset[str]  # measure words of scores and scales: their numbers count nothing
    name_lead_ins: tuple[str, ...]  # "the following": a candidate naming them introduces a list, it is no name
    name_references: tuple[str, ...]  # "these", "the patient's": before a generic head, a reference back
    treatment_outcomes: frozenset[str]  # "failure", "response": with a treatment word after it, a name states a criterion
    treatment_words: frozenset[str]  # "therapy", "medications": what such an outcome is of
    clause_openers: tuple[str, ...]  # "conversely", "having": a name opening with one, in any case, is a clause
    name_continuations: frozenset[str]  # "with", "as": a lower-case name opening with one continues a sentence
    measure_heads: frozenset[str]  # "severity", "duration": with instrument_words, the head of a measure's name
    other_heads: frozenset[str]  # "relief", "clinics": the head of an outcome's or a place's name, never a condition's
    history_openers: tuple[str, ...]  # "prior", "history of": a name opening with one states the patient's history
    opposed_subtypes: dict[str, frozenset[str]]  # "acute" -> {"chronic"}: words naming another subtype of the same condition


def _read(name: str) -> dict:
    path = DATA_DIR / name
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise LexiconError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("version"), int):
        raise LexiconError(f"{path}: expected an object with an integer 'version'")
    return data


def _strings(data: dict, key: str, source: str) -> tuple[str, ...]:
    values = data.get(key)
    if not isinstance(values, list) or not values:
        raise LexiconError(f"{source}: '{key}' must be a non-empty list of strings")
    for i, value in enumerate(values):
        if not isinstance(value, str) or not value.strip():
            raise LexiconError(f"{source}: '{key}'[{i}] must be a non-empty string, got {value!r}")
    return tuple(v.lower() if key != "frequency_patterns" else v for v in values)


def _string_map(data: dict, key: str, source: str) -> dict[str, str]:
    """A non-empty object of phrase -> replacement phrase, lower-cased."""
    values = data.get(key)
    if not isinstance(values, dict) or not values:
        raise LexiconError(f"{source}: '{key}' must be a non-empty object of strings")
    for phrase, value in values.items():
        if not phrase.strip() or not isinstance(value, str) or not value.strip():
            raise LexiconError(f"{source}: '{key}'[{phrase!r}] must map a phrase to a non-empty string, got {value!r}")
    return {phrase.lower(): value.lower() for phrase, value in values.items()}


def _opposites(data: dict, key: str, source: str) -> dict[str, frozenset[str]]:
    """Each word of a list of [word, word] pairs -> the words it is paired with (both ways), lower-cased."""
    pairs = data.get(key)
    if not isinstance(pairs, list) or not pairs:
        raise LexiconError(f"{source}: '{key}' must be a non-empty list of [word, word] pairs")
    opposites: dict[str, set[str]] = {}
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(w, str) and w.strip() and " " not in w.strip() for w in pair)) or pair[0].lower() == pair[1].lower():
            raise LexiconError(f"{source}: '{key}'[{i}] must be two different single words, got {pair!r}")
        a, b = (w.strip().lower() for w in pair)
        opposites.setdefault(a, set()).add(b)
        opposites.setdefault(b, set()).add(a)
    return {word: frozenset(others) for word, others in opposites.items()}


def _section(data: dict, key: str, source: str) -> dict:
    value = data.get(key)
    if not isinstance(value, dict):
        raise LexiconError(f"{source}: '{key}' must be an object of word lists")
    return value


def parse_cues(data: dict, source: str = "coverage_cues.json") -> tuple[Cue, ...]:
    """Validate the `cues` entries of a coverage cue file."""
    cues = []
    for i, entry in enumerate(data.get("cues") or []):
        if not isinstance(entry, dict):
            raise LexiconError(f"{source}: cues[{i}] must be an object")
        phrase, label, weight = entry.get("phrase"), entry.get("label"), entry.get("weight")
        if not isinstance(phrase, str) or not phrase.strip():
            raise LexiconError(f"{source}: cues[{i}] has no phrase")
        if label not in CUE_LABELS:
            raise LexiconError(f"{source}: cues[{i}] ({phrase!r}) label must be one of {CUE_LABELS}, got {label!r}")
        if not isinstance(weight, (int, float)) or not 0 < weight <= 5:
            raise LexiconError(f"{source}: cues[{i}] ({phrase!r}) weight must be a number in (0, 5]")
        cues.append(Cue(phrase.lower(), label, float(weight)))
    if not cues:
        raise LexiconError(f"{source}: no cues")
    return tuple(cues)


@lru_cache(maxsize=1)
def load_lexicon() -> Lexicon:
    """Read every data file once per process."""
    cue_data = _read("coverage_cues.json")
    cond = _read("conditions.json")
    phr = _read("phrases.json")
    not_names = _section(cond, "not_a_name", "conditions.json")
    phases = phr.get("phases")
    if not isinstance(phases, dict) or not phases:
        raise LexiconError("phrases.json: 'phases' must map a phase name to a list of phrases")
    for name in phases:
        if name not in ("induction", "maintenance", "prophylaxis"):
            raise LexiconError(f"phrases.json: unknown phase {name!r}")
    return Lexicon(
        cues=parse_cues(cue_data),
        negators=_strings(cue_data, "negators", "coverage_cues.json"),
        condition_suffixes=_strings(cond, "suffixes", "conditions.json"),
        condition_heads=frozenset(_strings(cond, "heads", "conditions.json")),
        not_conditions=frozenset(_strings(cond, "not_conditions", "conditions.json")),
        instrument_words=frozenset(_strings(cond, "instrument_words", "conditions.json")),
        state_heads=frozenset(_strings(cond, "state_heads", "conditions.json")),
        suffix_exceptions=frozenset(_strings(cond, "suffix_exceptions", "conditions.json")),
        population_words=frozenset(_strings(phr, "population_words", "phrases.json")),
        verb_stops=frozenset(_strings(phr, "verb_stops", "phrases.json")),
        glossary_headings=frozenset(_strings(phr, "glossary_headings", "phrases.json")),
        alternatives_intro=_strings(phr, "alternatives_intro", "phrases.json"),
        heading_positive=_strings(phr, "heading_positive", "phrases.json"),
        heading_negative=_strings(phr, "heading_negative", "phrases.json"),
        mention_triggers=tuple(sorted(_strings(phr, "mention_triggers", "phrases.json"), key=len, reverse=True)),
        state_adjectives=_string_map(phr, "state_adjectives", "phrases.json"),
        mention_stops=frozenset(_strings(phr, "mention_stops", "phrases.json")),
        not_families=frozenset(_strings(phr, "not_families", "phrases.json")),
        series_links=tuple(sorted(_strings(phr, "series_links", "phrases.json"), key=len, reverse=True)),
        criteria_intro=_strings(phr, "criteria_intro", "phrases.json"),
        criteria_clause_starts=_strings(phr, "criteria_clause_starts", "phrases.json"),
        criteria_openers=_strings(phr, "criteria_openers", "phrases.json"),
        name_prefixes=tuple(sorted(_strings(phr, "name_prefixes", "phrases.json"), key=len, reverse=True)),
        subject_clause_openers=_strings(phr, "subject_clause_openers", "phrases.json"),
        qualifier_openers=_strings(phr, "qualifier_openers", "phrases.json"),
        list_intro_positive=_strings(phr, "list_intro_positive", "phrases.json"),
        list_intro_negative=_strings(phr, "list_intro_negative", "phrases.json"),
        list_intro_exception=_strings(phr, "list_intro_exception", "phrases.json"),
        criteria_denial_exceptions=_strings(phr, "criteria_denial_exceptions", "phrases.json"),
        phases={k: _strings(phases, k, "phrases.json:phases") for k in phases},
        frequency_patterns=_strings(phr, "frequency_patterns", "phrases.json"),
        outcome_context=_strings(phr, "outcome_context", "phrases.json"),
        drug_markers=_strings(phr, "drug_markers", "phrases.json"),
        dose_context=_strings(phr, "dose_context", "phrases.json"),
        drug_name_endings=_strings(phr, "drug_name_endings", "phrases.json"),
        member_intro=_strings(phr, "member_intro", "phrases.json"),
        measures=tuple(sorted(_strings(phr, "measures", "phrases.json"), key=len, reverse=True)),
        background_cues=_strings(phr, "background_cues", "phrases.json"),
        rule_cues=_strings(phr, "rule_cues", "phrases.json"),
        not_counted_after=frozenset(_strings(phr, "not_counted_after", "phrases.json")),
        unitless_measures=frozenset(_strings(phr, "unitless_measures", "phrases.json")),
        name_lead_ins=_strings(not_names, "lead_ins", "conditions.json:not_a_name"),
        name_references=_strings(not_names, "references", "conditions.json:not_a_name"),
        treatment_outcomes=frozenset(_strings(cond, "treatment_outcomes", "conditions.json")),
        treatment_words=frozenset(_strings(cond, "treatment_words", "conditions.json")),
        clause_openers=_strings(not_names, "clause_openers", "conditions.json:not_a_name"),
        name_continuations=frozenset(_strings(not_names, "continuations", "conditions.json:not_a_name")),
        measure_heads=frozenset(_strings(not_names, "measure_heads", "conditions.json:not_a_name")),
        other_heads=frozenset(_strings(not_names, "other_heads", "conditions.json:not_a_name")),
        history_openers=_strings(cond, "history_openers", "conditions.json"),
        opposed_subtypes=_opposites(cond, "opposed_subtypes", "conditions.json"),
    )


@lru_cache(maxsize=32)
def phrase_patterns(phrases: tuple[str, ...], template: str) -> tuple[tuple[str, re.Pattern], ...]:
    """(phrase, compiled pattern) for each phrase of a lexicon list, in order: `template` with `{}` where the
    escaped phrase goes. Compiled once per list and template, not once per sentence; callers test
    `phrase in text` first, as a pattern cannot match without the phrase's own text."""
    return tuple((phrase, re.compile(template.replace("{}", re.escape(phrase)))) for phrase in phrases)
