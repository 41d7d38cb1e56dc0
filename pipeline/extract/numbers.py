"""Numeric mentions in LCD prose: values, ranges, comparators and units.

`find_quantities` returns every numeric mention of a text, left to right and non-overlapping, as a
`Quantity` whose offsets point into the text. It is pure and fast: all lexicons are JSON data files
(`data/number_words.json`, `data/comparators.json`, `data/units.json`) validated and compiled once at
import, and a 24 KB LCD takes a few milliseconds.

Precision matters more than recall here: a false quantity becomes a false threshold. So numbers that
identify rather than measure are not returned: citation markers glued to words ("et al54",
"studies62,63", "^3-9"), dates and years ("7/15/2021", "2014 to 2019"), statute and manual numbers
("1862(a)(1)(A)", "§80.1", "Chapter 15", "Pub. 100-02"), codes ("G25.82", "E2500-E2511", "93287"),
list markers ("1. The patient"), phone numbers and journal pages ("2018;28(1):87-99").

Decisions (see the tests for the phrases each one comes from):
- Ranges ("0.4 to 1.5 g/kg", "400-600 mg/kg", "between 15 and 65", "from 6 to 12 weeks", "every six
  to eight weeks") have comparator "between", low = the smaller value and high = the larger, whatever
  the written order ("-1.0 to -2.5" -> low -2.5, high -1.0). A dash between two numbers is a range,
  not a minus sign; a dash after a space before a number is a minus sign ("days -7 and -2").
- "over" + a time or count unit is how something is spread ("over 3 days", "over 39 sites"), not a
  threshold: comparator None and "over" stays out of the mention. "over 65", "over 50%" are ">".
  "within 30 days" is "<=".
- A parenthesised alternate rendering right after a quantity ("glucose < 54 mg/dL (3.0 mmol/L)",
  "one month (30 days)") is skipped: it restates the same limit and would make a duplicate fact.
- "mg/d" reads as mg/dL when a lab-value cue (IgG, level, serum, glucose ...) precedes the number
  ("IgG < 400 mg/d" is a truncated mg/dL in a real LCD) and as mg/day otherwise, its usual meaning.
- A word-written time denominator after a unit that already has one ("2 g/kg per month") is the
  dose's schedule and stays outside the mention; "mg/day", "g/kg/day", "18 hours per day" are units.
- "once", "twice", "thrice" are numbers (1, 2, 3) with unit "times". "once" counts only in a
  frequency phrase or after a comparator ("once every 2 years", "more than once"), never as the
  conjunction ("once the arrhythmia has been documented").
- "one" and "a single" count only with a unit, a comparator or a confirming digit ("one (1) month",
  "at least one", "more than one"): otherwise they are pronouns ("one of the following").
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.extract.units import (
    DATA_DIR,
    UNITS,
    LexiconError,
    UnitMatch,
    check,
    form_pattern,
    match_unit,
    normalize_unit,
    read_lexicon,
    split_rate,
    string_list,
)

__all__ = [
    "COMPARATORS",
    "LexiconError",
    "Quantity",
    "find_quantities",
    "load_comparators",
    "load_number_words",
    "normalize_unit",
    "parse_number",
    "split_rate",
]

NUMBER_WORDS_PATH = DATA_DIR / "number_words.json"
COMPARATORS_PATH = DATA_DIR / "comparators.json"
COMPARATORS = ("<", "<=", ">", ">=", "=", "between")

_SP = "[ \\t\u00a0\u2009\u202f]"  # spaces within a line
_DASHES = "-–−‒—"
_SIGNS = "-–−‒"


@dataclass(frozen=True)
class Quantity:
    """A numeric mention: `text[start:end]` is the whole mention, comparator words and unit included."""

    start: int
    end: int
    low: float  # the value, or the low end of a range
    high: float | None  # the high end of a range, else None
    comparator: str | None  # "<" "<=" ">" ">=" "=" "between", or None for a bare value
    unit: str | None  # normalised unit, or None for a bare count
    unit_text: str  # the unit as written ("" if none)
    number_start: int  # offsets of the numeric part (a range: first number to last number)
    number_end: int


# ---------------------------------------------------------------------------------------------------
# Lexicons


def _int_map(value: Any, path: Path, where: str, *, floats: bool = False) -> dict[str, float]:
    check(isinstance(value, dict) and bool(value), path, where, "must be a non-empty object of word -> number")
    out = {}
    for word, number in value.items():
        ok_type = isinstance(number, (int, float)) if floats else isinstance(number, int)
        check(
            isinstance(word, str) and word.strip() != "" and ok_type and not isinstance(number, bool) and number >= 0,
            path,
            f"{where}[{word!r}]",
            f"must map a word to a non-negative {'number' if floats else 'integer'}, got {number!r}",
        )
        out[word.lower()] = number
    return out


@dataclass(frozen=True)
class NumberWords:
    """Number words and the words that turn a nearby number into an identifier."""

    cardinals: dict[str, int]
    tens: dict[str, int]
    scales: dict[str, int]
    fraction_dens: dict[str, int]
    bare_fractions: frozenset[str]
    glyphs: dict[str, float]
    digit_fraction_dens: frozenset[int]
    multiplicatives: dict[str, int]
    single_phrases: dict[str, int]
    needs_context: frozenset[str]
    once_contexts: tuple[str, ...]
    label_words: tuple[str, ...]
    month_names: tuple[str, ...]


def load_number_words(path: Path = NUMBER_WORDS_PATH) -> NumberWords:
    """Validate a number-words lexicon; a malformed file raises LexiconError naming the entry."""
    data = read_lexicon(path)
    cardinals = _int_map(data.get("cardinals"), path, "cardinals")
    tens = _int_map(data.get("tens"), path, "tens")
    scales = _int_map(data.get("scales"), path, "scales")
    fraction_dens = _int_map(data.get("fraction_denominators"), path, "fraction_denominators")
    for word, den in fraction_dens.items():
        check(den >= 2, path, f"fraction_denominators[{word!r}]", "a denominator must be at least 2")
    bare = string_list(data.get("bare_fractions"), path, "bare_fractions")
    for i, word in enumerate(bare):
        check(word.lower() in fraction_dens, path, f"bare_fractions[{i}]", f"{word!r} is not a fraction denominator")
    glyphs = _int_map(data.get("fraction_glyphs"), path, "fraction_glyphs", floats=True)
    for glyph in glyphs:
        check(len(glyph) == 1, path, f"fraction_glyphs[{glyph!r}]", "a glyph must be one character")
    digit_dens = data.get("digit_fraction_denominators")
    check(
        isinstance(digit_dens, list) and bool(digit_dens) and all(isinstance(d, int) and not isinstance(d, bool) and 2 <= d <= 99 for d in digit_dens),
        path,
        "digit_fraction_denominators",
        "must be a non-empty list of integers from 2 to 99",
    )
    multiplicatives = _int_map(data.get("multiplicatives"), path, "multiplicatives")
    singles = _int_map(data.get("single_phrases"), path, "single_phrases")
    needs_context = [w.lower() for w in string_list(data.get("needs_context"), path, "needs_context")]
    known = set(cardinals) | set(tens) | set(singles) | set(multiplicatives)
    for i, word in enumerate(needs_context):
        check(word in known, path, f"needs_context[{i}]", f"{word!r} is not a number word of this file")
    words = set(cardinals) | set(tens) | set(scales) | set(fraction_dens) | set(multiplicatives)
    check(len(words) == len(cardinals) + len(tens) + len(scales) + len(fraction_dens) + len(multiplicatives), path, "cardinals/tens/scales/fractions/multiplicatives", "a word is listed twice")
    return NumberWords(
        cardinals=cardinals,
        tens=tens,
        scales=scales,
        fraction_dens=fraction_dens,
        bare_fractions=frozenset(w.lower() for w in bare),
        glyphs=glyphs,
        digit_fraction_dens=frozenset(digit_dens),
        multiplicatives=multiplicatives,
        single_phrases=singles,
        needs_context=frozenset(needs_context),
        once_contexts=tuple(w.lower() for w in string_list(data.get("once_contexts"), path, "once_contexts")),
        label_words=tuple(w.lower() for w in string_list(data.get("label_words"), path, "label_words")),
        month_names=tuple(string_list(data.get("month_names"), path, "month_names")),
    )


def _key(phrase: str) -> str:
    """Lookup key of a comparator phrase as written: asides and whitespace removed, case-folded."""
    return re.sub(r"\s+", "", re.sub(r"\([^()]*\)", "", phrase)).casefold()


def _reversed_phrase_pattern(phrase: str) -> str:
    """A regex for `phrase` written backwards, to match the text before a number read right to left.

    Words are joined by spaces or by a short parenthetical aside ("below (i.e., worse than) or equal
    to"); symbols by optional spaces. A phrase that starts with a letter must start a word.
    """
    tokens = [t[::-1] for t in reversed(phrase.split())]
    out = []
    for i, token in enumerate(tokens):
        if i:
            prev = tokens[i - 1]
            if prev[-1].isalpha() and token[0].isalpha():
                out.append(rf"(?:{_SP}+|{_SP}*\)[^()\n]{{1,40}}\({_SP}*)")
            else:
                out.append(f"{_SP}*")
        out.append(re.escape(token))
    body = "".join(out)
    return rf"{body}(?![A-Za-z0-9])" if phrase[0].isalpha() else body


def _phrase_pattern(phrase: str) -> str:
    """A regex for `phrase` read left to right (words joined by spaces, symbols by optional spaces)."""
    tokens = phrase.split()
    out = []
    for i, token in enumerate(tokens):
        if i:
            out.append(f"{_SP}+" if tokens[i - 1][-1].isalpha() and token[0].isalpha() else f"{_SP}*")
        out.append(re.escape(token))
    body = "".join(out)
    return rf"(?<![A-Za-z0-9]){body}" if phrase[0].isalpha() else body


@dataclass(frozen=True)
class BeforePhrase:
    """A comparator written before the number, and where it does not apply."""

    comparator: str
    not_before_kinds: frozenset[str]  # unit kinds after which it is not a comparator ("over 3 days")
    not_after_words: frozenset[str]  # words before it that make it positional ("the above 2 criteria")


@dataclass(frozen=True)
class ComparatorLexicon:
    """Compiled comparator phrases."""

    before: dict[str, BeforePhrase]
    openers: dict[str, frozenset[str]]  # key -> the connectors that close the range it opens
    after: dict[str, str]
    glued_after: dict[str, str]
    connectors: frozenset[str]
    statistic_prefixes: dict[str, str]
    age_words: frozenset[str]
    before_rev: re.Pattern[str]  # matched against the reversed text before a number
    gap_re: re.Pattern[str]  # spaces and gap words, whole (what may stand between a phrase and a number)
    after_re: re.Pattern[str]


def load_comparators(path: Path = COMPARATORS_PATH) -> ComparatorLexicon:
    """Validate and compile a comparator lexicon; a malformed file raises LexiconError naming the entry."""
    data = read_lexicon(path)
    allowed = string_list(data.get("comparators"), path, "comparators")
    check(set(allowed) == set(COMPARATORS), path, "comparators", f"must be exactly {list(COMPARATORS)}")
    before: dict[str, BeforePhrase] = {}
    phrases: list[str] = []
    entries = data.get("before")
    check(isinstance(entries, list) and bool(entries), path, "before", "must be a non-empty list of {phrase, comparator}")
    for i, entry in enumerate(entries):
        where = f"before[{i}]"
        check(isinstance(entry, dict), path, where, "must be an object with 'phrase' and 'comparator'")
        phrase = entry.get("phrase")
        check(isinstance(phrase, str) and phrase.strip() != "", path, where, "'phrase' must be a non-empty string")
        where = f"before[{i}] ({phrase!r})"
        comparator = entry.get("comparator")
        check(comparator in COMPARATORS and comparator != "between", path, where, f"'comparator' must be one of < <= > >= =, got {comparator!r}")
        kinds = frozenset(string_list(entry.get("not_before_kinds", []), path, f"{where}.not_before_kinds", allow_empty=True))
        check(kinds <= set(UNITS_KINDS), path, f"{where}.not_before_kinds", f"unknown unit kinds {sorted(kinds - set(UNITS_KINDS))}")
        not_after = frozenset(w.lower() for w in string_list(entry.get("not_after_words", []), path, f"{where}.not_after_words", allow_empty=True))
        unknown = set(entry) - {"phrase", "comparator", "not_before_kinds", "not_after_words"}
        check(not unknown, path, where, f"unknown keys {sorted(unknown)}")
        value = BeforePhrase(comparator, kinds, not_after)
        check(before.setdefault(_key(phrase), value) == value, path, where, "the same phrase is listed twice with different meanings")
        phrases.append(phrase)
    openers_data = data.get("range_openers")
    check(isinstance(openers_data, dict) and bool(openers_data), path, "range_openers", "must map an opener to its connectors")
    openers = {}
    for phrase, conns in openers_data.items():
        where = f"range_openers[{phrase!r}]"
        check(isinstance(phrase, str) and phrase.strip() != "", path, where, "an opener must be a non-empty string")
        check(_key(phrase) not in before, path, where, "an opener cannot also be a 'before' comparator")
        openers[_key(phrase)] = frozenset(c.lower() for c in string_list(conns, path, where))
        phrases.append(phrase)
    connectors = frozenset(c.lower() for c in string_list(data.get("range_connectors"), path, "range_connectors"))
    for key, conns in openers.items():
        for conn in conns:
            check(conn in connectors or conn == "and", path, f"range_openers[{key!r}]", f"connector {conn!r} is not a range connector")
    after: dict[str, str] = {}
    glued: dict[str, str] = {}
    entries = data.get("after")
    check(isinstance(entries, list) and bool(entries), path, "after", "must be a non-empty list of {phrase, comparator}")
    for i, entry in enumerate(entries):
        where = f"after[{i}]"
        check(isinstance(entry, dict), path, where, "must be an object with 'phrase' and 'comparator'")
        phrase = entry.get("phrase")
        check(isinstance(phrase, str) and phrase.strip() != "", path, where, "'phrase' must be a non-empty string")
        where = f"after[{i}] ({phrase!r})"
        comparator = entry.get("comparator")
        check(comparator in ("<", "<=", ">", ">="), path, where, f"'comparator' must be one of < <= > >=, got {comparator!r}")
        check(isinstance(entry.get("glued", False), bool), path, where, "'glued' must be true or false")
        (glued if entry.get("glued") else after)[_key(phrase)] = comparator
    gaps = string_list(data.get("gap_words"), path, "gap_words")
    stats = data.get("statistic_prefixes")
    check(isinstance(stats, dict) and all(v in ("drop", "bare") for v in stats.values()), path, "statistic_prefixes", "must map a letter to 'drop' or 'bare'")
    # Read right to left from the number: spaces, up to two gap words, then the longest phrase.
    cmp_alt = "|".join(_reversed_phrase_pattern(p) for p in sorted(phrases, key=len, reverse=True))
    gap_alt = "|".join(form_pattern(g[::-1]) for g in sorted(gaps, key=len, reverse=True))
    before_rev = re.compile(rf"{_SP}*(?P<gap>(?:(?:{gap_alt}){_SP}+){{0,2}})(?P<cmp>{cmp_alt})", re.IGNORECASE)
    after_phrases = [p.get("phrase") for p in entries if not p.get("glued")]
    after_alt = "|".join(_phrase_pattern(p) for p in sorted(after_phrases, key=len, reverse=True))
    after_re = re.compile(rf"{_SP}*,?{_SP}*(?P<after>{after_alt})(?![A-Za-z])", re.IGNORECASE)
    return ComparatorLexicon(
        before=before,
        openers=openers,
        after=after,
        glued_after=glued,
        connectors=connectors,
        statistic_prefixes={k.lower(): v for k, v in stats.items()},
        age_words=frozenset(w.lower() for w in string_list(data.get("age_words"), path, "age_words")),
        before_rev=before_rev,
        gap_re=re.compile(rf"(?:{_SP}+(?:{'|'.join(form_pattern(g) for g in sorted(gaps, key=len, reverse=True))})){{0,2}}{_SP}+", re.IGNORECASE),
        after_re=after_re,
    )


UNITS_KINDS = tuple(sorted({kind for _, kind in UNITS.heads.values()} | {kind for _, kind in UNITS.exact_heads.values()} | {"rate"}))
WORDS = load_number_words()
CMP = load_comparators()


# ---------------------------------------------------------------------------------------------------
# Compiled patterns
#
# Speed: every full-text regex pass costs about 0.5 ms on a 24 KB LCD, and a pass whose first step
# is a big alternation or a lookbehind costs ten times that. So full-text passes are few and start
# with a cheap gate (`(?=\d)`, `(?=[(\[§^])`, a trie of number words); everything that depends on the
# words before a number (comparators, labels, month names) is one anchored match per number on the
# reversed preceding window.


def _alt(words: Any) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def _trie(words: Any) -> str:
    """An alternation of literal words as a character trie, which the regex engine scans fast."""
    root: dict[str, dict] = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, dict]) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(root)


_SPC = _SP[1:-1]  # the space characters, for use inside a character class
_ONES = _alt(w for w, v in WORDS.cardinals.items() if 1 <= v <= 9)
_SIMPLE = rf"(?:(?:{_alt(WORDS.tens)})(?:[-{_SPC}](?:{_ONES}))?|(?:{_alt(WORDS.cardinals)}))"
_HUNDREDS = rf"{_SIMPLE}{_SP}+hundred(?:{_SP}+(?:and{_SP}+)?{_SIMPLE})?"
_LARGE_SCALES = _alt(w for w in WORDS.scales if w != "hundred")
_LARGE = rf"(?:{_HUNDREDS}|{_SIMPLE}){_SP}+(?:{_LARGE_SCALES})(?:{_SP}+(?:and{_SP}+)?(?:{_HUNDREDS}|{_SIMPLE}))?"
_FRACTION = rf"(?:(?:a|an|{_SIMPLE})[-{_SPC}]+(?:{_alt(WORDS.fraction_dens)})|(?:{_alt(WORDS.bare_fractions)}))"
_SINGLE = "|".join(form_pattern(p) for p in sorted(WORDS.single_phrases, key=len, reverse=True))
_WORD = rf"(?:{_FRACTION}|{_LARGE}|{_HUNDREDS}|{_SIMPLE}|{_alt(WORDS.multiplicatives)}|{_SINGLE})(?![A-Za-z0-9])"
_WORD_RE = re.compile(_WORD, re.IGNORECASE)  # anchored at a candidate from _WORD_START_RE
# Where a number word can start: a word from the lexicon ("a single" / "a half" are found from
# "single" / "half" and extended left in _tokens).
_WORD_STARTERS = {w.lower() for w in (*WORDS.cardinals, *WORDS.tens, *WORDS.fraction_dens, *WORDS.multiplicatives)}
_WORD_STARTERS |= {p.split()[-1].lower() for p in WORDS.single_phrases}
# Scanned over a lower-cased copy of the text: a case-sensitive trie is twice as fast.
_WORD_START_RE = re.compile(rf"(?<![A-Za-z0-9])(?:{_trie(sorted(_WORD_STARTERS))})(?![A-Za-z0-9])")
_WORD_START_CI_RE = re.compile(_WORD_START_RE.pattern, re.IGNORECASE)  # when lower() changes lengths
_ARTICLE_BEFORE = re.compile(rf"(?<![A-Za-z0-9])an?{_SP}+\Z", re.IGNORECASE)
_GLYPHS = "".join(WORDS.glyphs)
_DIGIT_RE = re.compile(
    rf"(?=[\d.{_GLYPHS}])(?:(?P<frac>(?:(?P<whole>\d{{1,3}}){_SP})?(?P<fn>\d{{1,2}})/(?P<fd>\d{{1,2}})(?![\d/]))"
    rf"|(?P<num>(?:\d{{1,3}}(?:,\d{{3}})+(?!\d)|\d+)(?:\.\d+)?|\.\d+)(?P<glyph>[{_GLYPHS}])?"
    rf"|(?P<gonly>[{_GLYPHS}]))"
)
_WORD_FULL = re.compile(rf"(?:{_WORD})\Z", re.IGNORECASE)
_DIGITS_FULL = re.compile(rf"[+{re.escape(_SIGNS)}]?(?:(?:\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.\d+)?[{_GLYPHS}]?|\.\d+|[{_GLYPHS}])")
_FRACTION_FULL = re.compile(r"(?:(\d{1,3})\s+)?(\d{1,2})/(\d{1,2})")
_CONFIRM_DIGIT = re.compile(rf"{_SP}*\({_SP}*(\d+(?:\.\d+)?){_SP}*\)")
_CONFIRM_WORD = re.compile(rf"{_SP}*\({_SP}*({_WORD}){_SP}*\)", re.IGNORECASE)

_MONTHS = _alt(WORDS.month_names)
_NUMBER_WORD_ALT = _alt(set(WORDS.cardinals) | set(WORDS.tens))
# "§§ 410.26 and 410.27", "Sections 410.74, 410.75 and 419.22": the rest of a list of identifiers.
_LIST_TAIL = rf"(?:{_SP}*(?:,|and|or|&|through|to|[-–]){_SP}*§*{_SP}*\d+(?:\.\d+)*[a-z]?(?![\d.]*{_SP}*[A-Za-z%°º]))*"
# Spans where digits identify rather than measure. Each group starts with a cheap gate.
_DIGIT_MASKS = [
    r"\d{1,2}[/\-.]\d{1,2}[/\-.]\d{2,4}\b",  # 7/15/2021, 7-15-2021
    r"\d{4}[/\-]\d{1,2}[/\-]\d{1,2}\b",  # 2021-07-15
    r"\d{1,2}/\d{4}\b",  # 10/2024
    rf"\d{{1,2}}(?:st|nd|rd|th)?{_SP}+(?:{_MONTHS})\b\.?(?:{_SP}*,?{_SP}*\d{{4}}\b)?",  # 21 January 2020
    rf"\d{{1,2}}:\d{{2}}(?::\d{{2}})?(?:{_SP}*(?i:a\.?m\.?|p\.?m\.?))?",  # 10:30 a.m.
    rf"\d{{1,2}}{_SP}*(?i:a\.m\.|p\.m\.)",
    rf"1[-.{_SPC}]\(\d{{3}}\){_SP}*\d{{3}}[-.]\d{{4}}\b",
    r"\d{3}[-.]\d{3}[-.]\d{4}\b",  # 410-786-3000
    r"1-8\d\d-[A-Z0-9][A-Z0-9-]*",  # 1-800-MEDICARE
    r"\d+(?:[-–]\d+){2,}\b",  # 11755-04-2, phone-like chains
    r"\d+(?:\.\d+){2,}\b",  # 13.5.4, 240.4.1
    # statute subsections: 1862(a)(1)(A), 1833 (e), 410.32(b); not "2 (two)"
    rf"\d+(?:\.\d+)?{_SP}?(?:[(\[](?!(?i:{_NUMBER_WORD_ALT})[)\]])(?:[a-zA-Z]{{1,5}}|\d{{1,3}})[)\]])+",
    # 42 CFR 410.32, 21 CFR part 807, 42 U.S.C. 1395y, 58 FR 18543
    rf"\d+{_SP}+(?:CFR|C\.F\.R\.|Code{_SP}+of{_SP}+Federal{_SP}+Regulations|U\.S\.C\.?|USC|United{_SP}+States{_SP}+Code|FR|Fed\.?{_SP}*Reg\.?|Stat\.)"
    rf"(?:{_SP}*\(CFR\))?(?:{_SP}*(?:(?i:parts?|sections?|subparts?)|§+)?{_SP}*\d+(?:\.\d+)*[a-z]?{_LIST_TAIL})?",
    # journal citations: 2018;28(1):87-99 / 28:87-99
    rf"\d{{4}}[a-z]?{_SP}*;{_SP}*\d+(?:{_SP}*\({_SP}*\d+(?:{_SP}*[-–]{_SP}*\d+)?{_SP}*\))?(?:{_SP}*:{_SP}*[A-Za-z]?\d+(?:{_SP}*[-–]{_SP}*[A-Za-z]?\d+)?)?",
    rf"\d+{_SP}*:{_SP}*\d+{_SP}*[-–]{_SP}*\d+\b",
]
_SYMBOL_MASKS = [
    rf"\(\d{{3}}\){_SP}*\d{{3}}[-.]\d{{4}}\b",  # (410) 786-3000
    rf"§+{_SP}*\d+(?:[.\-–]\d+)*[a-z]?(?:{_SP}*[(\[][^)\]\n]{{1,6}}[)\]])*{_LIST_TAIL}",
    rf"\(\d{{4}}[a-z]?\){_SP}*\d+(?:{_SP}*\(\d+\))?{_SP}*[,:]{_SP}*[A-Za-z]?\d+(?:{_SP}*[-–]{_SP}*\d+)?",  # (2018) 28, 87-99
    rf"\^{_SP}*\d+(?:{_SP}*[-–,]{_SP}*\d+)*",  # ^3-9,12 reference markers
    # a number list alone in brackets is a reference or a list label: "(1)", "(23)", "(1-4)", "[3, 4]"
    rf"[(\[]{_SP}*\d+(?:{_SP}*(?:[,\-–]|and|or|&){_SP}*\d+)*{_SP}*[)\]]",
]
_LINE_MASKS = [
    # list markers and numbered headings at the start of a line: "1. ", "(2) ", "10 - Payment Rules"
    r"^[ \t]*(?:[-*•▪◦·‣][ \t]*)?[(\[]?\d{1,3}[.):\]](?=[ \t]|$)",
    r"^[ \t]*\d+(?:\.\d+)+[ \t]+(?=[A-Z])",
    r"^[ \t]*\d+(?:\.\d+)*[ \t]*[-–—][ \t]+(?=[A-Z])",
]
_MASK_RES = (
    re.compile("(?=[\\d(\\[§^])(?:" + "|".join(f"(?:{p})" for p in (*_DIGIT_MASKS, *_SYMBOL_MASKS)) + ")"),
    re.compile("|".join(f"(?:{p})" for p in _LINE_MASKS), re.MULTILINE),
)
_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
# Read right to left from a number: what the words before it make of it.
_REV_NUM = r"[A-Za-z]?\d+(?:[.\-–]\d+)*"
_LEFT_REV_RE = re.compile(
    # "Section 50", "Pub. 100-02", "criteria (1-4)", "Sections 410.74, 410.75", "Type 2", "page 5 of 9"
    rf"(?P<label>(?:{_SP}*(?:,|dna|ro|&|fo|hguorht|ot|[-–]){_SP}*{_REV_NUM})*{_SP}*[(\[]?{_SP}*(?:#{_SP}*|\.on{_SP}*)?[.:]?"
    rf"(?:{_trie(sorted({w[::-1] for w in WORDS.label_words}))})(?![A-Za-z0-9]))"
    # "January 21", "Jan. 21, 2020", "January 2020", "21 January 2020"
    rf"|(?P<month>{_SP}*,?{_SP}*(?:(?:ts|dn|dr|ht)?\d{{1,2}}{_SP}+)?\.?(?-i:{_alt(m[::-1] for m in WORDS.month_names)})(?![A-Za-z]))"
    rf"|(?P<month2>{_SP}*,?{_SP}*\.?(?-i:{_alt(m[::-1] for m in WORDS.month_names)}){_SP}+(?:ts|dn|dr|ht)?\d{{1,2}}(?!\d))"
    rf"|(?P<etal>{_SP}*,?\.?la{_SP}+te(?![A-Za-z]))"  # "et al 54"
    rf"|(?P<fy>{_SP}*(?:YF|YC)(?![A-Za-z]))",  # "FY 2020"
    re.IGNORECASE,
)
_LEFT_WINDOW = 80
_LABEL_SET = frozenset(WORDS.label_words)
_LABEL_THEN_NUMBER = re.compile(rf"[A-Za-z]+{_SP}+\d")
_CONN_RE = re.compile(rf"{_SP}*(?P<dash>[-–—‒]){_SP}*|{_SP}+(?P<word>to|through|thru|and){_SP}+", re.IGNORECASE)
_ONCE_CONTEXT_RE = re.compile(rf"{_SP}+(?:{'|'.join(form_pattern(w) for w in sorted(WORDS.once_contexts, key=len, reverse=True))})(?![A-Za-z])", re.IGNORECASE)
_STAT_PREFIX_REV = re.compile(r"[ \t]*(?:eulav)?[ \t]*[-‐]?[ \t]*([A-Za-z])(?![A-Za-z0-9])")  # "p <", "n =", "p-value <"
_PREV_WORD_REV = re.compile(r"[ \t]*([A-Za-z]+)")
_PAREN_OPEN_RE = re.compile(rf"{_SP}*[(\[]{_SP}*")
_PAREN_CLOSE_RE = re.compile(rf"{_SP}*[)\]]")
_CONCENTRATION_HINT = re.compile(r"/\s*d(?![a-z])|per\s+d(?![a-z])", re.IGNORECASE)
_COMPARATOR_END_CHARS = frozenset("<>=≤≥⩽⩾≦≧/")
_MULTI_DASH_AFTER = re.compile(r"[-–]\d+[-–]\d")


# ---------------------------------------------------------------------------------------------------
# Numbers


def _cardinal(parts: list[str]) -> float | None:
    total = current = 0
    seen = False
    for part in parts:
        if part == "and":
            continue
        if part in WORDS.cardinals:
            current += WORDS.cardinals[part]
        elif part in WORDS.tens:
            current += WORDS.tens[part]
        elif part == "hundred":
            current = (current or 1) * 100
        elif part in WORDS.scales:
            total += (current or 1) * WORDS.scales[part]
            current = 0
        else:
            return None
        seen = True
    return float(total + current) if seen else None


def _word_value(written: str) -> float | None:
    words = re.sub(r"[\s\-]+", " ", written.lower()).strip()
    if words in WORDS.single_phrases:
        return float(WORDS.single_phrases[words])
    if words in WORDS.multiplicatives:
        return float(WORDS.multiplicatives[words])
    parts = words.split()
    if parts and parts[-1] in WORDS.fraction_dens:
        den = WORDS.fraction_dens[parts[-1]]
        if len(parts) == 1:
            return 1 / den if parts[0] in WORDS.bare_fractions else None
        num = 1.0 if parts[:-1] in (["a"], ["an"]) else _cardinal(parts[:-1])
        return None if num is None else num / den
    return _cardinal(parts)


def _is_fraction_word(written: str) -> bool:
    return written.lower().replace("-", " ").split()[-1] in WORDS.fraction_dens


def _digits_value(written: str) -> float:
    sign = -1.0 if written[:1] in _SIGNS else 1.0
    body = written.lstrip("+" + _SIGNS)
    glyph = WORDS.glyphs.get(body[-1:], 0.0) if body[-1:] in WORDS.glyphs else 0.0
    digits = body[:-1] if glyph else body
    return sign * ((float(digits.replace(",", "")) if digits else 0.0) + glyph)


def _fraction_ok(num: int, den: int) -> bool:
    return 0 < num < den and den in WORDS.digit_fraction_dens


def parse_number(text: str) -> float | None:
    """The value of a number as written, or None.

    Digits ("4", "1,000", "0.4", ".5", "-2.5" with a hyphen, en dash or minus sign), fractions ("1/2",
    "1 1/2", "½", "1½"), words ("four", "twenty-one", "one hundred", "one-quarter", "one half", "a
    single"), a word confirmed by its digit ("four (4)", "4 (four)"; None if they disagree), and the
    multiplicatives "once" (1), "twice" (2), "thrice" (3).
    """
    if not isinstance(text, str):
        return None
    s = text.strip()
    if not s:
        return None
    if _DIGITS_FULL.fullmatch(s):
        return _digits_value(s)
    m = _FRACTION_FULL.fullmatch(s)
    if m:
        num, den = int(m.group(2)), int(m.group(3))
        if not _fraction_ok(num, den):
            return None
        return (int(m.group(1)) if m.group(1) else 0) + num / den
    if _WORD_FULL.fullmatch(s):
        return _word_value(s)
    m = re.fullmatch(r"(.+?)\s*\(\s*(.+?)\s*\)", s)
    if m:
        outer, inner = parse_number(m.group(1)), parse_number(m.group(2))
        if outer is not None and inner is not None and outer == inner and not ("(" in m.group(1) or "(" in m.group(2)):
            return outer
    return None


# ---------------------------------------------------------------------------------------------------
# Tokens


@dataclass
class _Tok:
    start: int  # first character, minus sign included
    nstart: int  # first digit or letter
    core_end: int  # end of the number itself
    end: int  # end including a confirming "(4)" / "(four)"
    value: float
    kind: str  # "digit" | "word" | "fraction" | "mult" | "reject"
    digits: str  # the digits as written ("" for words)
    signed: bool
    needs_context: bool
    confirmed: bool


def _word_tokens(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    floor = 0
    lowered = text.lower()
    starts = _WORD_START_RE.finditer(lowered) if len(lowered) == len(text) else _WORD_START_CI_RE.finditer(text)
    for cand in starts:
        s = cand.start()
        if s < floor:
            continue
        article = _ARTICLE_BEFORE.search(text, max(0, s - 4), s)
        if article is not None:  # "a single", "a half", "an eighth"
            m = _WORD_RE.match(text, article.start())
            if m is not None:
                s = article.start()
        m = _WORD_RE.match(text, s)
        if m is None:
            continue
        written = m.group(0)
        value = _word_value(written)
        if value is None:
            continue
        e = m.end()
        lower = re.sub(r"[\s\-]+", " ", written.lower())
        if lower in WORDS.multiplicatives:
            kind = "mult"
        elif _is_fraction_word(written):
            kind = "fraction"
        else:
            kind = "word"
        tok = _Tok(s, s, e, e, value, kind, "", False, kind == "fraction" or lower in WORDS.needs_context, False)
        c = _CONFIRM_DIGIT.match(text, e)
        if c and kind != "mult" and float(c.group(1)) == value:
            tok.end, tok.confirmed = c.end(), True
        toks.append(tok)
        floor = tok.end
    return toks


def _digit_tokens(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    for m in _DIGIT_RE.finditer(text):
        s, e = m.start(), m.end()
        if m.group("frac") is not None:
            num, den = int(m.group("fn")), int(m.group("fd"))
            if not _fraction_ok(num, den):
                # "5/28" and "120/80" are dates and ratios, not fractions: nothing to read here.
                toks.append(_Tok(s, s, e, e, 0.0, "reject", m.group(0), False, False, False))
                continue
            value = (int(m.group("whole")) if m.group("whole") else 0) + num / den
            tok = _Tok(s, s, e, e, value, "fraction" if not m.group("whole") else "digit", m.group(0), False, False, False)
        else:
            written = m.group("num") or ""
            glyph = m.group("glyph") or m.group("gonly") or ""
            value = (float(written.replace(",", "")) if written else 0.0) + WORDS.glyphs.get(glyph, 0.0)
            tok = _Tok(s, s, e, e, value, "digit", written, False, False, False)
            if text.startswith("(", e) or text.startswith(" (", e):
                c = _CONFIRM_WORD.match(text, e)
                if c and _word_value(c.group(1)) == value:
                    tok.end, tok.confirmed = c.end(), True
        # A minus sign: a dash right before the digits that is not glued to a word or number on its left.
        if s > 0 and text[s - 1] in _SIGNS:
            before = text[s - 2] if s >= 2 else " "
            if not (before.isalnum() or before in ")]" or before in _DASHES):
                tok.start, tok.signed, tok.value = s - 1, True, -tok.value
        toks.append(tok)
    return toks


def _tokens(text: str) -> list[_Tok]:
    """Digit and word numbers, left to right, with confirmations ("four (4)") merged."""
    toks = _digit_tokens(text)
    words = _word_tokens(text)
    if not words:
        return toks
    merged = sorted(toks + words, key=lambda t: t.nstart)
    out: list[_Tok] = []
    floor = -1
    for tok in merged:
        if tok.nstart < floor:
            continue  # the "4" of "four (4)"
        out.append(tok)
        floor = tok.end
    return out


def _mask_spans(text: str) -> tuple[list[int], list[int]]:
    """Merged spans of all identifier masks, as parallel start/end lists."""
    patterns = _MASK_RES + ((_URL_RE,) if "://" in text or "www." in text.lower() else ())
    spans = sorted(m.span() for pattern in patterns for m in pattern.finditer(text) if m.end() > m.start())
    starts: list[int] = []
    ends: list[int] = []
    for s, e in spans:
        if ends and s <= ends[-1]:
            ends[-1] = max(ends[-1], e)
        else:
            starts.append(s)
            ends.append(e)
    return starts, ends


def _overlaps(spans: tuple[list[int], list[int]], s: int, e: int) -> bool:
    starts, ends = spans
    k = bisect.bisect_left(starts, e) - 1
    return k >= 0 and ends[k] > s


def _left_context(text: str, tok: _Tok) -> str | None:
    """"label" for a number a label word names ("Section 50"), "date" / "citation" for identifiers
    the words before it make ("January 21", "et al 54", "FY 2020"), else None."""
    if tok.start == 0 or not (text[tok.start - 1] in " \t\u00a0.:#([,&-–" or text[tok.start - 1].isalpha()):
        return None
    window = text[max(0, tok.start - _LEFT_WINDOW) : tok.start][::-1]
    m = _LEFT_REV_RE.match(window)
    if m is None:
        return None
    if m.group("label") is not None:
        return "label"
    return "date" if m.group("etal") is None else "citation"


def _left_glue(text: str, tok: _Tok) -> str:
    """"ok", "dash" (a dash glued to a word or number on its left: only a range's second number) or
    "reject" (glued to a word, a reference marker, a citation list ...)."""
    if tok.start == 0:
        return "ok"
    c = text[tok.start - 1]
    c2 = text[tok.start - 2] if tok.start >= 2 else " "
    if tok.kind in ("word", "mult") or (tok.kind == "fraction" and not tok.digits):
        return "reject" if c in _DASHES and c2.isalpha() else "ok"
    if c.isalnum() or c in "_^#$€£¥)].,:":
        return "reject"
    if c == "/" and c2.isalnum():
        return "reject"
    if c in _DASHES and not tok.signed:
        return "dash"
    return "ok"


def _right_reject(text: str, tok: _Tok, has_unit: bool) -> bool:
    """True when what follows the digits makes them part of an identifier, a date or a ratio."""
    if tok.kind not in ("digit", "fraction") or not tok.digits or tok.end != tok.core_end:
        return False
    e = tok.end
    nxt = text[e : e + 1]
    after = text[e + 1 : e + 2]
    if nxt in ".:/," and after.isdigit():
        return True
    if nxt in "-–" and after.isdigit() and _MULTI_DASH_AFTER.match(text, e):
        return True  # "7-15-2021"
    if has_unit:
        return False
    if nxt.isalpha():
        # "15headaches": a lost space before a word; "60th", "0232T", "3D", "1990s": not quantities.
        # Any letter, not just ASCII: str.isalpha() above is true for "À" too (found by tests/test_fuzz_numbers.py).
        word = re.match(r"[^\W\d_]*", text[e : e + 40]).group(0) or nxt
        return not (word.islower() and len(word) >= 4)
    if nxt in _DASHES and after.isupper():
        return True  # "5-FU", "5-HT3"
    return False


def _in_open_paren(text: str, pos: int) -> bool:
    line_start = text.rfind("\n", max(0, pos - 300), pos) + 1
    segment = text[line_start:pos]
    return segment.count("(") > segment.count(")")


# ---------------------------------------------------------------------------------------------------
# Mentions


@dataclass
class _Before:
    start: int
    key: str
    stat: str | None  # "drop" | "bare" | None
    gap: str  # words between the phrase and the number ("the age of")
    prev_word: str  # the word before the phrase, lower-cased ("" if not needed)


def _before(text: str, pos: int) -> _Before | None:
    """The comparator phrase ending right before `pos` (the number, its sign included)."""
    j = pos - 1
    while j >= 0 and text[j] in " \t\u00a0\u2009\u202f":
        j -= 1
    if j < 0 or not (text[j].isalpha() or text[j] in _COMPARATOR_END_CHARS):
        return None
    window = text[max(0, pos - 100) : pos][::-1]
    m = CMP.before_rev.match(window)
    if m is None:
        return None
    start = pos - m.end("cmp")
    phrase = text[start : pos - m.start("cmp")]
    key = _key(phrase)
    rest = window[m.end("cmp") :]
    stat = None
    if not key.isalpha():  # "p < 0.05", "n = 23"
        prefix = _STAT_PREFIX_REV.match(rest)
        if prefix:
            stat = CMP.statistic_prefixes.get(prefix.group(1).lower())
    prev_word = ""
    if key in CMP.before and CMP.before[key].not_after_words:
        prev = _PREV_WORD_REV.match(rest)
        prev_word = prev.group(1)[::-1].lower() if prev else ""
    return _Before(start, key, stat, m.group("gap")[::-1].lower(), prev_word)


def _unit_at(text: str, tok: _Tok, pos: int) -> UnitMatch | None:
    if tok.kind == "mult":
        return None
    concentration = False
    if "d" in text[pos : pos + 12].lower() and _CONCENTRATION_HINT.search(text, pos, pos + 12):
        line_start = text.rfind("\n", max(0, tok.start - 60), tok.start) + 1
        concentration = UNITS.concentration_re.search(text, max(line_start, tok.start - 60), tok.start) is not None
    found = match_unit(text, pos, concentration=concentration)
    if found is not None and _LABEL_THEN_NUMBER.match(text, found.start) and found.text.lower() in _LABEL_SET:
        return None  # "one level 3 hypoglycemic event": "level" names what "3" identifies
    return found


def _mult_unit(text: str, tok: _Tok) -> tuple[str, str, int]:
    """"once" is 1 time; "once per encounter" is 1 time per encounter."""
    dens, pos, first = [], tok.end, None
    while len(dens) < 3:
        m = UNITS.den_re.match(text, pos)
        if m is None:
            break
        first = m.start("den") if first is None else first
        dens.append(UNITS.den(m.group("den")) if m.group("den") not in UNITS.ambiguous_dens else "day")
        pos = m.end()
    if not dens:
        return "times", "", tok.end
    start = text.rfind("per", tok.end, first)
    start = start if start >= 0 else tok.end
    return "times" + "".join("/" + d for d in dens), text[start:pos].strip(), pos


def _is_year(tok: _Tok) -> bool:
    return tok.kind == "digit" and not tok.signed and len(tok.digits) == 4 and tok.digits.isdigit() and 1900 <= int(tok.digits) <= 2099


def _is_code(tok: _Tok) -> bool:
    d = tok.digits
    return tok.kind == "digit" and d.isdigit() and (len(d) >= 5 or (len(d) >= 2 and d[0] == "0"))


@dataclass
class _Range:
    b: _Tok
    unit: UnitMatch | None
    unit_name: str | None
    end: int


def _range(text: str, toks: list[_Tok], i: int, a: _Tok, ua: UnitMatch | None, connectors: frozenset[str], masks) -> _Range | str | None:
    """The second half of a range starting at token `a`, "reject" for a range of years or codes."""
    if i + 1 >= len(toks) or a.kind == "mult":
        return None
    pos = ua.end if ua else a.end
    m = _CONN_RE.match(text, pos)
    if m is None:
        return None
    conn = (m.group("dash") or m.group("word")).lower()
    if m.group("dash"):
        conn = "-" if conn in "-‒" else conn
        if conn not in connectors and "-" not in connectors:
            return None
    elif conn not in connectors:
        return None
    b = toks[i + 1]
    if b.kind in ("mult", "reject"):
        return None
    if b.start == m.end():
        value_b = b.value
    elif b.signed and b.nstart == m.end() and b.start < m.end():
        value_b = -b.value  # the dash read as b's minus sign is the range dash: "400 –600"
        b = _Tok(b.nstart, b.nstart, b.core_end, b.end, value_b, b.kind, b.digits, False, b.needs_context, b.confirmed)
    else:
        return None
    if m.group("dash") and (a.kind == "word" or b.kind == "word" or (a.kind == "fraction" and not a.digits)):
        return None  # "two-4" is not how ranges are written; a dash after a word is a compound
    if _overlaps(masks, b.nstart, b.core_end):
        return None
    ub = _unit_at(text, b, b.end)
    if _right_reject(text, b, ub is not None):
        return None
    if ua is not None and ub is not None:
        if ua.unit == ub.unit or ub.unit.startswith(ua.unit + "/"):
            unit_name = ub.unit
        else:
            return None  # "72 hours to 1 week": two quantities
    else:
        unit_name = (ub or ua).unit if (ub or ua) else None
    if unit_name is None and any(_is_year(t) or _is_code(t) for t in (a, b)):
        return "reject"
    if m.group("dash") and unit_name is None and b.digits[:1] == "0" and len(b.digits.split(".")[0]) > 1:
        return "reject"  # "100-02": a publication number
    return _Range(b, ub, unit_name, max(b.end, ub.end if ub else 0))


def _introduces_next(text: str, toks: list[_Tok], i: int, pos: int) -> bool:
    """Whether only spaces and gap words stand between `pos` and the next number."""
    j = i + 1
    while j < len(toks) and toks[j].start < pos:
        j += 1
    return j < len(toks) and toks[j].start - pos <= 40 and CMP.gap_re.fullmatch(text, pos, toks[j].start) is not None


def _comparator_before(text: str, a: _Tok, floor: int) -> _Before | None | str:
    """The comparator phrase before `a`, "drop" for a statistic to drop ("p < 0.05"), else None."""
    before = _before(text, a.start)
    if before is None or before.start < floor:
        return None  # nothing, or words that belong to the previous mention
    if before.stat == "drop":
        return "drop"
    return None if before.stat == "bare" else before


def _range_quantity(text: str, toks: list[_Tok], i: int, ua: UnitMatch | None, before: _Before | None, labelled: bool, masks) -> Quantity | str | None:
    """The range starting at token i ("0.4 to 1.5 g/kg", "between 15 and 65"), "reject" for a range
    of identifiers ("2014 to 2019"), or None when token i does not start a range."""
    a = toks[i]
    opener = before.key if before is not None and before.key in CMP.openers else None
    rng = _range(text, toks, i, a, ua, CMP.openers[opener] if opener else CMP.connectors, masks)
    if rng is None or rng == "reject":
        return rng
    if labelled and rng.unit_name is None:
        return None  # "criteria 1-7"
    return Quantity(
        start=before.start if opener else a.start,
        end=rng.end,
        low=min(a.value, rng.b.value),
        high=max(a.value, rng.b.value),
        comparator="between",
        unit=rng.unit_name,
        unit_text=rng.unit.text if rng.unit else (ua.text if ua else ""),
        number_start=a.start,
        number_end=rng.b.end,
    )


def _counts(text: str, a: _Tok, unit: str | None, comparator: str | None, after_cmp: str | None, labelled: bool) -> bool:
    """Whether a lone number is a quantity, given what was read around it."""
    if a.kind == "mult" and a.value == 1 and comparator is None and not _ONCE_CONTEXT_RE.match(text, a.end):
        return False  # "once the arrhythmia has been documented"
    if unit is not None or comparator is not None:
        if labelled and unit is None and after_cmp is None:
            return False  # "Type 2" is a label even when a phrase before it reads like a comparator
        return True
    if labelled or (a.needs_context and not a.confirmed):
        return False  # "Section 50"; "one of the following"
    if _is_year(a) or _is_code(a):
        return False  # "in 2019", "93287"
    if text[a.end : a.end + 1] == ")" and a.kind == "digit" and not _in_open_paren(text, a.start):
        return False  # "it must 1) be eligible ... 2) be reasonable"
    return True


def _single_quantity(text: str, toks: list[_Tok], i: int, ua: UnitMatch | None, plus_end: int | None, before: _Before | None, labelled: bool) -> tuple[Quantity | None, int]:
    """A single value with its unit and comparator, and the index of the first token after it."""
    a = toks[i]
    if a.kind == "mult":
        unit, unit_text, end = _mult_unit(text, a)
    else:
        unit = ua.unit if ua else None
        unit_text = ua.text if ua else ""
        end = ua.end if ua else (plus_end or a.end)
    after_cmp = CMP.glued_after.get("+") if plus_end is not None else None
    if after_cmp is None:
        m = CMP.after_re.match(text, end)
        if m is not None and not _introduces_next(text, toks, i, m.end()):  # "30% and over the age of 50"
            after_cmp = CMP.after[_key(m.group("after"))]
            end = m.end()
            if unit is None and a.kind != "mult":
                late = _unit_at(text, a, end)  # "two or more cycles"
                if late is not None:
                    unit, unit_text, end = late.unit, late.text, late.end
    comparator, start = None, a.start
    if before is not None and before.key not in CMP.openers:
        phrase = CMP.before[before.key]
        kind = "age" if any(w in CMP.age_words for w in before.gap.split()) else (ua.kind if ua else None)
        if (kind is None or kind not in phrase.not_before_kinds) and before.prev_word not in phrase.not_after_words:
            comparator, start = phrase.comparator, before.start
    comparator = comparator or after_cmp
    if not _counts(text, a, unit, comparator, after_cmp, labelled):
        return None, i + 1
    nxt = i + 1
    while nxt < len(toks) and toks[nxt].nstart < end:
        nxt += 1
    quantity = Quantity(start, end, a.value, None, comparator, unit, unit_text, a.start, a.end)
    return quantity, nxt


def _build(text: str, toks: list[_Tok], i: int, masks, floor: int = 0) -> tuple[Quantity | None, int]:
    """The mention starting at token i (not reaching back before `floor`), and the next token index."""
    a = toks[i]
    if a.kind == "reject" or _overlaps(masks, a.nstart, a.core_end) or _left_glue(text, a) != "ok":
        return None, i + 1
    left = _left_context(text, a)
    if left in ("date", "citation"):
        return None, i + 1
    ua = _unit_at(text, a, a.end)
    plus_end = None
    if ua is None and text[a.end : a.end + 1] == "+" and not text[a.end + 1 : a.end + 2].isdigit() and "+" in CMP.glued_after:
        plus_end = a.end + 1  # "65+", "65+ years"
        ua = _unit_at(text, a, plus_end)
    if _right_reject(text, a, ua is not None or plus_end is not None):
        return None, i + 1
    before = _comparator_before(text, a, floor)
    if before == "drop":
        return None, i + 1
    if plus_end is None:
        rng = _range_quantity(text, toks, i, ua, before, left == "label", masks)
        if rng == "reject":
            return None, i + 2
        if rng is not None:
            return rng, i + 2
    return _single_quantity(text, toks, i, ua, plus_end, before, left == "label")


def find_quantities(text: str) -> list[Quantity]:
    """Every numeric mention in `text`, left to right and non-overlapping (see the module doc)."""
    if not text:
        return []
    toks = _tokens(text)
    if not toks:
        return []
    masks = _mask_spans(text)
    out: list[Quantity] = []
    i, floor = 0, 0
    while i < len(toks):
        if toks[i].nstart < floor:
            i += 1
            continue
        q, i = _build(text, toks, i, masks, floor)
        if q is None:
            continue
        out.append(q)
        floor = q.end
        if q.unit is not None and i < len(toks):
            # A parenthesised restatement in other units right after: "< 54 mg/dL (3.0 mmol/L)".
            m = _PAREN_OPEN_RE.match(text, q.end)
            if m is not None and toks[i].start == m.end():
                alt, j = _build(text, toks, i, masks, floor)
                if alt is not None and alt.unit is not None and alt.comparator is None and _PAREN_CLOSE_RE.match(text, alt.end):
                    floor, i = alt.end, j
    return out
