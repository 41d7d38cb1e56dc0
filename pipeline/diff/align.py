"""Aligning the facts of two versions by meaning: folded keys, name similarity, one-to-one assignment.

A corrected spelling, an added accent, a reworded or abbreviated name is the same indication; a name
that differs by a qualifier ("non-small cell", "recurrent") or a number ("type 1") is another one.
Pairs are chosen by an optimal assignment over similarity scores (rapidfuzz, scipy), so that one
near-match cannot take the partner of a better one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from difflib import SequenceMatcher

import numpy as np
from rapidfuzz import fuzz
from scipy.optimize import linear_sum_assignment

from pipeline.text import fold

T = TypeVar("T")
U = TypeVar("U")

DATA_FILE = Path(__file__).parent / "data" / "alignment.json"

_PAREN = re.compile(r"\(([^()]*)\)")
NUMBER = re.compile(r"\d+(?:\.\d+)?")  # a number as the diff compares it
SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")  # where a line of policy text divides into sentences
_DESCRIPTION_WORDS = 6  # a name this long apart from its numbers describes a case rather than naming a category


class AlignmentDataError(ValueError):
    """pipeline/diff/data/alignment.json is malformed."""


@dataclass(frozen=True)
class AlignmentLexicon:
    """The diff's word lists and similarity bars (see the data file's description)."""

    meaning_words: frozenset[str]
    name_qualifiers: frozenset[str]
    generic_words: frozenset[str]
    negation_words: frozenset[str]
    symbol_words: dict[str, str]
    name_similarity: float
    token_similarity: float
    measure_similarity: float
    criterion_similarity: float
    sentence_similarity: float


@lru_cache(maxsize=1)
def lexicon() -> AlignmentLexicon:
    """The validated alignment lexicon (read once)."""
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    words = {}
    for key in ("meaning_words", "name_qualifiers", "generic_words", "negation_words"):
        values = data.get(key)
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v == fold(v) and " " not in v for v in values):
            raise AlignmentDataError(f"{DATA_FILE}: {key!r} must be a non-empty list of folded single words")
        words[key] = frozenset(values)
    symbols = data.get("symbol_words")
    if not isinstance(symbols, dict) or not all(
        isinstance(k, str) and len(k) == 1 and isinstance(v, str) and v.isalpha() and v == fold(v) for k, v in symbols.items()
    ):
        raise AlignmentDataError(f"{DATA_FILE}: 'symbol_words' must map single characters to folded words")
    words["symbol_words"] = dict(symbols)
    bars = {}
    for key in ("name_similarity", "token_similarity", "measure_similarity", "criterion_similarity", "sentence_similarity"):
        value = data.get(key)
        if not isinstance(value, (int, float)) or not 0 < value <= 100:
            raise AlignmentDataError(f"{DATA_FILE}: {key!r} must be a similarity in (0, 100], got {value!r}")
        bars[key] = float(value)
    return AlignmentLexicon(**words, **bars)


_LIST_MARKER = re.compile(r"^\s*(?:-\s+)?(?:\(?(?:\d{1,2}|[a-z]|[ivx]{2,4})[.)]\s+)?", re.IGNORECASE)


def unmarked(sentence: str | None) -> str:
    """A sentence without its list marker ("- 6.", "- b)"), which numbers the layout, not the policy
    (reordered items renumber)."""
    return _LIST_MARKER.sub("", sentence or "", count=1)


def statement(sentence: str | None) -> str:
    """A sentence as a comparable statement: without its list marker, folded."""
    return fold(unmarked(sentence))


def numbers_in(text: str | None) -> list[float]:
    """The numbers written in a text, as values (so "2.0" and "2" are one number)."""
    return [float(n) for n in NUMBER.findall(text or "")]


def name_forms(*names: str | None) -> frozenset[str]:
    """The folded forms an indication goes by: each name, the name without its parentheses, and what
    the parentheses hold ("Chronic inflammatory demyelinating polyneuropathy (CIDP)" -> also "cidp")."""
    forms: set[str] = set()
    for name in names:
        if not name:
            continue
        forms.add(fold(name))
        forms.add(fold(_PAREN.sub(" ", name)))
        forms.update(fold(inner) for inner in _PAREN.findall(name))
    return frozenset(f for f in forms if f)


def same_words(a: str, b: str) -> bool:
    """Whether two folded names say the same words, up to typos and generic words: every word of one
    has a close counterpart in the other (numbers and qualifiers exactly)."""
    lex = lexicon()
    x, y = [w for w in a.split() if not w.isdigit()], [w for w in b.split() if not w.isdigit()]
    if NUMBER.findall(a) != NUMBER.findall(b) and not (lex.meaning_words & set(x) & set(y)) and (x != y or len(x) < _DESCRIPTION_WORDS):
        # "type 1" and "type 2" are two conditions; a "name" that states a limit ("at least 75%
        # reduction of pain") or describes one at length ("severe depression defined by a score of 20
        # on the PHQ-9") is one indication whose number changed.
        return False
    return _covered(x, y, lex) and _covered(y, x, lex)


def _covered(words: list[str], other: list[str], lex: AlignmentLexicon) -> bool:
    """Every word of `words` is generic or has a counterpart in `other`, itself or a spelling of it
    (numbers and logic words exactly; a qualifier never stands for another qualifier)."""
    for word in words:
        if word in lex.generic_words or word in other:
            continue
        if not any(_typo(word, candidate, lex) for candidate in other):
            return False
    return True


def names_overlap(a: str, b: str) -> bool:
    """Whether one folded name is the other cut shorter or longer, up to typos: every word of the
    shorter has a counterpart in the longer ("stage 3 full thicnkess" / "stage 3 full thickness tissue")."""
    x, y = sorted((a.split(), b.split()), key=len)
    return bool(x) and _covered(x, y, lexicon())


NUMBER_EDIT, NEGATION_EDIT = "number", "negation"


def sentence_edit(sentence: str | None, other: str | None, within: bool = False) -> frozenset[str] | None:
    """What differs between two sentences when they say the same words up to typos: the empty set
    (an editorial edit), or NUMBER_EDIT / NEGATION_EDIT when only numbers or negations changed; None
    when any other word changed. `within`: `other` is a line that may hold whole sentences before and
    after this one."""
    lex = lexicon()
    x = _words(sentence, lex)
    parts = [_words(part, lex) for part in SENTENCE_END.split(unmarked(other))] if within else [_words(other, lex)]
    y = [word for part in parts for word in part]
    if not x or not y:
        return None
    bounds = {0}
    for part in parts:
        bounds.add(max(bounds) + len(part))
    ops = [op for op in SequenceMatcher(None, x, y, autojunk=False).get_opcodes() if op[0] != "equal"]
    if within:
        # Sentences of the line before and after this one are not an edit of it (a phrase inside one is).
        ops = [
            op for op in ops
            if not (op[0] == "insert" and ((op[3] == 0 and op[4] in bounds) or (op[1] == len(x) and op[3] in bounds and op[4] == len(y))))
        ]
    kinds: set[str] = set()
    for tag, i1, i2, j1, j2 in ops:
        old, new = x[i1:i2], y[j1:j2]
        if "".join(old) == "".join(new):
            continue  # a hyphen or space moved ("wet-to-dry", "wet to dry")
        changed = old + new
        if all(w.isdigit() for w in changed):
            kinds.add(NUMBER_EDIT)
        elif tag in ("insert", "delete") and all(w in lex.negation_words for w in changed):
            kinds.add(NEGATION_EDIT)
        elif tag == "replace" and len(old) == len(new) and all(_typo(p, q, lex) or (p.isdigit() and q.isdigit()) for p, q in zip(old, new)):
            kinds.update(NUMBER_EDIT for p, q in zip(old, new) if p != q and p.isdigit())
        else:
            return None
    return frozenset(kinds)


_DIGITS_APART = re.compile(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)")


def _words(sentence: str | None, lex: AlignmentLexicon) -> list[str]:
    """The folded words of a sentence without its list marker, comparison signs spelt as words and
    numbers apart from the units written against them ("400ml" is 400 and ml)."""
    text = unmarked(sentence)
    for symbol, word in lex.symbol_words.items():
        text = text.replace(symbol, f" {word} ")
    return _DIGITS_APART.sub(" ", fold(text)).split()


def _typo(a: str, b: str, lex: AlignmentLexicon) -> bool:
    """Whether two words are one word spelt two ways (numbers are compared, not spelt)."""
    if any(ch.isdigit() for ch in a + b) or {a, b} & lex.meaning_words:
        return a == b
    if a in lex.name_qualifiers and b in lex.name_qualifiers:
        return a == b  # "active" / "inactive": two qualifiers are two conditions however alike
    return min(len(a), len(b)) >= 4 and fuzz.ratio(a, b) >= lex.token_similarity


def name_score(a: frozenset[str], b: frozenset[str]) -> float:
    """How alike two indications' names are, 0-100: 100 when they share a form, else the best
    token-order-insensitive similarity of two forms that say the same words, else 0."""
    if a & b:
        return 100.0
    best = 0.0
    for x in a:
        for y in b:
            if same_words(x, y):
                best = max(best, fuzz.token_sort_ratio(x, y))
    return best


def assign(
    before: Sequence[T],
    after: Sequence[U],
    score: Callable[[T, U], float],
    minimum: float,
) -> list[tuple[int, int]]:
    """The one-to-one pairing of `before` and `after` items with the highest total score, keeping only
    pairs that score at least `minimum` (index pairs, in `before` order)."""
    if not before or not after:
        return []
    scores = np.array([[score(b, a) for a in after] for b in before], dtype=float)
    eligible = scores >= minimum
    if not eligible.any():
        return []
    # Ineligible pairs cost more than any eligible set can gain, so they are chosen only when forced.
    cost = np.where(eligible, -scores, len(before) * len(after) * 101.0)
    rows, cols = linear_sum_assignment(cost)
    return sorted((int(r), int(c)) for r, c in zip(rows, cols) if eligible[r, c])
