"""The document's layout as the rules see it: lines, list items, sentences and abbreviations.

LCD readers emit one paragraph or list item per line ("- " marks an item, two spaces per nesting
level), so the line is the unit of list structure and the sentence the unit of coverage statements.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.datamodel import Document

_ITEM_RE = re.compile(r"^( *)(?:-|•|\*|–)(?: +|$)")
_ENUM_RE = re.compile(r"^(?:\(?(?:\d{1,2}|[a-zA-Z]|[ivxIVX]{1,4})[.)]|\(\d{1,2}\)) +")


@dataclass(frozen=True)
class Line:
    """One line of the normalised text with its list role and section."""

    index: int
    start: int  # offset of the line's first character
    end: int  # offset just past the last character (newline excluded)
    content_start: int  # offset after any "- " marker and enumeration ("1.", "a)")
    depth: int  # nesting level of a list item (0 for top level); -1 for a plain line
    section_kind: str
    section_name: str

    @property
    def is_item(self) -> bool:
        """True for list items."""
        return self.depth >= 0


@dataclass(frozen=True)
class Sentence:
    """A sentence (never crossing a line) with its offsets."""

    start: int
    end: int
    line: int


def split_lines(doc: Document) -> list[Line]:
    """Cut the normalised text into Line records, resolving each line's section and list depth."""
    lines: list[Line] = []
    offset = 0
    for index, raw in enumerate(doc.text.split("\n")):
        start, end = offset, offset + len(raw)
        offset = end + 1
        section = doc.section_at(start) if raw.strip() else doc.section_at(max(start - 1, 0))
        kind = section.kind if section else "other"
        name = section.name if section else "preamble"
        match = _ITEM_RE.match(raw)
        if match:
            depth = len(match.group(1)) // 2
            content = start + match.end()
        else:
            depth = -1
            content = start + len(raw) - len(raw.lstrip(" "))
        enum = _ENUM_RE.match(doc.text[content:end])
        if enum:
            content += enum.end()
            if depth < 0:  # "1. Foo" on its own line is a list item too (numbered lists in plain text)
                depth = (content - start - enum.end()) // 2
        lines.append(Line(index, start, end, content, depth, kind, name))
    return lines


def sentences_from_doc(spacy_doc, lines: list[Line]) -> list[Sentence]:
    """Sentences of a processed spaCy Doc, stripped of surrounding whitespace, tagged with their line."""
    starts = [line.start for line in lines]
    out: list[Sentence] = []
    import bisect

    for sent in spacy_doc.sents:
        text = sent.text
        left = len(text) - len(text.lstrip())
        right = len(text.rstrip())
        if right <= left:
            continue
        start, end = sent.start_char + left, sent.start_char + right
        line = bisect.bisect_right(starts, start) - 1
        out.append(Sentence(start, min(end, lines[line].end), line))
    return out


def find_abbreviations(text: str) -> dict[str, str]:
    """Abbreviations defined in the text, "Long Form (LF)" -> {"LF": "Long Form"} (Schwartz & Hearst)."""
    found: dict[str, str] = {}
    for match in re.finditer(r"\(([A-Za-z][A-Za-z0-9\-]{1,9})\)", text):
        abbr = match.group(1)
        if sum(c.isupper() for c in abbr) < 2:
            continue
        before = text[max(0, match.start() - 160) : match.start()].rstrip()
        before = re.split(r"[\n.;:(),]", before)[-1].strip()
        words = before.split()
        long_form = _match_long_form(abbr, words[-min(len(abbr) + 5, len(abbr) * 2) :])
        if long_form and abbr not in found:
            found[abbr] = long_form
    return found


def _match_long_form(abbr: str, words: list[str]) -> str | None:
    """The shortest word suffix whose letters spell the abbreviation from right to left."""
    candidate = " ".join(words)
    chars = [c.lower() for c in abbr if c.isalnum()]
    s_index, l_index = len(chars) - 1, len(candidate) - 1
    while s_index >= 0:
        c = chars[s_index]
        while l_index >= 0 and (
            candidate[l_index].lower() != c or (s_index == 0 and l_index > 0 and candidate[l_index - 1].isalnum())
        ):
            l_index -= 1
        if l_index < 0:
            return None
        l_index -= 1
        s_index -= 1
    start = candidate.rfind(" ", 0, l_index + 1) + 1
    long_form = candidate[start:].strip()
    if len(long_form.split()) > len(chars) + 5 or len(long_form) <= len(abbr):
        return None
    return long_form
