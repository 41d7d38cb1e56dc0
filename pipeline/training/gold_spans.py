"""Span annotations derived from the hand-made gold (models/gold/<ID>.json), for train and dev documents
that have no hand-corrected span file yet.

The gold says which conditions a document decides (name, written aliases, coverage) and quotes every
threshold and dose; this module finds those in the document the way the pipeline reads and segments it:

* INDICATION: every occurrence of a required indication's name or alias, compared in the scorer's folded
  form (`pipeline.text.fold`: case, accents, punctuation) word by word, so the span is exactly the written
  words of that form. Where forms overlap, the longer one wins (the shortest phrase that still names the
  condition is the gold's own form), except that a joined form holding the forms of two or more entries
  ("X or Y" kept as an alias of X while Y is its own entry, 12.2) gives way to the parts: one span per
  condition. An optional entry's form that wins an overlap blocks the required form inside it and gets no
  span itself (it has no decision). Coverage is the gold's.
* THRESHOLD / DOSE: inside each occurrence of a required fact's quote (`text`), the numeric mention whose
  value(s) are the gold's, from its comparator words to its unit (the span rule of ANNOTATION.md). The
  mention's boundaries come from the project's number reader (`find_quantities`); what is marked, and
  where, comes from the gold alone.

Usage: python -m pipeline.training.gold_spans [DOC_ID ...]   (default: every train/dev document with gold
and no span file). Test documents are refused: their spans must stay unseen.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from pipeline.datamodel import Document
from pipeline.extract.nlp import build_nlp
from pipeline.extract.numbers import Quantity, find_quantities, parse_number
from pipeline.extract.numbers.categories import CATEGORIES
from pipeline.ingest import read_document
from pipeline.paths import ANNOTATIONS_DIR, GOLD_DIR, RAW_DOCS
from pipeline.quality.evaluation import latest_file, load_splits
from pipeline.quality.scoring import load_gold
from pipeline.text import fold
from pipeline.training.records import DocSpan, sentence_records, write_records

SOURCE = "gold"
SPLITS = ("train", "dev")
# A word token of the text, apostrophes inside it kept ("Sjögren’s" folds to "sjogrens", as a whole name does).
_WORD_RE = re.compile(r"[^\W_]+(?:['’‘`´][^\W_]+)*")
_OPEN_PAREN_RE = re.compile(r"\s*\(\s*")
_CLOSE_PAREN_RE = re.compile(r"\s*[),;]")
_COMPOUND_AFTER_RE = re.compile(r"-[^\W_]")
# A value as written: digits, a number word, "a single", or a capital numeral (letters after it are a sub-grade).
_VALUE_TOKEN_RE = re.compile(r"(?i:a single)|\d+(?:[.,]\d+)*|[A-Za-z]+")


@dataclass(frozen=True)
class Word:
    """One folded word of the text and the characters of the token it comes from."""

    folded: str
    start: int
    end: int
    upper: bool  # the token is written in capitals ("AIR", "GVHD")
    line: int  # index of the line (paragraph or list item) it is on


@dataclass(frozen=True)
class Entry:
    """A gold indication's written forms and decision (None for an optional entry)."""

    forms: tuple[str, ...]
    coverage: str | None


def words_of(text: str) -> list[Word]:
    """The text's words in folded form, each pointing at its token (a token may fold to several words)."""
    out = []
    line, line_start = 0, 0
    for match in _WORD_RE.finditer(text):
        line += text.count("\n", line_start, match.start())
        line_start = match.start()
        token = match.group()
        upper = not any(c.islower() for c in token)
        out += [Word(w, match.start(), match.end(), upper, line) for w in fold(token).split()]
    return out


def _is_abbreviation(word: str) -> bool:
    """A form's word written in capitals ("AIR", "CD"): it must be written in capitals in the text too, or
    "AIR" would mark "air" and "CD" every "cd"."""
    letters = [c for c in word if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def form_matches(words: list[Word], form: str, index: Mapping[str, list[int]]) -> list[tuple[int, int]]:
    """Character spans where `form` is written (folded word by word; capitals kept for abbreviations)."""
    wanted = fold(form).split()
    if not wanted:
        return []
    caps = [_is_abbreviation(w) for w in _WORD_RE.findall(form)]
    # A form whose tokens fold to a different number of words cannot be checked word by word for capitals.
    caps = caps if len(caps) == len(wanted) else [False] * len(wanted)
    out = []
    for i in index.get(wanted[0], []):
        j = i + len(wanted)
        if j > len(words) or any(words[i + k].folded != w or (caps[k] and not words[i + k].upper) for k, w in enumerate(wanted)):
            continue
        if words[i].line == words[j - 1].line:  # a name never runs on into the next line or list item
            out.append((words[i].start, words[j - 1].end))
    return out


def entries_of(gold: Mapping[str, Any]) -> list[Entry]:
    """Required indications (with their coverage), then optional ones (coverage None)."""
    required = [Entry((g["name"], *g.get("aliases", [])), g["coverage"]) for g in gold["indications"]]
    optional = [Entry((g["name"], *g.get("aliases", [])), None) for g in gold.get("optional_indications", [])]
    return required + optional


def resolve_mentions(matches: set[tuple[int, int, int]], coverage: list[str | None]) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, coverage) INDICATION spans from (start, end, entry) matches (module doc)."""
    # Two entries with different decisions written as the same words: the gold cannot tell which is meant.
    decisions: dict[tuple[int, int], set[str | None]] = defaultdict(set)
    for start, end, entry in matches:
        decisions[(start, end)].add(coverage[entry])
    candidates = sorted({(s, e, entry) for s, e, entry in matches if len(decisions[(s, e)]) == 1}, key=lambda m: (m[0] - m[1], m[0]))
    kept = _longest_first([m for m in candidates if not _joins_entries(m, candidates)])
    return sorted((s, e, coverage[entry]) for s, e, entry in kept if coverage[entry] is not None)


def _joins_entries(match: tuple[int, int, int], candidates: list[tuple[int, int, int]]) -> bool:
    """A joined form of several entries ("X or Y" written as an alias of X while Y is its own entry): the
    forms inside it, longest first, belong to two or more entries; the parts are marked instead."""
    start, end, _ = match
    parts = _longest_first([m for m in candidates if start <= m[0] and m[1] <= end and m[:2] != (start, end)])
    return len({entry for _, _, entry in parts}) >= 2


def _longest_first(matches: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Non-overlapping matches, longer ones first (`matches` already sorted longest first)."""
    kept: list[tuple[int, int, int]] = []
    for start, end, entry in matches:
        if not any(s < end and start < e for s, e, _ in kept):
            kept.append((start, end, entry))
    return kept


def indication_spans(text: str, gold: Mapping[str, Any]) -> list[DocSpan]:
    """Every written mention of a required gold indication, with its coverage."""
    words = words_of(text)
    index: dict[str, list[int]] = defaultdict(list)
    for i, word in enumerate(words):
        index[word.folded].append(i)
    entries = entries_of(gold)
    matches = {
        (s, e, n) for n, entry in enumerate(entries) for form in entry.forms for s, e in form_matches(words, form, index) if not _in_compound(text, s, e)
    }
    mentions = resolve_mentions(matches, [entry.coverage for entry in entries])
    kept = [m for m, before in zip(mentions, [None, *mentions]) if not (before and _defines_abbreviation(text, before[1], m[0], m[1]))]
    return [(s, e, "INDICATION", cov) for s, e, cov in kept]


def _in_compound(text: str, start: int, end: int) -> bool:
    """The words are part of a hyphenated compound ("HF" in the trial name "CARE-HF"), not a mention."""
    before = start >= 2 and text[start - 1] == "-" and text[start - 2].isalnum()
    return before or bool(_COMPOUND_AFTER_RE.match(text, end))


def _defines_abbreviation(text: str, previous_end: int, start: int, end: int) -> bool:
    """The mention is the bracketed abbreviation right after a mention ("Autoimmune retinopathy (AIR)"): the
    span rule leaves it out, the long form is the mention. A bracketed synonym ("(asthma)", "(Buerger's
    disease)") stays a mention; an abbreviation has two capitals in every word ("MPNs", "mCRC", "CEL, NOS")."""
    words = _WORD_RE.findall(text, start, end)
    return all(sum(c.isupper() for c in w) >= 2 for w in words) and bool(_OPEN_PAREN_RE.fullmatch(text, previous_end, start)) and bool(_CLOSE_PAREN_RE.match(text, end))


def _values(fact: Mapping[str, Any], kind: str) -> tuple[float, float | None]:
    """The gold value(s) of a threshold (value, value_high) or dose (low, high; one value when equal)."""
    if kind == "THRESHOLD":
        return fact["value"], fact.get("value_high") if fact.get("comparator") == "between" else None
    low, high = fact["low"], fact.get("high")
    return low, (high if high is not None and high != low else None)


def _quantity_fits(q: Quantity, low: float, high: float | None) -> bool:
    """The mention states the gold value: the same range (either written order), or the single value."""
    if high is not None:
        return q.high is not None and {q.low, q.high} == {low, high}
    return q.low == low and (q.high is None or q.high == low)


def quantity_span(quantities: list[Quantity], quote_start: int, quote_end: int, low: float, high: float | None) -> tuple[int, int] | None:
    """The numeric mention inside a quote occurrence that states the gold value; the range's end when a
    range mixes units ("72 hours to 1 week" is 72-168 hours in the gold) or only one end matches."""
    inside = [q for q in quantities if quote_start <= q.number_start and q.number_end <= quote_end]
    exact = [q for q in inside if _quantity_fits(q, low, high)]
    loose = [q for q in inside if low in (q.low, q.high)]
    best = (exact or loose or [None])[0]
    return (best.start, best.end) if best else None


def roman_value(token: str) -> int | None:
    """A stage/class numeral in capitals ("III", "IV", "IIIB" -> 3), read with the category reader's numeral
    table: the number reader leaves these to the measure, but the gold counts them (12.5)."""
    numeral = token[:-1] if token[-1:] in "ABCabc" and token[:-1] in CATEGORIES.roman else token
    return CATEGORIES.roman.get(numeral)


def _token_value(token: str) -> float | None:
    """The value a token writes (0 is a value, so no `or` chain)."""
    value = parse_number(token)
    return value if value is not None else roman_value(token)


def written_value_span(text: str, quote_start: int, quote_end: int, low: float, high: float | None) -> tuple[int, int] | None:
    """Where the number reader found no mention of the value ("One baseline study", "stage III or greater",
    "NYHA class II-IV"): the written value itself, from the low value to the high one of a range."""
    tokens = [(m.start(), m.end(), _token_value(m.group())) for m in _VALUE_TOKEN_RE.finditer(text, quote_start, quote_end)]
    first = next((t for t in tokens if t[2] == low), None)
    if first is None:
        return None
    last = next((t for t in tokens if t[0] > first[0] and t[2] == high), first) if high is not None else first
    return first[0], last[1]


def number_spans(text: str, gold: Mapping[str, Any], quantities: list[Quantity] | None = None) -> tuple[list[DocSpan], int]:
    """THRESHOLD and DOSE spans of the required gold facts at every occurrence of their quotes, and how many
    facts could not be placed (no quote occurrence with a mention of their value)."""
    quantities = find_quantities(text) if quantities is None else quantities
    spans: set[DocSpan] = set()
    unplaced = 0
    for kind, facts in (("THRESHOLD", gold["thresholds"]), ("DOSE", gold["doses"])):
        for fact in facts:
            low, high = _values(fact, kind)
            quote, found = fact.get("text") or "", 0
            at = text.find(quote) if quote else -1
            while at >= 0:
                span = quantity_span(quantities, at, at + len(quote), low, high) or written_value_span(text, at, at + len(quote), low, high)
                if span:
                    spans.add((*span, kind, None))
                    found += 1
                at = text.find(quote, at + 1)
            unplaced += found == 0
    return sorted(spans), unplaced


def without_overlaps(indications: list[DocSpan], numbers: list[DocSpan]) -> list[DocSpan]:
    """Indication spans (what the NER learns) win over a number span they overlap ("stage 4" inside a named
    stage); number spans then keep the earliest of overlapping ones."""
    kept = list(indications)
    for span in numbers:
        if not any(s < span[1] and span[0] < e for s, e, _, _ in kept):
            kept.append(span)
    return sorted(kept)


def derive_records(doc_id: str, document: Document, gold: Mapping[str, Any], nlp=None) -> tuple[list[dict], dict]:
    """Sentence records of one document with the spans its gold implies, and counts for the log."""
    nlp = nlp or build_nlp()
    indications = indication_spans(document.text, gold)
    numbers, unplaced = number_spans(document.text, gold)
    spans = without_overlaps(indications, numbers)
    records = sentence_records(doc_id, document, nlp(document.text), spans, source=SOURCE, checked=False)
    placed = sum(len(r["spans"]) for r in records)
    stats = {"sentences": len(records), "spans": placed, "numbers_unplaced": unplaced, "outside_records": len(spans) - placed}
    return records, stats


def pending_documents(annotations: Path = ANNOTATIONS_DIR, gold_dir: Path = GOLD_DIR) -> list[tuple[str, str]]:
    """(doc, split) of the train/dev documents with gold and no span file in any split folder."""
    splits = load_splits()
    annotated = {p.stem for split in ("train", "dev", "test") for p in (annotations / split).glob("*.jsonl")}
    return [(doc, split) for split in SPLITS for doc in splits[split] if (gold_dir / f"{doc}.json").exists() and doc not in annotated]


def main(argv: list[str] | None = None) -> int:
    """Derive and write models/annotations/<split>/<DOC>.jsonl for the given (default: pending) documents."""
    splits = load_splits()
    split_of = {doc: split for split in SPLITS for doc in splits[split]}
    todo = [(doc, split_of.get(doc)) for doc in argv] if argv else pending_documents()
    refused = [doc for doc, split in todo if split is None]
    if refused:
        print(f"not a train/dev document, refused: {', '.join(refused)}", file=sys.stderr)
        return 2
    nlp = build_nlp()
    for doc_id, split in todo:
        document = read_document(latest_file(doc_id), root=RAW_DOCS)
        records, stats = derive_records(doc_id, document, load_gold(GOLD_DIR / f"{doc_id}.json"), nlp)
        path = ANNOTATIONS_DIR / split / f"{doc_id}.jsonl"
        write_records(records, path)
        print(f"{doc_id} ({split}): {stats} -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
