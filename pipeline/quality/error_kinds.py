"""Extraction errors sorted by kind: how often each kind happens, not only the totals.

Pure functions over the scorer's per-document details (`pipeline.quality.scoring.score_extraction`) and the
document's normalised text (one paragraph or list item per line, items start with "- ", nested items are
indented two spaces per level). Word lists are data (`data/error_kinds.json`, validated on load) and are
independent of the extractor's own lexicons, so a rule change cannot redefine its errors. Every kind is a
``count`` of errors over a ``denominator`` (the facts among which the error can happen); a kind can overlap
another (a one-word false positive inside a criteria item is kind 3 and kind 4). Facts are the policy ones
(``doses.policy``, ``thresholds.policy``), as the headline figures.

1. ``exclusions_missed``: gold ``not_covered`` indications not found / gold ``not_covered`` indications.
2. ``family_members_missed``: gold indications named in a list item whose parent (the item above it one level
   up, or the line introducing a top-level list) holds an extracted indication, not found / such gold
   indications - the family was extracted, its members were not.
3. ``fragments_as_indications``: false-positive indications that are no condition name - empty after folding,
   only numbers and unit-like tokens, or without any word naming a specific disorder (a head such as
   "carcinoma"/"incontinence" or a suffix such as "-itis"; generic heads like "disease" do not count), which
   takes in the 1-2 word fragments, adjectives ("Perineural") and non-conditions ("oxygen applied") / false
   positive indications.
4. ``criteria_conditions_as_indications``: false-positive indications whose first mention lies in a sentence
   holding a gold threshold quote, or in a list item under a criteria introduction ("... all of the following
   criteria are met:", "... one or more of the following features:") / false-positive indications.
5. ``units_lost_or_wrong``: gold thresholds missed while a false positive has the same value(s) and comparator
   with another unit (`unit_mismatches` of the scorer) / gold thresholds found by value and comparator
   (matched + those unit mismatches).
6. ``time_and_count_missed``: gold thresholds with a time unit (seconds ... years, measures naming an age
   excluded) or a count unit, not found / such gold thresholds.
7. ``descriptive_numbers_as_thresholds``: false-positive thresholds whose sentence has no comparator cue, or is
   background (a background word in the sentence - prevalence, studies - or under a background heading) /
   false-positive thresholds.
8. ``measure_not_the_quantity``: matched thresholds whose measure shares no content word (folded, stop words
   and a plural -s dropped) with the gold measure / matched thresholds.
9. ``wrong_attachment``: matched doses and thresholds linked to the wrong indication (the scorer's
   ``link_ok``) / matched doses and thresholds.
10. ``truncated_names``: false-positive indications whose folded name is a strict part of a folded gold name or
    alias / false-positive indications.
11. ``long_list_items_missed``: gold indications named in an item of a list of 10 or more sibling items, not
    found / such gold indications (recall on long diagnosis lists = 1 - rate).
12. ``reader_residue``: extracted indications, doses and thresholds (all sections) with a unit that has a digit
    glued to a letter ("cm5"; "kg/m2", "cmH2O" are units) or with entity or tag residue ("&amp;", "<li>") in a
    name, alias, measure, drug or unit / those extracted facts (doses and thresholds that only match an
    optional fact are not listed by the scorer and not counted).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.paths import QUALITY_DATA_DIR
from pipeline.extract.units import check, read_lexicon, string_list  # the one validator of JSON word lists
from pipeline.quality.scoring import COUNT, content_words, find_quote, normalize_name, unit_key

__all__ = [
    "KINDS",
    "KindLexicon",
    "load_kind_lexicon",
    "ListItem",
    "list_items",
    "document_error_kinds",
    "error_kinds",
]

LEXICON_PATH = QUALITY_DATA_DIR / "error_kinds.json"

# (key, label) in the numbering of the issue that defined them
KINDS = (
    ("exclusions_missed", "exclusion/contraindication indications missed"),
    ("family_members_missed", "sub-list members missed, family extracted"),
    ("fragments_as_indications", "fragments and non-conditions as indications"),
    ("criteria_conditions_as_indications", "conditions inside criteria as indications"),
    ("units_lost_or_wrong", "threshold units lost or wrong"),
    ("time_and_count_missed", "time windows, look-backs, counts missed"),
    ("descriptive_numbers_as_thresholds", "descriptive numbers as thresholds"),
    ("measure_not_the_quantity", "measure names not the measured quantity"),
    ("wrong_attachment", "doses/thresholds attached to the wrong indication"),
    ("truncated_names", "truncated indication names"),
    ("long_list_items_missed", "items of long (10+) lists missed"),
    ("reader_residue", "reader residue in units or names"),
)
LONG_LIST = 10  # sibling items from which a list counts as a long diagnosis list

_ITEM_RE = re.compile(r"^( *)- ")
_NUMBERED_RE = re.compile(r"^ *- \(?(?:\d{1,2}|[a-z]|[ivx]{1,4})[.)] ", re.IGNORECASE)
_HEADING_MAX_WORDS = 8
_SENTENCE_END_RE = re.compile(r"[.;!?](?=\s)")
_GLUED_DIGIT_RE = re.compile(r"[A-Za-z]\d|\d[A-Za-z]")
_NUMBER_RE = re.compile(r"^\d+(?:\.\d+)?$")


@dataclass(frozen=True)
class KindLexicon:
    """The compiled word lists of `data/error_kinds.json`."""

    condition_suffixes: tuple[str, ...]
    condition_heads: frozenset[str]
    generic_heads: frozenset[str]
    criteria_intro: frozenset[str]
    background_headings: frozenset[str]
    background_sentence_re: re.Pattern[str]
    comparator_cue_re: re.Pattern[str]
    time_units: frozenset[str]
    legit_unit_parts: tuple[str, ...]
    residue_re: re.Pattern[str]


def _phrases_re(phrases: Iterable[str]) -> re.Pattern[str]:
    """Whole-word (for words) alternation of phrases, longest first."""
    alts = []
    for p in sorted(set(phrases), key=len, reverse=True):
        body = re.escape(p)
        alts.append(rf"(?<!\w){body}(?!\w)" if p[0].isalnum() else body)
    return re.compile("|".join(alts), re.IGNORECASE)


def load_kind_lexicon(path: Path = LEXICON_PATH) -> KindLexicon:
    """Validate and compile the word lists; a malformed file raises LexiconError naming the entry."""
    data = read_lexicon(path)
    words = {key: string_list(data.get(key), path, key) for key in (
        "condition_suffixes", "condition_heads", "generic_heads", "criteria_intro_words", "background_heading_words",
        "background_sentence_words", "comparator_cues", "time_units", "legit_unit_parts", "residue_patterns")}
    for key in ("condition_suffixes", "condition_heads", "generic_heads", "criteria_intro_words",
                "background_heading_words", "background_sentence_words", "time_units", "legit_unit_parts"):
        for i, w in enumerate(words[key]):
            check(w == w.lower(), path, f"{key}[{i}]", f"must be lower case, got {w!r}")
    residue = []
    for i, pattern in enumerate(words["residue_patterns"]):
        try:
            residue.append(re.compile(pattern, re.IGNORECASE).pattern)
        except re.error as exc:
            check(False, path, f"residue_patterns[{i}]", f"not a valid regex: {exc}")
    return KindLexicon(
        condition_suffixes=tuple(words["condition_suffixes"]),
        condition_heads=frozenset(words["condition_heads"]),
        generic_heads=frozenset(words["generic_heads"]),
        criteria_intro=frozenset(words["criteria_intro_words"]),
        background_headings=frozenset(words["background_heading_words"]),
        background_sentence_re=_phrases_re(words["background_sentence_words"]),
        comparator_cue_re=_phrases_re(words["comparator_cues"]),
        time_units=frozenset(words["time_units"]),
        # longest first, so "cmh2o" is set aside before "h2o" and "o2"
        legit_unit_parts=tuple(sorted(words["legit_unit_parts"], key=len, reverse=True)),
        residue_re=re.compile("|".join(f"(?:{p})" for p in residue), re.IGNORECASE),
    )


LEXICON = load_kind_lexicon()


# --------------------------------------------------------------------------------------------------------
# text structure


@dataclass(frozen=True)
class ListItem:
    """One list item line of a normalised text: `text[start:end]`."""

    start: int
    end: int
    depth: int  # nesting level, 0 for a top-level item
    parent: tuple[int, int] | None  # the item one level up, or the line introducing a top-level list
    ancestors: str  # the lines above it in its list tree, up to and including the introducing line
    siblings: int  # items of its list at its level under the same parent, itself included


def _lines(text: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for line in text.split("\n"):
        spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    return spans


def list_items(text: str) -> list[ListItem]:
    """Every list item of `text` with its parent, ancestors and sibling count (one pass over the lines).

    Readers flatten some nested lists ("- 1. Threat to oneself:" then "- suicidal ideation ..." at the same
    indent): an item ending with a colon adopts the unnumbered items after it at its indent, until a
    numbered item or another colon item."""
    raw: list[tuple[int, int, int, tuple[int, int] | None]] = []  # start, end, level, parent span
    stack: list[int] = []  # indexes into raw of the open items, shallowest first
    intro: tuple[int, int] | None = None
    for start, end in _lines(text):
        line = text[start:end]
        m = _ITEM_RE.match(line)
        if not m:
            if line.strip():  # a paragraph ends the list; it may introduce the next one
                intro, stack = (start, end), []
            continue
        level = 2 * (len(m.group(1)) // 2)  # even levels as written, odd ones for adopted items
        top = raw[stack[-1]] if stack else None
        if top and top[2] == level and text[top[0]:top[1]].rstrip().endswith(":") \
                and not _NUMBERED_RE.match(line):
            level += 1
        elif top and top[2] == level + 1 and not _NUMBERED_RE.match(line) and not line.rstrip().endswith(":"):
            level += 1
        while stack and raw[stack[-1]][2] >= level:
            stack.pop()
        parent = (raw[stack[-1]][0], raw[stack[-1]][1]) if stack else intro
        raw.append((start, end, level, parent))
        stack.append(len(raw) - 1)
    siblings: dict[tuple[tuple[int, int] | None, int], int] = {}
    for _, _, level, parent in raw:
        siblings[(parent, level)] = siblings.get((parent, level), 0) + 1
    by_start = {r[0]: r for r in raw}
    items = []
    for start, end, level, parent in raw:
        chain, p = [], parent
        while p is not None:
            chain.append(text[p[0]:p[1]])
            p = by_start[p[0]][3] if p[0] in by_start else None
        items.append(ListItem(start, end, (level + 1) // 2, parent, "\n".join(chain), siblings[(parent, level)]))
    return items


def _sentence_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The span of the sentence of its line that holds `text[start:end]`."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    s, e = line_start, line_end
    for m in _SENTENCE_END_RE.finditer(text, line_start, line_end):
        if m.end() <= start:
            s = m.end()
        elif m.start() >= end:
            e = m.end()
            break
    return s, e


def _heading_like(line: str) -> bool:
    """A title rather than a paragraph or an item: a few words, no closing full stop."""
    words = line.split()
    return 0 < len(words) <= _HEADING_MAX_WORDS and not _ITEM_RE.match(line) and not line.rstrip().endswith((".", ",", ";"))


def _heading_above(text: str, pos: int) -> str:
    """The nearest heading-like line above `pos`."""
    end = text.rfind("\n", 0, pos)
    while end > 0:
        start = text.rfind("\n", 0, end) + 1
        if _heading_like(text[start:end]):
            return text[start:end].strip()
        end = start - 1
    return ""


def _contains_form(folded_line: str, forms: Iterable[str]) -> bool:
    padded = f" {folded_line} "
    return any(f and f" {f} " in padded for f in forms)


def _gold_forms(item: Mapping[str, Any]) -> list[str]:
    return [f for f in (normalize_name(x) for x in [item["name"], *item.get("aliases", [])]) if f]


# --------------------------------------------------------------------------------------------------------
# word tests


def _is_condition_word(word: str, lex: KindLexicon) -> bool:
    return word in lex.condition_heads or (len(word) > 4 and word.endswith(lex.condition_suffixes))


def _is_fragment(name: str, lex: KindLexicon) -> bool:
    """No condition name: only numbers/units, or no word naming a specific disorder."""
    words = sorted(content_words(name))
    if not words or all(_NUMBER_RE.match(w) or len(w) <= 2 for w in words):
        return True
    return not any(_is_condition_word(w, lex) for w in words if w not in lex.generic_heads)


def _stems(text: str | None) -> set[str]:
    return {w[:-1] if len(w) > 3 and w.endswith("s") else w for w in content_words(text or "")}


def _poisoned_unit(unit: str | None, lex: KindLexicon) -> bool:
    if not unit:
        return False
    rest = unit.lower()
    for part in lex.legit_unit_parts:
        rest = rest.replace(part, " ")
    return bool(_GLUED_DIGIT_RE.search(rest))


def _has_residue(values: Iterable[str | None], lex: KindLexicon) -> bool:
    return any(v and lex.residue_re.search(v) for v in values)


def _time_or_count(g: Mapping[str, Any], lex: KindLexicon) -> bool:
    unit = unit_key(g.get("unit"))
    if unit in lex.time_units:
        return "age" not in content_words(g.get("measure") or "")
    return unit == COUNT


# --------------------------------------------------------------------------------------------------------
# the kinds, one document at a time


def _kind(count: int, denominator: int) -> dict:
    return {"count": count, "denominator": denominator}


def _inside(spans: Iterable[tuple[int, int]], start: int, end: int) -> bool:
    return end > start and any(s <= start and end <= e for s, e in spans)


def _gold_items_in_lists(items: Sequence[Mapping[str, Any]], lines: Sequence[ListItem], folded: Sequence[str],
                         keep) -> list[Mapping[str, Any]]:
    """Gold indications named in some list item for which `keep(item_index)` holds."""
    hits = []
    for g in items:
        forms = _gold_forms(g)
        if any(keep(i) and _contains_form(folded[i], forms) for i in range(len(lines))):
            hits.append(g)
    return hits


def document_error_kinds(detail: Mapping[str, Any], text: str, lex: KindLexicon = LEXICON) -> dict[str, dict]:
    """Every error kind of one document: {kind: {"count", "denominator"}} (see the module docstring)."""
    ind = detail["indications"]
    thr, dose = detail["thresholds"]["policy"], detail["doses"]["policy"]
    gold_items, fps, predicted = ind["gold_items"], ind["false_positives"], ind["predicted_items"]
    items = list_items(text)
    folded = [normalize_name(text[it.start:it.end]) for it in items]
    out: dict[str, dict] = {}

    excl = [g for g in gold_items if g["coverage"] == "not_covered"]
    out["exclusions_missed"] = _kind(sum(g["matched"] is None for g in excl), len(excl))

    pred_spans = [(p["char_start"], p["char_end"]) for p in predicted if p["char_end"] > p["char_start"]]
    pred_forms = [f for p in predicted for f in (normalize_name(p["name"]), *map(normalize_name, p["aliases"])) if f]

    def family_extracted(i: int) -> bool:
        parent = items[i].parent
        # a family is a parent item or a heading-like introduction, not a paragraph that happens to name a condition
        if parent is None or (items[i].depth == 0 and not _heading_like(text[parent[0]:parent[1]])):
            return False
        span_hit = any(s < parent[1] and parent[0] < e for s, e in pred_spans)
        return span_hit or _contains_form(normalize_name(text[parent[0]:parent[1]]), pred_forms)

    members = _gold_items_in_lists(gold_items, items, folded, family_extracted)
    out["family_members_missed"] = _kind(sum(g["matched"] is None for g in members), len(members))

    out["fragments_as_indications"] = _kind(sum(_is_fragment(f["name"], lex) for f in fps), len(fps))

    quotes = [m["gold"]["text"] for m in detail["thresholds"]["all"]["matches"]] + \
        [m["text"] for m in detail["thresholds"]["all"]["misses"]]
    rule_sentences = []
    for q in quotes:
        rule_sentences += [_sentence_span(text, s, e) for s, e in find_quote(text, q)]
    criteria_items = [(it.start, it.end) for it in items
                      if content_words(it.ancestors) & lex.criteria_intro]
    out["criteria_conditions_as_indications"] = _kind(
        sum(_inside(rule_sentences + criteria_items, f["char_start"], f["char_end"]) for f in fps), len(fps))

    mismatches = thr["unit_mismatches"]
    out["units_lost_or_wrong"] = _kind(len(mismatches), len(thr["matches"]) + len(mismatches))

    timed = [m["gold"] for m in thr["matches"]] + list(thr["misses"])
    timed_missed = [g for g in thr["misses"] if _time_or_count(g, lex)]
    out["time_and_count_missed"] = _kind(len(timed_missed), sum(_time_or_count(g, lex) for g in timed))

    def descriptive(f: Mapping[str, Any]) -> bool:
        sentence = f.get("sentence") or text[slice(*_sentence_span(text, f["char_start"], f["char_end"]))]
        heading = content_words(_heading_above(text, f["char_start"]))
        return (not lex.comparator_cue_re.search(sentence) or bool(lex.background_sentence_re.search(sentence))
                or bool(heading & lex.background_headings))

    out["descriptive_numbers_as_thresholds"] = _kind(sum(descriptive(f) for f in thr["false_positives"]),
                                                     len(thr["false_positives"]))

    out["measure_not_the_quantity"] = _kind(
        sum(not (_stems(m["extracted"]["measure"]) & _stems(m["gold"]["measure"])) for m in thr["matches"]),
        len(thr["matches"]))

    matched = [*dose["matches"], *thr["matches"]]
    out["wrong_attachment"] = _kind(sum(not m["link_ok"] for m in matched), len(matched))

    gold_forms = [f for g in gold_items for f in _gold_forms(g)]

    def truncated(name: str) -> bool:
        n = normalize_name(name)
        return bool(n) and any(n != f and n in f for f in gold_forms)

    out["truncated_names"] = _kind(sum(truncated(f["name"]) for f in fps), len(fps))

    long_items = _gold_items_in_lists(gold_items, items, folded, lambda i: items[i].siblings >= LONG_LIST)
    out["long_list_items_missed"] = _kind(sum(g["matched"] is None for g in long_items), len(long_items))

    facts = [m["extracted"] for key in ("doses", "thresholds") for m in detail[key]["all"]["matches"]] + \
        [f for key in ("doses", "thresholds") for f in detail[key]["all"]["false_positives"]]
    poisoned = sum(_has_residue([p["name"], *p["aliases"]], lex) for p in predicted) + sum(
        _poisoned_unit(f.get("unit"), lex) or _has_residue([f.get("measure"), f.get("drug"), f.get("unit")], lex)
        for f in facts)
    out["reader_residue"] = _kind(poisoned, len(predicted) + len(facts))
    return out


def error_kinds(details: Sequence[Mapping[str, Any]], texts: Sequence[str], lex: KindLexicon = LEXICON) -> dict[str, dict]:
    """Error kinds summed over documents: {kind: {"label", "count", "denominator", "rate"}} in `KINDS` order;
    `details[i]` is the scorer's result for the document whose text is `texts[i]`."""
    totals = {key: [0, 0] for key, _ in KINDS}
    for detail, text in zip(details, texts, strict=True):
        for key, value in document_error_kinds(detail, text or "", lex).items():
            totals[key][0] += value["count"]
            totals[key][1] += value["denominator"]
    return {key: {"label": label, "count": totals[key][0], "denominator": totals[key][1],
                  "rate": totals[key][0] / totals[key][1] if totals[key][1] else 0.0}
            for key, label in KINDS}
