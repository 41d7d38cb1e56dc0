"""The policy diff: pure functions from two snapshots to the list of changes between them.

Facts are aligned by meaning, never by position or offset: a reflowed paragraph, a typo fixed in a
sentence or a reordered list moves offsets and rewrites sentences but leaves the facts equal, so it
yields no change.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from itertools import zip_longest
from typing import TypeVar

from rapidfuzz import fuzz

from pipeline.diff.align import (
    NEGATION_EDIT,
    NUMBER,
    assign,
    fold,
    lexicon,
    name_forms,
    name_score,
    names_overlap,
    numbers_in,
    same_words,
    sentence_edit,
    unmarked,
)
from pipeline.diff.facts import (
    CriterionFact,
    DoseFact,
    IndicationFact,
    PolicyChange,
    PolicySnapshot,
    ThresholdFact,
)
from pipeline.diff.textual import text_changes

T = TypeVar("T")

# Only facts stated in policy sections are compared. Evidence sections summarise the literature
# ("patients received 2 g/kg in trial X"); a new citation there is not a change in what is covered.
POLICY_SECTION = "policy"

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
    """The policy changes from `before` to `after`: indications, then doses, thresholds, criteria, then
    policy sentences whose numbers or negation changed without a fact change saying so.

    A fact change that belongs to an indication added or removed in the same revision points to that
    indication's change (`parent`, an index into the returned list)."""
    old, new = merge_indications(before.indications), merge_indications(after.indications)
    pairs = align_indications(old, new)
    restated = restated_indications(old, new, pairs, before.policy_text, after.policy_text)
    changes = list(diff_indications(old, new, pairs, restated, (before.policy_text, after.policy_text)))
    parent_of = {("old", c.indication): i for i, c in enumerate(changes) if c.change_type == "indication_removed"}
    parent_of |= {("new", c.indication): i for i, c in enumerate(changes) if c.change_type == "indication_added"}
    old_group, new_group = _groups(old, new, pairs)

    def with_parents(found: Iterator[tuple[PolicyChange, tuple]]) -> list[PolicyChange]:
        return [replace(change, parent=parent_of.get(group)) for change, group in found]

    facts = [
        *with_parents(moved_cancelled(diff_doses(_policy(before.doses), _policy(after.doses), old_group, new_group))),
        *with_parents(moved_cancelled(diff_thresholds(_policy(before.thresholds), _policy(after.thresholds), old_group, new_group))),
    ]
    facts += with_parents(moved_cancelled(diff_criteria(_policy(before.criteria), _policy(after.criteria), old_group, new_group, facts)))
    # A fact the extractor found on one side only, in a line the other side still writes as often, or
    # read with another value from a sentence that says the same, is the extractor reading the same
    # words differently, not a change of policy.
    old_lines, new_lines = policy_lines(before.policy_text), policy_lines(after.policy_text)
    changes += [c for c in facts if not _still_stated(c, old_lines, new_lines) and not _reread(c)]
    changes += text_changes(before.policy_text, after.policy_text, changes)
    return changes


@dataclass(frozen=True)
class MergedIndication:
    """All policy mentions of one normalized indication in a version, merged into one."""

    normalized_name: str
    name: str
    coverage: str
    sentence: str | None
    section_name: str
    forms: frozenset[str] = frozenset()  # folded names it goes by (see align.name_forms)
    sentences: tuple[str, ...] = ()  # the sentences of all its mentions, in document order


def indication_key(normalized_name: str | None) -> str:
    """The key an indication and the facts that point to it are grouped by within one version."""
    return fold(normalized_name)


def merge_indications(facts: Sequence[IndicationFact]) -> dict[str, MergedIndication]:
    """Policy indications keyed by comparable name; an indication named twice in a version is one."""
    groups: dict[str, list[IndicationFact]] = defaultdict(list)
    for fact in sorted(_policy(facts), key=lambda f: (f.char_start is None, f.char_start or 0)):
        groups[indication_key(fact.normalized_name)].append(fact)
    return {key: _merge_mentions(mentions) for key, mentions in groups.items()}


def _merge_mentions(mentions: list[IndicationFact]) -> MergedIndication:
    """One indication from its mentions; an 'unclear' mention yields to any definite one."""
    coverages = {m.coverage for m in mentions}
    definite = coverages - {"unclear"}
    merged = definite or coverages
    first = next(m for m in mentions if m.coverage in merged)
    forms = name_forms(*(m.name for m in mentions), first.normalized_name)
    sentences = tuple(dict.fromkeys(m.sentence for m in mentions if m.sentence))
    return MergedIndication(first.normalized_name, first.name, ", ".join(sorted(merged)), first.sentence, first.section_name, forms, sentences)


def align_indications(old: dict[str, MergedIndication], new: dict[str, MergedIndication]) -> dict[str, str]:
    """Which indication of `new` each indication of `old` is (old key -> new key), one to one: the same
    key first, then the best assignment by name similarity over the rest, then by the sentence that
    names them (the extractor cut the name elsewhere in a sentence that says the same)."""
    pairs = {key: key for key in old if key in new}
    bar = lexicon().name_similarity
    for score in (
        lambda a, b: name_score(old[a].forms, new[b].forms),
        lambda a, b: _sentence_score(old[a], new[b]),
    ):
        left_old = [key for key in old if key not in pairs]
        left_new = [key for key in new if key not in pairs.values()]
        for i, j in assign(left_old, left_new, score, bar):
            pairs[left_old[i]] = left_new[j]
    return pairs


def _sentence_score(b: MergedIndication, a: MergedIndication) -> float:
    """100 when two indications are named in one sentence said the same way (up to typos and numbers)
    and one name is the other cut shorter or longer, else 0."""
    if not any(names_overlap(x, y) for x in b.forms for y in a.forms):
        return 0.0
    for x in b.sentences:
        for y in a.sentences:
            edit = sentence_edit(x, y)
            if edit is not None and NEGATION_EDIT not in edit:
                return 100.0
    return 0.0


@dataclass(frozen=True)
class Restated:
    """Indications on one side only whose sentence the other version still states, name and all: the
    extractor missed them there, the policy did not change. `flipped`: those whose sentence gained or
    lost a negation, keyed by side and key, with the other version's line."""

    old: frozenset[str] = frozenset()
    new: frozenset[str] = frozenset()
    flipped: tuple[tuple[str, str, str], ...] = ()  # (side, key, the other version's line)


_OPPOSITE = {"covered": "not_covered", "not_covered": "covered"}


def restated_indications(
    old: dict[str, MergedIndication],
    new: dict[str, MergedIndication],
    pairs: dict[str, str],
    old_text: Sequence[tuple[str, str]],
    new_text: Sequence[tuple[str, str]],
) -> Restated:
    """The unaligned indications the other version's policy text still states (see `Restated`)."""
    matched = set(pairs.values())
    found: dict[str, set[str]] = {"old": set(), "new": set()}
    flipped = []
    for side, facts, text in (
        ("old", {k: v for k, v in old.items() if k not in pairs}, new_text),
        ("new", {k: v for k, v in new.items() if k not in matched}, old_text),
    ):
        if not facts:
            continue
        lines = policy_lines(text)
        for key, ind in facts.items():
            hit = _restating_line(ind, lines)
            if hit is None:
                continue
            edit, line = hit
            if NEGATION_EDIT in edit:
                if ind.coverage not in _OPPOSITE:
                    continue  # no definite coverage to turn round: report it as added or removed
                flipped.append((side, key, line))
            found[side].add(key)
    return Restated(frozenset(found["old"]), frozenset(found["new"]), tuple(flipped))


def policy_lines(sections: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """(folded, as written) for each line of a version's policy sections, without its list marker."""
    return [(fold(unmarked(line.strip())), line.strip()) for _, text in sections for line in text.splitlines() if line.strip()]


def _still_stated(change: PolicyChange, old_lines: list[tuple[str, str]], new_lines: list[tuple[str, str]]) -> bool:
    """Whether a dose, threshold or criterion added or removed (not with its indication) is still written,
    word for word up to typos, as often on the other side: the extractor read the line as something
    else there, the policy says the same. (Written less often, it was dropped where it was said once
    more: a change.)"""
    added, removed = change.change_type.endswith("_added"), change.change_type.endswith("_removed")
    if not (added or removed) or change.change_type.startswith("indication") or change.parent is not None:
        return False
    if change.change_type.startswith("criterion"):
        text = change.before if removed else change.after
    else:
        text = change.before_sentence if removed else change.after_sentence
    if not text:
        return False
    here, there = (old_lines, new_lines) if removed else (new_lines, old_lines)
    folded = fold(text)
    bar = lexicon().sentence_similarity

    def times(lines: list[tuple[str, str]]) -> int:
        return sum(fuzz.partial_ratio(folded, line) >= bar and sentence_edit(text, raw, within=True) == frozenset() for line, raw in lines)

    stated = times(there)
    return stated > 0 and stated >= times(here)


# a line this long written inside a sentence is part of it (a sentence read across a heading and its item)
_PART_OF_SENTENCE = 16


@dataclass(frozen=True)
class _Line:
    """A policy line, folded, with what introduces it: `lead_in`, the last plain line before it; `list_lead_in`,
    the last plain line that does not follow an item (a plain line after an item may continue it)."""

    text: str
    lead_in: str
    list_lead_in: str


def _policy_lines(sections: Sequence[tuple[str, str]]) -> tuple[list[_Line], Counter]:
    """The policy lines, and the policy text as a multiset of blocks: an item with the plain lines after it
    (up to the next item or a line ending in ':'), or a plain line of its own. Blocks the same on both sides
    mean whole items were reordered."""
    lines: list[_Line] = []
    blocks: list[list[str]] = []
    lead_in = list_lead_in = ""
    in_item = False
    for _, text in sections:
        for raw in text.splitlines():
            if not raw.strip():
                continue
            here = fold(unmarked(raw.strip()))
            lines.append(_Line(here, lead_in, list_lead_in))
            item = raw.lstrip().startswith("- ")
            follows_item = in_item and not raw.rstrip().endswith(":")
            if item or not follows_item:
                blocks.append([])
            blocks[-1].append(here)
            if not item:
                lead_in = here
                if not follows_item:
                    list_lead_in = here
            in_item = item or follows_item
    return lines, Counter(tuple(b) for b in blocks)


def _context(sentence: str | None, lines: Sequence[_Line], by_list: bool = False) -> tuple[str, str] | None:
    """(the line, the line introducing its list) of the first policy line writing a sentence; for a sentence
    read across lines, the policy lines inside it and the first one's lead-in; None when no line does.
    What decides a listed indication's coverage: its own words and its lead-in (`by_list`: the list's)."""
    folded = fold(sentence)
    if not folded:
        return None
    parts = [line for line in lines if len(line.text) >= _PART_OF_SENTENCE and line.text in folded]
    for line in lines:
        if folded in line.text:
            parts = [line]
            break
    if not parts:
        return None
    return " | ".join(line.text for line in parts), parts[0].list_lead_in if by_list else parts[0].lead_in


def _same_context(b: MergedIndication, a: MergedIndication, old_text: Sequence[tuple[str, str]], new_text: Sequence[tuple[str, str]]) -> bool:
    """Whether an indication's lines and their list lead-ins read the same on both sides (items reordered,
    text elsewhere edited): a coverage read differently from the same words is the classifier weighing
    them in another order. A changed word there, or anywhere else with negation, is still reported
    (here, or as text_changed). When only whole items moved, a plain line that moved with its item (text
    after a <br>) does not count as the next item's lead-in."""
    (old_lines, old_blocks), (new_lines, new_blocks) = _policy_lines(old_text), _policy_lines(new_text)
    for by_list in (False, True) if old_blocks == new_blocks else (False,):
        before = {_context(s, old_lines, by_list) for s in b.sentences}
        after = {_context(s, new_lines, by_list) for s in a.sentences}
        if None not in before and before == after:
            return True
    return False


def _reread(change: PolicyChange) -> bool:
    """Whether a dose or threshold change comes from sentences that say the same words, numbers and
    signs on both sides (the extractor took another value from unchanged text)."""
    if not change.change_type.endswith("_changed") or change.change_type == "coverage_changed":
        return False
    return bool(change.before_sentence and change.after_sentence) and sentence_edit(change.before_sentence, change.after_sentence) == frozenset()


def _restating_line(ind: MergedIndication, lines: list[tuple[str, str]]) -> tuple[frozenset[str], str] | None:
    """(what differs, the line) for a line of the other version that names the indication in one of
    its sentences, said the same way up to typos, numbers and negation; None when none does."""
    bar = lexicon().name_similarity
    for folded, line in lines:
        if not any(form and fuzz.partial_ratio(form, folded) >= bar for form in ind.forms):
            continue
        for sentence in ind.sentences:
            edit = sentence_edit(sentence, line, within=True)
            if edit is not None:
                return edit, line
    return None


def diff_indications(
    old: dict[str, MergedIndication],
    new: dict[str, MergedIndication],
    pairs: dict[str, str],
    restated: Restated = Restated(),
    texts: tuple[Sequence[tuple[str, str]], Sequence[tuple[str, str]]] = ((), ()),
) -> Iterator[PolicyChange]:
    """Indications added, removed, or whose coverage changed, in name order; an indication the other
    version still states is no change, or a coverage change when its sentence turned round; a coverage
    read differently from lines and lead-ins that say the same (`texts`: both versions' policy text) is none."""
    matched = set(pairs.values())
    flipped = {(side, key): line for side, key, line in restated.flipped}
    events = [(key, old[key], new[pairs[key]]) for key in pairs]
    events += [(key, old[key], None) for key in old if key not in pairs and key not in restated.old]
    events += [(key, None, new[key]) for key in new if key not in matched and key not in restated.new]
    for (side, key), line in flipped.items():
        ind = (old if side == "old" else new)[key]
        other = replace(ind, coverage=_OPPOSITE[ind.coverage], sentence=line)
        events.append((key, ind, other) if side == "old" else (key, other, ind))
    def aligned(key: str, b: MergedIndication | None, a: MergedIndication | None) -> bool:
        # an aligned pair as extracted (a turned-round restatement is built, its sentences not its own)
        return key in pairs and b is old[key] and a is new[pairs[key]]

    for _key, b, a in sorted(events, key=lambda e: e[0]):
        if b is None:
            yield PolicyChange("indication_added", a.name, None, a.coverage, None, a.sentence, a.normalized_name, a.section_name)
        elif a is None:
            yield PolicyChange("indication_removed", b.name, b.coverage, None, b.sentence, None, b.normalized_name, b.section_name)
        elif b.coverage != a.coverage and not (aligned(_key, b, a) and _same_context(b, a, *texts)):
            yield PolicyChange("coverage_changed", a.name, b.coverage, a.coverage, b.sentence, a.sentence, a.normalized_name, a.section_name)


# ("pair", old key): an indication on both sides; ("old" | "new", normalized name): on one side only;
# ("key", key): an indication neither side lists in its policy sections; ("none",): policy-wide.
Group = tuple


def _groups(
    old: dict[str, MergedIndication], new: dict[str, MergedIndication], pairs: dict[str, str]
) -> tuple[Callable[[str | None], Group], Callable[[str | None], Group]]:
    """Functions giving the group of a before / after fact from its indication: facts of aligned
    indications share a group, facts of an indication on one side only belong to it."""
    back = {new_key: old_key for old_key, new_key in pairs.items()}

    def old_group(indication: str | None) -> Group:
        key = indication_key(indication)
        if not key:
            return ("none",)
        if key in pairs:
            return ("pair", key)
        return ("old", old[key].normalized_name) if key in old else ("key", key)

    def new_group(indication: str | None) -> Group:
        key = indication_key(indication)
        if not key:
            return ("none",)
        if key in back:
            return ("pair", back[key])
        return ("new", new[key].normalized_name) if key in new else ("key", key)

    return old_group, new_group


def _by_group(facts: Sequence[T], group: Callable[[str | None], Group]) -> dict[Group, list[T]]:
    grouped: dict[Group, list[T]] = defaultdict(list)
    for fact in facts:
        grouped[group(fact.indication)].append(fact)
    return grouped


def _group_pairs(before: Sequence[T], after: Sequence[T], old_group, new_group) -> Iterator[tuple[Group, list[T], list[T]]]:
    """(group, before facts, after facts) for every group either side has, in a stable order."""
    olds, news = _by_group(before, old_group), _by_group(after, new_group)
    for group in sorted(olds.keys() | news.keys(), key=lambda g: tuple(str(part) for part in g)):
        yield group, olds.get(group, []), news.get(group, [])


def moved_cancelled(found: Iterator[tuple[PolicyChange, Group]]) -> Iterator[tuple[PolicyChange, Group]]:
    """The changes less the pairs of one fact removed under one indication and added under another in
    a sentence said the same way (up to typos and numbers): the same value is no change (the statement
    stayed, only what the extractor attached it to moved), another value is one `*_changed` change. A
    criterion is the same when its text is (see `same_criterion`)."""
    changes = list(found)
    added = [j for j, (change, _group) in enumerate(changes) if change.change_type.endswith("_added")]
    dropped: set[int] = set()
    merged: dict[int, tuple[PolicyChange, Group]] = {}
    for i, (change, group) in enumerate(changes):
        if not change.change_type.endswith("_removed"):
            continue
        kind = change.change_type.rsplit("_", 1)[0]
        for j in added:
            other, other_group = changes[j]
            if j in dropped or other_group == group or other.change_type != f"{kind}_added":
                continue
            if kind == "criterion":
                if same_criterion(change.before or "", other.after or ""):
                    dropped |= {i, j}
                    break
                continue
            edit = sentence_edit(change.before_sentence, other.after_sentence)
            if fold(change.subject) != fold(other.subject) or edit is None or NEGATION_EDIT in edit:
                continue
            dropped.add(j)
            if change.before == other.after:
                dropped.add(i)
            else:
                moved = replace(other, change_type=f"{kind}_changed", before=change.before, before_sentence=change.before_sentence)
                merged[i] = (moved, other_group)
            break
    return iter([merged.get(i, item) for i, item in enumerate(changes) if i not in dropped])


def _dose_key(dose: DoseFact) -> tuple:
    """What makes two doses of one indication the same dose: drug, phase, unit."""
    return (fold(dose.drug) or None, dose.phase, dose.unit)


def _dose_value(dose: DoseFact) -> tuple:
    """What makes two same doses equal: amounts and frequency."""
    return (round(dose.amount_low, 9), round(dose.amount_high, 9), fold(dose.frequency))


def _same_dose_subject(b: DoseFact, a: DoseFact) -> float:
    """Doses with another spelling of the drug but the same phase and unit are the same dose."""
    if (b.phase, b.unit) != (a.phase, a.unit):
        return 0.0
    x, y = fold(b.drug), fold(a.drug)
    return 100.0 if x == y or (x and y and same_words(x, y)) else 0.0


def diff_doses(before: Sequence[DoseFact], after: Sequence[DoseFact], old_group, new_group) -> Iterator[tuple[PolicyChange, Group]]:
    """Policy doses added, removed or changed, aligned within aligned indications."""
    for group, olds, news in _group_pairs(before, after, old_group, new_group):
        for b, a in align_facts(olds, news, _dose_key, _dose_value, _same_dose_subject, 100.0):
            yield _fact_change("dose", b, a, dose_subject, format_dose), group


def _threshold_key(threshold: ThresholdFact) -> tuple:
    """What makes two thresholds of one indication the same limit: measure, polarity, unit."""
    return (fold(threshold.measure), threshold.polarity, threshold.unit)


def _threshold_value(threshold: ThresholdFact) -> tuple:
    """What makes two same limits equal: comparator and values."""
    high = round(threshold.value_high, 9) if threshold.value_high is not None else None
    return (threshold.comparator, round(threshold.value, 9), high)


def _same_threshold_subject(b: ThresholdFact, a: ThresholdFact) -> float:
    """How alike two limits' measures are (0-100) when their polarity matches; a changed unit of the
    same measure is the same limit changed."""
    if b.polarity != a.polarity:
        return 0.0
    x, y = fold(b.measure), fold(a.measure)
    if x == y:
        return 100.0
    return fuzz.token_sort_ratio(x, y) if b.unit == a.unit else 0.0


def diff_thresholds(
    before: Sequence[ThresholdFact], after: Sequence[ThresholdFact], old_group, new_group
) -> Iterator[tuple[PolicyChange, Group]]:
    """Policy thresholds added, removed or changed (value, comparator or unit), aligned within aligned
    indications by measure and unit, then by value."""
    bar = lexicon().measure_similarity
    for group, olds, news in _group_pairs(before, after, old_group, new_group):
        for b, a in align_facts(olds, news, _threshold_key, _threshold_value, _same_threshold_subject, bar):
            yield _fact_change("threshold", b, a, threshold_subject, format_threshold), group


def align_facts(
    olds: list[T],
    news: list[T],
    key: Callable[[T], Hashable],
    value: Callable[[T], tuple],
    similar: Callable[[T, T], float],
    bar: float,
) -> Iterator[tuple[T | None, T | None]]:
    """Pairs of one group's facts that differ: (b, None) removed, (None, a) added, (b, a) changed.

    Facts with the same key are paired first (see `align`); what is left is paired by `similar` (a
    reworded measure, a respelled drug), and a pair of equal values is then no change at all."""
    leftover_old: list[T] = []
    leftover_new: list[T] = []
    for b, a in align(olds, news, key, value):
        if b is not None and a is not None:
            yield b, a
        elif b is not None:
            leftover_old.append(b)
        else:
            leftover_new.append(a)
    matched_old: set[int] = set()
    matched_new: set[int] = set()
    for i, j in assign(leftover_old, leftover_new, similar, bar):
        matched_old.add(i)
        matched_new.add(j)
        b, a = leftover_old[i], leftover_new[j]
        if value(b) != value(a) or key(b)[1:] != key(a)[1:]:
            yield b, a

    def restated(fact: T, others: list[T], forward: bool) -> bool:
        # A repetition dropped or added while the same value is still stated (under a similar
        # measure) on the other side is not a change in policy.
        pairs = ((fact, o) if forward else (o, fact) for o in others)
        return any(value(x) == value(y) and similar(x, y) >= bar for x, y in pairs)

    for i, b in enumerate(leftover_old):
        if i not in matched_old and not restated(b, news, True):
            yield b, None
    for j, a in enumerate(leftover_new):
        if j not in matched_new and not restated(a, olds, False):
            yield None, a


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


def diff_criteria(
    before: Sequence[CriterionFact],
    after: Sequence[CriterionFact],
    old_group,
    new_group,
    fact_changes: Sequence[PolicyChange] = (),
) -> Iterator[tuple[PolicyChange, Group]]:
    """Policy criteria added or removed, aligned within aligned indications by text similarity.

    A reworded or corrected criterion is no change; one whose numbers or logic words changed is
    removed and added, unless a dose or threshold change of this revision already reports its numbers."""
    bar = lexicon().criterion_similarity
    for group, olds, news in _group_pairs(before, after, old_group, new_group):
        olds, news = cancel_pairs(olds, news, lambda x, y: fold(x.text) == fold(y.text))
        removed = set(range(len(olds)))
        added = set(range(len(news)))
        for i, j in assign(olds, news, lambda x, y: fuzz.ratio(fold(x.text), fold(y.text)), bar):
            b, a = olds[i], news[j]
            if same_criterion(b.text, a.text) or _numbers_reported(b.text, a.text, fact_changes):
                removed.discard(i)
                added.discard(j)
        for i in sorted(removed):
            yield _criterion_change("criterion_removed", olds[i]), group
        for j in sorted(added):
            yield _criterion_change("criterion_added", news[j]), group


def _numbers_reported(old_text: str, new_text: str, fact_changes: Sequence[PolicyChange]) -> bool:
    """Whether the numbers that differ between two versions of a text are those of a dose or threshold
    change (the before values among its old numbers, the after values among its new ones)."""
    if _meaning_words(fold(old_text)) != _meaning_words(fold(new_text)):
        return False
    gone = Counter(numbers_in(old_text)) - Counter(numbers_in(new_text))
    came = Counter(numbers_in(new_text)) - Counter(numbers_in(old_text))
    if not gone and not came:
        return False
    for change in fact_changes:
        if not change.change_type.endswith("_changed"):
            continue
        if set(gone) <= set(numbers_in(change.before)) and set(came) <= set(numbers_in(change.after)):
            return True
    return False


def same_criterion(a: str, b: str) -> bool:
    """Whether two criterion texts differ only by a typo-level edit that keeps numbers and logic."""
    x, y = fold(a), fold(b)
    if NUMBER.findall(x) != NUMBER.findall(y):
        return False
    if _meaning_words(x) != _meaning_words(y):
        return False
    return SequenceMatcher(None, x, y).ratio() * 100 >= lexicon().criterion_similarity


def _meaning_words(text: str) -> list[str]:
    """The logic-bearing words of a folded text, in order."""
    words = lexicon().meaning_words
    return [word for word in text.split() if word in words]


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
