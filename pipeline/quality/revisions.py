"""Revisions made from a real LCD source file, for measuring the diff: editorial ones, which change no
policy, and substantive ones, which make one known change.

A source is edited the way its format is written (plain text lines; Coverage API records as the HTML
of their text fields, escaped twice like CMS serves it), so that a revision goes through the same
reader as a real one. Substantive edits are aimed at a fact the extractor found in the original, so
that the change the diff should report is known.
"""

from __future__ import annotations

import html
import json
import random
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pipeline.datamodel import Document, Extraction, Indication
from pipeline.ingest.api_json import LCD_FIELDS, NCD_FIELDS

EDITORIAL = ("quotes_accents", "doubled_spaces", "swapped_items", "rewrapped_paragraph", "spelling", "case")
SUBSTANTIVE = ("threshold_value", "dose_value", "indication_removed", "coverage_flipped", "item_added")
EXPECTED = {
    "threshold_value": "threshold_changed",
    "dose_value": "dose_changed",
    "indication_removed": "indication_removed",
    "coverage_flipped": "coverage_changed",
    "item_added": "indication_added",
}
# Conditions that no shipped LCD names, added as a new list item.
NEW_CONDITIONS = ("Erdheim-Chester disease", "Schnitzler syndrome", "Kikuchi-Fujimoto disease", "Rosai-Dorfman disease")
# Coverage statements and their negation ("covered" -> "not covered").
_NEGATIONS = (
    (" is covered", " is not covered"),
    (" are covered", " are not covered"),
    (" is considered reasonable and necessary", " is not considered reasonable and necessary"),
    (" are considered reasonable and necessary", " are not considered reasonable and necessary"),
    (" is reasonable and necessary", " is not reasonable and necessary"),
    (" are reasonable and necessary", " are not reasonable and necessary"),
    (" is considered medically necessary", " is not considered medically necessary"),
    (" is medically necessary", " is not medically necessary"),
    (" may be covered", " will not be covered"),
    (" will be covered", " will not be covered"),
    (" is indicated", " is not indicated"),
    (" are indicated", " are not indicated"),
)
_TAG = re.compile(r"(<[^>]*>)")
_ITEM_LINE = re.compile(r"^(\s*)(?:[-*\u2022\u00b7]|\d{1,2}[.)])\s+\S")
_ITEM_MARK = re.compile(r"^\s*(?:[-*\u2022\u00b7]|\d{1,2}[.)])\s+")
_LI = re.compile(r"<li[^>]*>((?:(?!<li|</?ul|</?ol).)*?)</li>", re.S | re.I)
_WORD = re.compile(r"\b[a-z]{8,}\b")
_CAPITALISED = re.compile(r"(?<=[a-z,] )[A-Z][a-z]{4,}\b")
_NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?![\d.])")


@dataclass(frozen=True)
class Revision:
    """One revised source: what was done, the revised bytes, and the change type it should produce
    (None for an editorial revision: no change at all)."""

    kind: str  # one of EDITORIAL or SUBSTANTIVE
    data: bytes
    expected: str | None
    detail: str  # what was edited, e.g. "IgG: 400 -> 500"
    before: str | None = None  # the value or name the expected change starts from
    after: str | None = None
    edited: str | None = None  # the text as the revision writes it (changes quoting it are its own)
    original: str | None = None  # the text it replaced or removed (changes quoting it are its own too)


# ------------------------------------------------------------------------------------------------ formats


@dataclass
class Source:
    """A source file's editable text: plain text, or the HTML fields of a Coverage API record."""

    suffix: str
    raw: bytes

    def fields(self) -> list[str]:
        """The record fields holding document text (a plain-text file is one field, "")."""
        if self.suffix != ".json":
            return [""]
        record = json.loads(self.raw.decode("utf-8"))
        names = [name for name, _ in (*LCD_FIELDS, *NCD_FIELDS)]
        return [name for name in dict.fromkeys(names) if isinstance(record.get(name), str) and record[name].strip()]

    def edit(self, change: Callable[[str, bool], str | None]) -> bytes | None:
        """The source with `change(text, is_html)` applied to each text field (None: leave as is);
        None when no field changed."""
        if self.suffix != ".json":
            text = self.raw.decode("utf-8")
            new = change(text, False)
            return new.encode("utf-8") if new is not None and new != text else None
        record = json.loads(self.raw.decode("utf-8"))
        changed = False
        for name in self.fields():
            value = record[name]
            escaped = "&lt;" in value or "&gt;" in value
            markup = html.unescape(value) if escaped else value
            new = change(markup, True)
            if new is not None and new != markup:
                record[name] = html.escape(new, quote=False) if escaped else new
                changed = True
        return json.dumps(record, indent=4, ensure_ascii=True).encode("ascii") if changed else None


def text_nodes(markup: str, edit: Callable[[str], str]) -> str:
    """HTML with `edit` applied to the plain text between tags (entities decoded, then re-escaped)."""
    parts = _TAG.split(markup)
    for i in range(0, len(parts), 2):
        if parts[i]:
            plain = html.unescape(parts[i])
            new = edit(plain)
            if new != plain:
                parts[i] = html.escape(new, quote=False)
    return "".join(parts)


def _in_text(change: Callable[[str], str]) -> Callable[[str, bool], str]:
    """A plain-text edit applied to a field, through its text nodes when it is HTML."""
    return lambda text, is_html: text_nodes(text, change) if is_html else change(text)


def _pattern(text: str) -> re.Pattern:
    """`text` as a pattern that does not match inside a longer number ("<3" is not in "<30")."""
    before = r"(?<![\d.])" if text[:1].isdigit() else ""
    after = r"(?![\d.]?\d)" if text[-1:].isdigit() else ""
    return re.compile(before + re.escape(text) + after)


def replace_nth(source: Source, old: str, new: str, nth: int) -> bytes | None:
    """The source with the `nth` occurrence (0-based, in reading order, each inside one text node) of
    `old` replaced by `new`; None when there are not that many."""
    seen = [0]
    pattern = _pattern(old)

    def edit(plain: str) -> str:
        parts = pattern.split(plain)
        if len(parts) == 1 or seen[0] > nth:
            seen[0] += len(parts) - 1 if seen[0] <= nth else 0
            return plain
        out = parts[0]
        for part in parts[1:]:
            out += (new if seen[0] == nth else old) + part
            seen[0] += 1
        return out

    data = source.edit(_in_text(edit))
    return data if seen[0] > nth else None


def occurrence(document_text: str, text: str, at: int) -> int:
    """How many times `text` occurs in the document before offset `at`: which occurrence a fact is."""
    return len(_pattern(text).findall(document_text, 0, at)) if text else 0


# ------------------------------------------------------------------------------------------------ editorial


def editorial(kind: str, source: Source, rng: random.Random) -> bytes | None:
    """The source revised editorially (no policy change), or None when the transform does not apply."""
    if kind == "quotes_accents":
        return source.edit(_in_text(_requote))
    if kind == "doubled_spaces":
        return source.edit(_in_text(lambda t: _double_spaces(t, rng)))
    if kind == "swapped_items":
        return source.edit(lambda t, is_html: _swap_items(t, is_html, rng))
    if kind == "rewrapped_paragraph":
        return source.edit(lambda t, is_html: _rewrap(t, is_html, rng))
    if kind == "spelling":
        return _few_words(source, _WORD, _protected_words(), _misspelt, rng)
    if kind == "case":
        return _few_words(source, _CAPITALISED, frozenset(), str.lower, rng)
    raise ValueError(f"unknown editorial transform {kind!r}")


def _requote(text: str) -> str:
    """Straight quotes curled and curly ones straightened, accented letters folded to their base."""
    swapped = text.translate(str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'}))
    if swapped == text:
        swapped = re.sub(r"(?<=\w)'(?=\w)", "\u2019", text)
    # NFD, not NFKD: only accents go; compatibility forms such as "½" or "µ" stay as written.
    decomposed = unicodedata.normalize("NFD", swapped)
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def _double_spaces(text: str, rng: random.Random) -> str:
    """About one space in six doubled."""
    return re.sub(r"(?<=\S) (?=\S)", lambda m: "  " if rng.random() < 0.17 else " ", text)


def _swap_items(text: str, is_html: bool, rng: random.Random) -> str | None:
    """Two adjacent list items of the same level swapped."""
    if is_html:
        pairs = [(a, b) for a, b in zip(_LI.finditer(text), list(_LI.finditer(text))[1:]) if not text[a.end() : b.start()].strip()]
        if not pairs:
            return None
        a, b = rng.choice(pairs)
        return text[: a.start()] + b.group(0) + text[a.end() : b.start()] + a.group(0) + text[b.end() :]
    lines = text.split("\n")
    candidates = [
        i for i in range(len(lines) - 1)
        if (m := _ITEM_LINE.match(lines[i])) and (n := _ITEM_LINE.match(lines[i + 1])) and m.group(1) == n.group(1)
    ]
    if not candidates:
        return None
    i = rng.choice(candidates)
    lines[i], lines[i + 1] = lines[i + 1], lines[i]
    return "\n".join(lines)


def _rewrap(text: str, is_html: bool, rng: random.Random) -> str | None:
    """One long paragraph re-wrapped: line breaks inside it (HTML source whitespace, or the hard wraps
    of a plain-text export that the reader joins)."""
    if is_html:
        paragraphs = [m for m in re.finditer(r"<p>([^<]{160,})</p>", text)]
        if not paragraphs:
            return None
        m = rng.choice(paragraphs)
        wrapped = _wrap(m.group(1), 60)
        return text[: m.start(1)] + wrapped + text[m.end(1) :]
    lines = text.split("\n")
    long = [i for i, line in enumerate(lines) if len(line) > 160 and not _ITEM_LINE.match(line) and ":" not in line[:40]]
    if not long:
        return None
    i = rng.choice(long)
    lines[i] = _wrap(lines[i], 72)
    return "\n".join(lines)


def _wrap(text: str, width: int) -> str:
    """Text broken into lines of at most `width` characters at spaces."""
    out, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    out.append(line)
    return "\n".join(out)


def _few_words(source: Source, pattern: re.Pattern, protected: frozenset[str], respell: Callable[[str], str], rng: random.Random) -> bytes | None:
    """The source with a few words of the whole document (matching `pattern`, not `protected`) rewritten
    by `respell`, each at one place."""
    words: set[str] = set()
    source.edit(_in_text(lambda t: words.update(pattern.findall(t)) or t))
    chosen = rng.sample(sorted(words - protected), min(2, len(words - protected)))
    if not chosen:
        return None
    remaining = set(chosen)

    def edit(plain: str) -> str:
        for word in list(remaining):
            new = re.sub(rf"\b{re.escape(word)}\b", respell(word), plain, count=1)
            if new != plain:
                remaining.discard(word)
                plain = new
        return plain

    return source.edit(_in_text(edit))


def _misspelt(word: str) -> str:
    """A word with two inner letters swapped, as a later typo fix would undo."""
    i = len(word) // 2
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _protected_words() -> frozenset[str]:
    """Words a typo must not touch: the ones rules key on (coverage cues, comparators, units, number
    and meaning words). A typo there is a different document to an extractor, not an editorial edit."""
    from pipeline.diff.align import lexicon
    from pipeline.extract.lexicon import DATA_DIR

    words: set[str] = set(lexicon().meaning_words)
    for path in DATA_DIR.glob("*.json"):
        words.update(re.findall(r"[a-z]{8,}", path.read_text(encoding="utf-8").lower()))
    return frozenset(words)


# ------------------------------------------------------------------------------------------------ substantive


def substantive(kind: str, source: Source, document: Document, extraction: Extraction, rng: random.Random) -> Revision | None:
    """One known policy change made to the source, aimed at a fact the extractor found; None when the
    document has no fact the transform can be aimed at."""
    makers = {
        "threshold_value": _threshold_value,
        "dose_value": _dose_value,
        "indication_removed": _indication_removed,
        "coverage_flipped": _coverage_flipped,
        "item_added": _item_added,
    }
    for revision in makers[kind](source, document, extraction, rng):
        return revision
    return None


def _policy(facts: tuple) -> list:
    return [f for f in facts if f.section == "policy"]


def _changed_number(text: str, value: float) -> tuple[str, str, str] | None:
    """(old text, new text, new number) for the first number in `text` equal to `value`; None when
    the text also writes it out in words ("sixty (60) minutes": one edit would leave two values)."""
    for m in _NUMBER.finditer(text):
        if abs(float(m.group(0)) - value) < 1e-9:
            if _spelt_out_before(text[: m.start()]):
                return None
            new_value = value + max(1, round(abs(value) * 0.25)) if float(value).is_integer() else round(value * 1.5, 3)
            new = str(int(new_value)) if float(new_value).is_integer() else str(new_value)
            return text, text[: m.start()] + new + text[m.end() :], new
    return None


def _spelt_out_before(text: str) -> bool:
    """Whether a text ends with a number word and an opening parenthesis ("sixty (")."""
    from pipeline.extract.numbers import load_number_words

    words = load_number_words()
    m = re.search(r"([A-Za-z-]+)\s*\($", text)
    return bool(m) and any(m.group(1).lower() in table for table in (words.cardinals, words.tens))


def _number_edit(source: Source, document: Document, fact) -> tuple[bytes, str] | None:
    """The source with the number of a dose or threshold changed where the fact is stated (the same
    occurrence of its text); (bytes, new number)."""
    value = fact.amount_high if hasattr(fact, "amount_high") else fact.value  # the high end: a range's edit shows
    edited = _changed_number(fact.text, value)
    if edited is None:
        return None
    old, new, number = edited
    data = replace_nth(source, old, new, occurrence(document.text, old, fact.char_start))
    return (data, number) if data is not None else None


def _value_edits(kind: str, facts: list, value_of: Callable, label_of: Callable, source: Source, document: Document, rng: random.Random) -> Iterator[Revision]:
    """Revisions changing the number of one dose or threshold (tried in a seeded order) where it is stated."""
    facts = list(facts)
    rng.shuffle(facts)
    for fact in facts:
        edit = _number_edit(source, document, fact)
        if edit:
            data, number = edit
            value = f"{value_of(fact):g}"
            yield Revision(kind, data, EXPECTED[kind], f"{label_of(fact)}: {value} -> {number}", value, number)


def _threshold_value(source: Source, document: Document, extraction: Extraction, rng: random.Random) -> Iterator[Revision]:
    thresholds = [t for t in _policy(extraction.thresholds) if t.comparator != "between"]
    return _value_edits("threshold_value", thresholds, lambda t: t.value, lambda t: t.measure, source, document, rng)


def _dose_value(source: Source, document: Document, extraction: Extraction, rng: random.Random) -> Iterator[Revision]:
    return _value_edits("dose_value", _policy(extraction.doses), lambda d: d.amount_high, lambda d: d.drug or "dose", source, document, rng)


def _listed(document: Document, extraction: Extraction) -> list[tuple[Indication, str, int]]:
    """Policy indications that are a list item of their own whose line is little more than the name:
    (indication, the item's text, which occurrence of that text it is)."""
    out = []
    for ind in _policy(extraction.indications):
        line_start = document.text.rfind("\n", 0, ind.char_start) + 1
        line_end = document.text.find("\n", ind.char_end)
        line = document.text[line_start : line_end if line_end >= 0 else len(document.text)]
        item = line.strip()[2:].strip() if line.lstrip().startswith("- ") else ""
        if item and len(item) <= len(ind.name) + 40:
            nth = sum(1 for earlier in document.text[:line_start].splitlines() if earlier.strip()[2:].strip() == item)
            out.append((ind, item, nth))
    return out


def _item_key(item: str) -> str:
    """A list item as compared for being listed twice: folded, without the "or" / "and" joining it to the next."""
    from pipeline.text import fold

    return re.sub(r"\s+(?:or|and)$", "", fold(item))


def _item_span(item: str, nth: int) -> Callable[[str, bool], tuple[int, int] | None]:
    """Where the `nth` list item reading `item` is in a field: (start, end) of its `<li>` or its line."""
    wanted = " ".join(item.split())

    def find(text: str, is_html: bool) -> tuple[int, int] | None:
        if is_html:
            spans = [(m.start(), m.end()) for m in _LI.finditer(text) if " ".join(html.unescape(_TAG.sub(" ", m.group(1))).split()) == wanted]
        else:
            spans = [
                (m.start(), min(m.end() + 1, len(text)))
                for m in re.finditer(r"^.*$", text, re.M)
                if _ITEM_MARK.match(m.group(0)) and " ".join(_ITEM_MARK.sub("", m.group(0), 1).split()) == wanted
            ]
        return spans[nth] if nth < len(spans) else None

    return find


def _indication_removed(source: Source, document: Document, extraction: Extraction, rng: random.Random) -> Iterator[Revision]:
    # An item listed twice (in two lists) stays listed when one is removed: aim at items listed once.
    items = [_item_key(line.strip()[2:]) for line in document.text.splitlines() if line.lstrip().startswith("- ")]
    listed = [entry for entry in _listed(document, extraction) if items.count(_item_key(entry[1])) == 1]
    rng.shuffle(listed)
    for ind, item, nth in listed:
        find = _item_span(item, nth)

        def drop(text: str, is_html: bool) -> str | None:
            span = find(text, is_html)
            return text[: span[0]] + text[span[1] :] if span else None

        data = source.edit(drop)
        if data is not None:
            yield Revision("indication_removed", data, "indication_removed", ind.name, ind.name, None, None, item)


def _item_added(source: Source, document: Document, extraction: Extraction, rng: random.Random) -> Iterator[Revision]:
    listed = _listed(document, extraction)
    rng.shuffle(listed)
    new_name = rng.choice(NEW_CONDITIONS)
    for ind, item, nth in listed:
        find = _item_span(item, nth)

        def add(text: str, is_html: bool) -> str | None:
            span = find(text, is_html)
            if not span:
                return None
            if is_html:
                copy = f"<li>{html.escape(new_name, quote=False)}</li>"
            else:
                line = text[span[0] : span[1]].rstrip("\n")
                copy = _ITEM_MARK.match(line).group(0) + new_name + "\n"
                if not text[span[0] : span[1]].endswith("\n"):
                    copy = "\n" + copy.rstrip("\n")
            return text[: span[1]] + copy + text[span[1] :]

        data = source.edit(add)
        if data is not None:
            yield Revision("item_added", data, "indication_added", f"{new_name} (after {ind.name})", None, new_name, new_name)


def _coverage_flipped(source: Source, document: Document, extraction: Extraction, rng: random.Random) -> Iterator[Revision]:
    covered = [i for i in _policy(extraction.indications) if i.coverage == "covered" and i.sentence]
    rng.shuffle(covered)
    for ind in covered:
        for old, new in _NEGATIONS:
            if old not in ind.sentence:
                continue
            sentence_at = document.text.rfind(ind.sentence, 0, ind.char_start + len(ind.sentence))
            if sentence_at < 0:
                break
            at = ind.sentence.index(old)
            phrase = ind.sentence[max(0, at - 30) : at + len(old)]
            nth = occurrence(document.text, phrase, sentence_at + max(0, at - 30))
            data = replace_nth(source, phrase, phrase.replace(old, new, 1), nth)
            if data is not None:
                detail = f"{ind.name}: '{old.strip()}' -> '{new.strip()}'"
                yield Revision("coverage_flipped", data, "coverage_changed", detail, ind.name, "not_covered", phrase.replace(old, new, 1), phrase)
                break


def source_of(path: Path) -> Source:
    """The editable text of a source file."""
    return Source(path.suffix.lower(), path.read_bytes())
