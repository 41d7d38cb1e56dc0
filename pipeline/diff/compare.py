"""The policy diff: pure functions from two snapshots to the list of changes between them.

Facts are aligned by meaning, never by position or offset: a reflowed paragraph, a typo fixed in a
sentence or a reordered list moves offsets and rewrites sentences but leaves the facts equal, so it
yields no change.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from itertools import zip_longest
from typing import TypeVar

from pipeline.diff.facts import (
    CriterionFact,
    DoseFact,
    IndicationFact,
    PolicyChange,
    PolicySnapshot,
    ThresholdFact,
)

T = TypeVar("T")

# Only facts stated in policy sections are compared. Evidence sections summarise the literature
# ("patients received 2 g/kg in trial X"); a new citation there is not a change in what is covered.
POLICY_SECTION = "policy"

# A criterion edit that changes any of these words (or any number) changes its meaning, however small
# the edit; anything else under the similarity bar below is a typo or wording fix.
_MEANING_WORDS = frozenset(
    "not no nor never without except unless and or only older younger less greater more fewer "
    "before after above below under over least most prior within".split()
)
_TYPO_SIMILARITY = 0.9


def normalize_text(text: str | None) -> str:
    """Lower-case, punctuation and runs of whitespace collapsed to one space: the comparable form."""
    return re.sub(r"[\W_]+", " ", (text or "").casefold()).strip()


def format_number(value: float) -> str:
    """A number as a person writes it: 2 not 2.0, 0.4 not 0.40000000000000002."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.6g}"


def format_dose(dose: DoseFact) -> str:
    """A dose as readable text, e.g. "0.4–1.5 g/kg monthly"."""
    amount = format_number(dose.amount_low)
    if dose.amount_high != dose.amount_low:
        amount = f"{amount}–{format_number(dose.amount_high)}"
    return " ".join(part for part in (amount, dose.unit, dose.frequency) if part)


def format_threshold(threshold: ThresholdFact) -> str:
    """A threshold as readable text, e.g. "IgG < 400 mg/dL" or "age 2–18 years"."""
    if threshold.comparator == "between" and threshold.value_high is not None:
        limit = f"{format_number(threshold.value)}–{format_number(threshold.value_high)}"
    else:
        limit = f"{threshold.comparator} {format_number(threshold.value)}"
    return " ".join(part for part in (threshold.measure, limit, threshold.unit) if part)


def dose_subject(dose: DoseFact) -> str:
    """The subject of a dose change, e.g. "IVIG maintenance dose"."""
    return " ".join(part for part in (dose.drug, dose.phase, "dose") if part)


def threshold_subject(threshold: ThresholdFact) -> str:
    """The subject of a threshold change: its measure, flagged when it excludes coverage."""
    suffix = " (exclusion)" if threshold.polarity == "exclusion" else ""
    return f"{threshold.measure}{suffix}"


def diff_snapshots(before: PolicySnapshot, after: PolicySnapshot) -> list[PolicyChange]:
    """The policy changes from `before` to `after`: indications, then doses, thresholds, criteria."""
    return [
        *diff_indications(before.indications, after.indications),
        *diff_doses(before.doses, after.doses),
        *diff_thresholds(before.thresholds, after.thresholds),
        *diff_criteria(before.criteria, after.criteria),
    ]


@dataclass(frozen=True)
class MergedIndication:
    """All policy mentions of one normalized indication in a version, merged into one."""

    normalized_name: str
    name: str
    coverage: str
    sentence: str | None
    section_name: str


def merge_indications(facts: Sequence[IndicationFact]) -> dict[str, MergedIndication]:
    """Policy indications keyed by comparable name; an indication named twice in a version is one."""
    groups: dict[str, list[IndicationFact]] = defaultdict(list)
    for fact in sorted(_policy(facts), key=lambda f: (f.char_start is None, f.char_start or 0)):
        groups[normalize_text(fact.normalized_name)].append(fact)
    return {key: _merge_mentions(mentions) for key, mentions in groups.items()}


def _merge_mentions(mentions: list[IndicationFact]) -> MergedIndication:
    """One indication from its mentions; an 'unclear' mention yields to any definite one."""
    coverages = {m.coverage for m in mentions}
    definite = coverages - {"unclear"}
    merged = definite or coverages
    first = next(m for m in mentions if m.coverage in merged)
    return MergedIndication(first.normalized_name, first.name, ", ".join(sorted(merged)), first.sentence, first.section_name)


def diff_indications(before: Sequence[IndicationFact], after: Sequence[IndicationFact]) -> Iterator[PolicyChange]:
    """Indications added, removed, or whose coverage changed."""
    old, new = merge_indications(before), merge_indications(after)
    for key in sorted(old.keys() | new.keys()):
        b, a = old.get(key), new.get(key)
        if b is None:
            yield PolicyChange("indication_added", a.name, None, a.coverage, None, a.sentence, a.normalized_name, a.section_name)
        elif a is None:
            yield PolicyChange("indication_removed", b.name, b.coverage, None, b.sentence, None, b.normalized_name, b.section_name)
        elif b.coverage != a.coverage:
            yield PolicyChange("coverage_changed", a.name, b.coverage, a.coverage, b.sentence, a.sentence, a.normalized_name, a.section_name)


def _dose_key(dose: DoseFact) -> tuple:
    """What makes two doses the same dose: indication, drug, phase, unit."""
    return (normalize_text(dose.indication) or None, normalize_text(dose.drug) or None, dose.phase, dose.unit)


def _dose_value(dose: DoseFact) -> tuple:
    """What makes two same doses equal: amounts and frequency."""
    return (round(dose.amount_low, 9), round(dose.amount_high, 9), normalize_text(dose.frequency))


def diff_doses(before: Sequence[DoseFact], after: Sequence[DoseFact]) -> Iterator[PolicyChange]:
    """Policy doses added, removed or changed."""
    for b, a in align(_policy(before), _policy(after), _dose_key, _dose_value):
        yield _fact_change("dose", b, a, dose_subject, format_dose)


def _threshold_key(threshold: ThresholdFact) -> tuple:
    """What makes two thresholds the same limit: indication, measure, polarity."""
    return (normalize_text(threshold.indication) or None, normalize_text(threshold.measure), threshold.polarity)


def _threshold_value(threshold: ThresholdFact) -> tuple:
    """What makes two same limits equal: comparator, values, unit."""
    high = round(threshold.value_high, 9) if threshold.value_high is not None else None
    return (threshold.comparator, round(threshold.value, 9), high, threshold.unit)


def diff_thresholds(before: Sequence[ThresholdFact], after: Sequence[ThresholdFact]) -> Iterator[PolicyChange]:
    """Policy thresholds added, removed or changed (value, comparator or unit)."""
    for b, a in align(_policy(before), _policy(after), _threshold_key, _threshold_value):
        yield _fact_change("threshold", b, a, threshold_subject, format_threshold)


def _fact_change(
    kind: str,
    b: DoseFact | ThresholdFact | None,
    a: DoseFact | ThresholdFact | None,
    subject: Callable,
    readable: Callable,
) -> PolicyChange:
    """The change for one aligned (before, after) pair of doses or thresholds."""
    ref = a if a is not None else b
    change_type = f"{kind}_added" if b is None else f"{kind}_removed" if a is None else f"{kind}_changed"
    return PolicyChange(
        change_type=change_type,
        subject=subject(ref),
        before=readable(b) if b is not None else None,
        after=readable(a) if a is not None else None,
        before_sentence=(b.sentence or b.text) if b is not None else None,
        after_sentence=(a.sentence or a.text) if a is not None else None,
        indication=ref.indication,
        section=ref.section_name,
    )


def diff_criteria(before: Sequence[CriterionFact], after: Sequence[CriterionFact]) -> Iterator[PolicyChange]:
    """Policy criteria added or removed, compared per indication by normalized text."""
    groups: dict[str | None, tuple[list[CriterionFact], list[CriterionFact]]] = defaultdict(lambda: ([], []))
    for fact in _policy(before):
        groups[normalize_text(fact.indication) or None][0].append(fact)
    for fact in _policy(after):
        groups[normalize_text(fact.indication) or None][1].append(fact)
    for key in sorted(groups, key=lambda k: (k is not None, k or "")):
        olds, news = groups[key]
        olds, news = cancel_pairs(olds, news, lambda x, y: normalize_text(x.text) == normalize_text(y.text))
        olds, news = cancel_pairs(olds, news, lambda x, y: same_criterion(x.text, y.text))
        for fact in olds:
            yield _criterion_change("criterion_removed", fact)
        for fact in news:
            yield _criterion_change("criterion_added", fact)


def same_criterion(a: str, b: str) -> bool:
    """Whether two criterion texts differ only by a typo-level edit that keeps numbers and logic."""
    x, y = normalize_text(a), normalize_text(b)
    if re.findall(r"\d+", x) != re.findall(r"\d+", y):
        return False
    if _meaning_words(x) != _meaning_words(y):
        return False
    return SequenceMatcher(None, x, y).ratio() >= _TYPO_SIMILARITY


def _meaning_words(text: str) -> list[str]:
    """The logic-bearing words of a normalized text, in order."""
    return [word for word in text.split() if word in _MEANING_WORDS]


def _criterion_change(change_type: str, fact: CriterionFact) -> PolicyChange:
    """The change for a criterion that appears on one side only."""
    removed = change_type == "criterion_removed"
    return PolicyChange(
        change_type=change_type,
        subject=fact.indication_name or "policy-wide",
        before=fact.text if removed else None,
        after=None if removed else fact.text,
        indication=fact.indication,
        section=fact.section_name,
    )


def align(
    before: Sequence[T],
    after: Sequence[T],
    key: Callable[[T], Hashable],
    value: Callable[[T], tuple],
) -> Iterator[tuple[T | None, T | None]]:
    """Pairs of facts that differ: (b, None) removed, (None, a) added, (b, a) changed.

    Multiset matching per key: equal facts cancel first, repetitions of a value stated on both sides
    are dropped, then the leftovers of one key pair up in value order as changes, and what remains is
    added or removed.
    """
    groups: dict[Hashable, tuple[list[T], list[T]]] = defaultdict(lambda: ([], []))
    for fact in before:
        groups[key(fact)][0].append(fact)
    for fact in after:
        groups[key(fact)][1].append(fact)
    for group_key in sorted(groups, key=_sortable):
        olds, news = groups[group_key]
        stated_before = {value(fact) for fact in olds}
        stated_after = {value(fact) for fact in news}
        olds, news = cancel_pairs(olds, news, lambda x, y: value(x) == value(y))
        # A leftover that repeats a value still stated on the other side is a dropped or added
        # repetition of the same fact, not a change in policy -- unless the other side has a leftover
        # it could pair with: "IgG < 400" stated twice, one raised to 500, is a change of that one.
        if not news:
            olds = [fact for fact in olds if value(fact) not in stated_after]
        if not olds:
            news = [fact for fact in news if value(fact) not in stated_before]

        def by_value(fact: T) -> tuple:
            return _sortable(value(fact))

        yield from zip_longest(sorted(olds, key=by_value), sorted(news, key=by_value))


def cancel_pairs(olds: list[T], news: list[T], same: Callable[[T, T], bool]) -> tuple[list[T], list[T]]:
    """Remove one-to-one pairs that are `same` from both sides; returns the unmatched leftovers."""
    left_new = list(news)
    left_old: list[T] = []
    for old in olds:
        match = next((i for i, new in enumerate(left_new) if same(old, new)), None)
        if match is None:
            left_old.append(old)
        else:
            del left_new[match]
    return left_old, left_new


def _policy(facts: Sequence[T]) -> list[T]:
    """The facts stated in policy sections (see POLICY_SECTION)."""
    return [fact for fact in facts if fact.section == POLICY_SECTION]


def _sortable(values: tuple) -> tuple:
    """A sort key for tuples that may hold None next to strings or numbers."""
    return tuple((v is None, v if v is not None else 0) for v in values)
