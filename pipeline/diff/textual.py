"""The safety net under the fact diff: policy sentences whose numbers or logic words changed.

Extraction misses facts, and a missed fact must never hide a policy change. So the policy sections of
two versions are also compared as text: sentences equal after folding (case, accents, quotes,
punctuation, whitespace) cancel wherever they stand, so moved and reordered text is nothing; what is
left is compared word by word, and a region whose numbers or meaning words ("not", "only", "less",
"within", ...) differ is a `text_changed` change -- unless a fact change of the same revision is about
that sentence already. Spelling, wording, re-wrapping and punctuation never produce one.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

from rapidfuzz import fuzz

from pipeline.diff.align import SENTENCE_END, fold, lexicon, unmarked
from pipeline.diff.facts import PolicyChange
from pipeline.extract.numbers import load_number_words

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+")
_EXCERPT = 90


@dataclass(frozen=True)
class _Unit:
    """One sentence (or list item) of a policy section."""

    section: str
    text: str
    folded: str


@dataclass
class _Region:
    """Sentences of both versions that a changed stretch of words touches."""

    old: set[int]
    new: set[int]
    old_sig: Counter
    new_sig: Counter


def text_changes(
    before: Sequence[tuple[str, str]], after: Sequence[tuple[str, str]], fact_changes: Sequence[PolicyChange]
) -> list[PolicyChange]:
    """`text_changed` changes between the policy sections (section name, text) of two versions: the
    sentences whose numbers or meaning words changed and that no change in `fact_changes` is about."""
    old_units, new_units = _units(before), _units(after)
    old_left, new_left = _uncancelled(old_units, new_units)
    if not old_left and not new_left:
        return []
    regions = _moves_cancelled(_regions([old_units[i] for i in old_left], [new_units[j] for j in new_left]))
    changes = []
    for region in regions:
        olds = [old_units[old_left[i]] for i in sorted(region.old)]
        news = [new_units[new_left[j]] for j in sorted(region.new)]
        if _explained(olds + news, fact_changes):
            continue
        changes.append(_change(olds, news))
    return changes


def _units(sections: Sequence[tuple[str, str]]) -> list[_Unit]:
    """The sentences of the policy sections: each line split at sentence ends."""
    units = []
    for name, text in sections:
        for line in text.splitlines():
            for part in SENTENCE_END.split(unmarked(line.strip())):
                folded = _key(part)
                if folded:
                    units.append(_Unit(name, part.strip(), folded))
    return units


def _uncancelled(old: list[_Unit], new: list[_Unit]) -> tuple[list[int], list[int]]:
    """Indexes of the sentences left when every sentence equal (folded) to one on the other side is
    cancelled one to one, in document order."""
    waiting: dict[str, list[int]] = {}
    for j, unit in enumerate(new):
        waiting.setdefault(unit.folded, []).append(j)
    old_left, used = [], set()
    for i, unit in enumerate(old):
        candidates = waiting.get(unit.folded)
        if candidates:
            used.add(candidates.pop(0))
        else:
            old_left.append(i)
    return old_left, [j for j in range(len(new)) if j not in used]


def _key(text: str) -> str:
    """A sentence's comparison key: its tokens, signs kept ("< 400" and "> 400" do not cancel)."""
    return " ".join(_tokens(text))


def _tokens(text: str) -> list[str]:
    """Words and numbers of a text, accents folded and lower case; "1,000" is 1000 and a number word
    is its digits ("two" is 2), so that writing a number either way is no change; comparison signs are
    words of their own ("<" is "lessthan"), so that a flipped sign is a change."""
    for symbol, word in lexicon().symbol_words.items():
        text = text.replace(symbol, f" {word} ")
    bare = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)).casefold()
    digits = _number_words()
    return [t.replace(",", "") if t[0].isdigit() else digits.get(t, t) for t in _TOKEN.findall(bare)]


@lru_cache(maxsize=1)
def _number_words() -> dict[str, str]:
    """Number words as the digits they stand for (from the extractor's number lexicon)."""
    words = load_number_words()
    return {fold(w): str(n) for table in (words.cardinals, words.tens, words.multiplicatives) for w, n in table.items()}


def _significant(token: str) -> bool:
    """Whether a token carries a sentence's numbers or logic."""
    lex = lexicon()
    return token[0].isdigit() or token in lex.meaning_words or token in _sign_words()


@lru_cache(maxsize=1)
def _sign_words() -> frozenset[str]:
    """The words comparison signs are spelt as (a changed sign changes the policy)."""
    return frozenset(lexicon().symbol_words.values())


def _regions(old: list[_Unit], new: list[_Unit]) -> list[_Region]:
    """The stretches where the word streams of the leftover sentences differ in numbers or meaning
    words, each with the sentences it touches (stretches sharing a sentence are merged)."""
    a = [(t, i) for i, unit in enumerate(old) for t in _tokens(unit.text)]
    b = [(t, j) for j, unit in enumerate(new) for t in _tokens(unit.text)]
    matcher = SequenceMatcher(None, [t for t, _ in a], [t for t, _ in b], autojunk=False)
    regions: list[_Region] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        old_sig = Counter(t for t, _ in a[i1:i2] if _significant(t))
        new_sig = Counter(t for t, _ in b[j1:j2] if _significant(t))
        if old_sig == new_sig:
            continue  # a spelling or wording edit: same numbers, same logic
        olds = {u for _, u in a[i1:i2]} or _neighbour(a, i1)
        news = {u for _, u in b[j1:j2]} or _neighbour(b, j1)
        region = _Region(olds, news, old_sig, new_sig)
        for other in regions:
            if other.old & region.old or other.new & region.new:
                other.old |= region.old
                other.new |= region.new
                other.old_sig += region.old_sig
                other.new_sig += region.new_sig
                break
        else:
            regions.append(region)
    return regions


def _neighbour(stream: list[tuple[str, int]], at: int) -> set[int]:
    """The sentence an insertion point falls in (the one before it, at a boundary)."""
    if not stream:
        return set()
    return {stream[min(max(at - 1, 0), len(stream) - 1)][1]}


def _moves_cancelled(regions: list[_Region]) -> list[_Region]:
    """Regions left after a pure deletion and a pure insertion of the same numbers and words (a
    sentence moved and touched on the way) cancel each other."""
    kept = list(regions)
    for deletion in [r for r in regions if r.old_sig and not r.new_sig]:
        for insertion in [r for r in kept if r.new_sig and not r.old_sig]:
            if deletion in kept and insertion.new_sig == deletion.old_sig:
                kept.remove(deletion)
                kept.remove(insertion)
                break
    return kept


def _explained(units: list[_Unit], fact_changes: Sequence[PolicyChange]) -> bool:
    """Whether a fact change of this revision is about one of these sentences already."""
    bar = lexicon().sentence_similarity
    for change in fact_changes:
        for said in (change.before_sentence, change.after_sentence, change.before, change.after):
            folded = _key(said or "")
            if len(folded) < 4:
                continue
            for unit in units:
                if folded in unit.folded or unit.folded in folded or fuzz.token_set_ratio(folded, unit.folded) >= bar:
                    return True
    return False


def _change(olds: list[_Unit], news: list[_Unit]) -> PolicyChange:
    """The text_changed change of one region: the sentences before and after."""
    before = " ".join(u.text for u in olds) or None
    after = " ".join(u.text for u in news) or None
    ref = (news or olds)[0]
    return PolicyChange(
        change_type="text_changed",
        subject=_excerpt(after or before or ""),
        before=before,
        after=after,
        before_sentence=before,
        after_sentence=after,
        indication=None,
        section=ref.section,
    )


def _excerpt(text: str) -> str:
    """The first words of a sentence, as the change's subject."""
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1].rsplit(" ", 1)[0] + "…"
