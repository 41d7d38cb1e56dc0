"""Normalised text: the one deterministic layout every reader ends in.

Conventions (every warehouse offset points into this text):
- one paragraph, list item, table row or heading per line; the text ends with a single "\\n";
- list items are "- " + content, nested items indented by two spaces per level ("  - ", "    - ");
  ordinal markers are kept as content ("- 1. Foo", "- a) Bar"), bullet glyphs (• ◦ ▪ * o) are dropped;
- every other line starts at column 0; no trailing spaces; runs of spaces collapsed to one;
- NBSP and other unicode spaces become " ", zero-width characters and soft hyphens are dropped,
  ligatures are expanded, CRLF/CR become LF; curly quotes and apostrophes become ' and " (editors
  swap them freely, and no rule may see a difference); other typographic characters (≥ ≤ –) are kept;
- at most one blank line in a row, none at the start or end.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable

from pipeline.ingest.sections import HeadingMatch, match_heading, slug, unmark

_SPACE_CHARS = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000\t"
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_LIGATURES = {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
_CONTROL = [chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if chr(c) not in "\t\n"]
_QUOTES = {"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"'}
_INLINE_TABLE = str.maketrans(
    {**{c: " " for c in _SPACE_CHARS}, **{c: None for c in _ZERO_WIDTH}, **{c: None for c in _CONTROL}, **_LIGATURES, **_QUOTES}
)

# Bullet glyphs that carry no meaning of their own (dropped); \uf0b7 / \uf0a7 are Word's Symbol-font bullets.
_BULLET_RE = re.compile(r"(?:[-•◦▪▫●○■□‣⁃∙·*\uf0b7\uf0a7\uf0d8\uf076]|o(?=\s+\S))(?:\s+(?P<rest>.*))?")
# Ordinal markers that are kept as content: "1.", "12)", "a.", "b)", "(a)", "(1)", "ii.", "iv)".
_ORDINAL_RE = re.compile(r"(?P<marker>\((?:\d{1,2}|[a-z]|[ivx]{2,4})\)|(?:\d{1,2}|[a-z]|[ivx]{2,4})[.)])\s+(?P<rest>\S.*)")
_TAB_STOP = 4


@dataclass(frozen=True)
class Block:
    """One output line before layout: a paragraph (level None) or a list item (level >= 0).

    `forced` makes the line a section heading whatever the lexicon says (a JSON field heading, a
    "=== X ===" line); `can_head=False` stops lexicon matching on it (sub-headings inside JSON fields
    that must not open a section). `text == ""` with level None is a blank line.
    """

    text: str
    level: int | None = None
    forced: HeadingMatch | None = None
    can_head: bool = True


BLANK = Block("")


def clean_inline(text: str) -> str:
    """Unicode clean-up and whitespace collapse for one line's content."""
    text = unicodedata.normalize("NFC", text).translate(_INLINE_TABLE)
    return re.sub(r"\s+", " ", text).strip()


def split_bullet(text: str) -> tuple[str, str] | None:
    """(kept marker, rest) when `text` starts with a list marker, else None; bullets keep no marker."""
    ordinal = _ORDINAL_RE.fullmatch(text)
    if ordinal:
        return ordinal.group("marker"), ordinal.group("rest")
    bullet = _BULLET_RE.fullmatch(text)
    if bullet:
        return "", bullet.group("rest") or ""
    return None


def item_content(marker: str, rest: str) -> str:
    """The content of a list item: the kept ordinal marker, a space, the rest."""
    return f"{marker} {rest}".strip() if marker else rest.strip()


def indent_width(raw: str) -> int:
    """Columns of leading whitespace, tabs counted as 4."""
    width = 0
    for char in raw:
        if char == " ":
            width += 1
        elif char == "\t":
            width += _TAB_STOP
        else:
            break
    return width


def _level_for(stack: list[int], indent: int) -> int:
    """List level of an item at `indent` given the open indents (mutates the stack)."""
    while stack and stack[-1] > indent:
        stack.pop()
    if not stack or indent > stack[-1]:
        stack.append(indent)
    return len(stack) - 1


def _marked_block(inner: str) -> Block:
    """A '=== X ===' line: always a heading; lexicon kind if known, else an 'other' section."""
    match = match_heading(inner) or HeadingMatch(slug(inner), "other")
    return Block(inner, forced=match)


def parse_plain_lines(lines: Iterable[str]) -> list[Block]:
    """Plain-text lines (txt, PDF, JSON plain fields) to Blocks: markers, nesting by indentation, tabs."""
    blocks: list[Block] = []
    stack: list[int] = []  # indents of the open list levels
    for raw in lines:
        indent = indent_width(raw)
        # Inner tab runs separate columns of a pasted table: render them like table cells.
        body = re.sub(r"\s*\t+\s*", " | ", raw.strip(" \t\r\n\f\v")).strip()
        if not body or body == "|":
            blocks.append(BLANK)
            continue
        inner = unmark(body) if body.startswith(("=", "#")) else None
        if inner:
            stack.clear()
            blocks.append(_marked_block(inner))
            continue
        marker = split_bullet(body)
        # A numbered lexicon heading ("1. Indications") is a heading, not a list item.
        if marker and marker[0] and match_heading(body):
            marker = None
        if marker is None:
            while stack and stack[-1] >= indent:
                stack.pop()
            blocks.append(Block(body))
            continue
        blocks.append(Block(item_content(*marker), level=_level_for(stack, indent)))
    return blocks


def tidy(blocks: Iterable[Block]) -> list[Block]:
    """Clean every block, drop empty list items, collapse blank runs, trim leading/trailing blanks."""
    out: list[Block] = []
    for block in blocks:
        text = clean_inline(block.text)
        if not text:
            if block.level is None and out and out[-1].text:
                out.append(BLANK)
            continue
        out.append(Block(text, block.level, block.forced, block.can_head))
    while out and not out[-1].text:
        out.pop()
    return out


def layout(block: Block) -> str:
    """The output line for one (clean) block."""
    if block.level is None:
        return block.text
    return "  " * block.level + "- " + block.text


def render(blocks: Iterable[Block]) -> tuple[str, list[tuple[int, Block]]]:
    """Normalised text plus (offset of line start, block) for every non-blank line."""
    parts: list[str] = []
    positions: list[tuple[int, Block]] = []
    offset = 0
    for block in tidy(blocks):
        line = layout(block)
        if line:
            positions.append((offset, block))
        parts.append(line)
        offset += len(line) + 1
    text = "\n".join(parts) + "\n" if parts else ""
    return text, positions
