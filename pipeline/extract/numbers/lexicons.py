"""The number-words and comparator lexicons: JSON data files validated once at import, and compiled
into `WORDS` and `CMP`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.datamodel import COMPARATORS
from pipeline.extract.units import (
    DATA_DIR,
    UNITS,
    check,
    form_pattern,
    read_lexicon,
    string_list,
)


NUMBER_WORDS_PATH = DATA_DIR / "number_words.json"
COMPARATORS_PATH = DATA_DIR / "comparators.json"

_SP = "[ \\t\u00a0\u2009\u202f]"  # spaces within a line
_DASHES = "-–−‒—"
_SIGNS = "-–−‒"


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
