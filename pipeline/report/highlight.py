"""Word-level highlights of what a revision changed in a sentence, as escaped HTML.

The before sentence shows the words the revision deleted in <del>, the after sentence the words it
inserted in <ins>; unchanged words are plain. Words are compared whole (difflib on word tokens), so a
changed number or unit is marked as one word rather than as a scatter of changed characters.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from html import escape

# A word keeps its inner joiners, so "0.4–1.5", "mg/dL", "Clarkson’s" and "anti-CD20" are one token
# each and "1.5" -> "2" highlights the whole value; any other non-space character is a token of its own.
_TOKEN = re.compile(r"\w+(?:[.,/:'’–-]\w+)*|[^\w\s]")


@dataclass(frozen=True)
class Piece:
    """A run of text on one side of a diff: plain (`mark` None), deleted ("del") or inserted ("ins")."""

    text: str
    mark: str | None = None


def word_tokens(text: str) -> tuple[list[str], list[str]]:
    """The words of `text` (whitespace collapsed) and each word as shown, with its trailing space."""
    flat = " ".join(text.split())
    spans = [match.span() for match in _TOKEN.finditer(flat)]
    words = [flat[start:end] for start, end in spans]
    ends = [start for start, _ in spans[1:]] + [len(flat)]
    shown = [flat[start:end] for (start, _), end in zip(spans, ends)]
    return words, shown


def word_diff(before: str, after: str) -> tuple[list[Piece], list[Piece]]:
    """The before side (plain and deleted runs) and the after side (plain and inserted runs)."""
    old_words, old_shown = word_tokens(before)
    new_words, new_shown = word_tokens(after)
    matcher = difflib.SequenceMatcher(None, old_words, new_words, autojunk=False)
    old_side: list[Piece] = []
    new_side: list[Piece] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            old_side.append(Piece("".join(old_shown[i1:i2])))
            new_side.append(Piece("".join(new_shown[j1:j2])))
            continue
        if i2 > i1:  # "delete" or "replace"
            old_side.append(Piece("".join(old_shown[i1:i2]), "del"))
        if j2 > j1:  # "insert" or "replace"
            new_side.append(Piece("".join(new_shown[j1:j2]), "ins"))
    return _merged(old_side), _merged(new_side)


def _merged(pieces: list[Piece]) -> list[Piece]:
    """Neighbouring pieces of the same kind joined, so one edit is one mark."""
    out: list[Piece] = []
    for piece in pieces:
        if out and out[-1].mark == piece.mark:
            out[-1] = Piece(out[-1].text + piece.text, piece.mark)
        else:
            out.append(piece)
    return out


def pieces_html(pieces: list[Piece]) -> str:
    """Escaped HTML of one side; a mark wraps its words, not the space after them."""
    parts = []
    for piece in pieces:
        if piece.mark is None:
            parts.append(escape(piece.text))
            continue
        words = piece.text.rstrip()
        parts.append(f"<{piece.mark}>{escape(words)}</{piece.mark}>{escape(piece.text[len(words):])}")
    return "".join(parts).rstrip()


def highlight_sentences(before: str | None, after: str | None) -> tuple[str | None, str | None]:
    """Escaped HTML of both sentences with word-level marks; a sentence without a counterpart is whole."""
    if before is None or after is None:
        return (_whole(before), _whole(after))
    old_side, new_side = word_diff(before, after)
    return pieces_html(old_side), pieces_html(new_side)


def _whole(text: str | None) -> str | None:
    """One sentence, escaped and unmarked (there is nothing to compare it with)."""
    return None if text is None else escape(" ".join(text.split()))
