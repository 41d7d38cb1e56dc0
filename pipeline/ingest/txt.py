"""Plain-text reader (.txt): strict UTF-8 decoding, binary detection, then the plain-line normaliser.

Hard-wrapped text (a paragraph or list item broken into lines at ~70 columns) is rejoined before the
normaliser sees it, so a reflowed paragraph reads to the same normalised line as the unwrapped one. A
line that is not a list item, a heading or a table row continues the line before it when
- it is indented under a list item (a hanging indent), whatever it starts with; or
- the line before ends mid-sentence and it starts lower-case, with a digit or with "(" or "["; or
- the line before ends with a comma or a word no heading or sentence ends with ("of", "the", "and").
Otherwise an unindented line that starts upper-case stays a line of its own: in one-paragraph-per-line
text ("Scleromyxedema" then "Data on the efficacy ...") a wrapped sentence cannot be told apart from a
heading followed by its paragraph, nor "... is unclear." + "Suggested ..." from two paragraphs.
"""

from __future__ import annotations

import re

from pipeline.ingest.base import Parsed
from pipeline.ingest.errors import ReadError
from pipeline.ingest.normalize import indent_width, parse_plain_lines, split_bullet
from pipeline.ingest.sections import match_heading, unmark

_ALLOWED_CONTROLS = {"\t", "\n", "\r", "\f", "\v"}
# More than this share of control characters means the bytes are not prose.
_MAX_CONTROL_RATIO = 0.05
# Sentence end, optionally followed by closing quotes/brackets and a "^2,3" reference marker (as in pdf.py).
_TERMINAL_RE = re.compile(r"[.:;?!][\"'”’)\]]*(?:\^[\d,\-– ]+)?$")
# Words a wrapped line may end with but no heading or finished sentence does.
_DANGLING_WORDS = frozenset("a an the of to for with by in on at from and or nor than as per that which whose".split())
# "first-" + "line": plain text is wrapped at existing hyphens, never hyphenated, so the hyphen stays.
_WRAPPED_HYPHEN_RE = re.compile(r"[^\W\d_]-$")


def _control_ratio(text: str) -> float:
    """Share of C0/DEL control characters other than whitespace controls."""
    sample = text[:65536]
    controls = sum(1 for char in sample if (char < " " or char == "\x7f") and char not in _ALLOWED_CONTROLS)
    return controls / max(len(sample), 1)


def decode_text(data: bytes) -> str:
    """Bytes -> str with LF line ends; ReadError for empty, binary or non-UTF-8 input."""
    if not data.strip():
        raise ReadError("empty", "empty file")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ReadError("decode", f"not UTF-16 text despite its byte-order mark ({exc.reason})") from exc
    else:
        nul = data.find(b"\x00")
        if nul >= 0:
            raise ReadError("binary", f"binary content (NUL byte at offset {nul})")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ReadError("decode", f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from exc
    ratio = _control_ratio(text)
    if ratio > _MAX_CONTROL_RATIO:
        raise ReadError("binary", f"binary content ({ratio:.0%} control characters)")
    if not text.strip().strip("\ufeff"):
        raise ReadError("empty", "empty file")
    # \f and \v are page/section breaks in text dumps; U+2028/2029 are line/paragraph separators.
    for old in ("\r\n", "\r", "\f", "\v", "\u2028", "\u2029", "\x85"):
        text = text.replace(old, "\n")
    return text


def _is_heading(line: str) -> bool:
    """A "=== X ===" / "## X" marker line or a whole-line lexicon heading."""
    return unmark(line) is not None or match_heading(line) is not None


def continues(prev: str, nxt: str, item_indent: int | None) -> bool:
    """Whether raw line `nxt` continues the logical line whose last physical line is `prev`.

    `item_indent` is the indentation of the list marker when the logical line is a list item.
    """
    left, right = prev.strip(), nxt.strip()
    if not left or not right or "\t" in left or "\t" in right:
        return False  # a blank line ends a paragraph; tab-separated lines are table rows
    if split_bullet(right) is not None:
        return False
    if not right[:1].islower() and _is_heading(right):
        return False  # a wrapped "criteria:" is no heading: headings start with a capital
    if item_indent is not None and indent_width(nxt) > item_indent:
        # Hanging indent: a non-item line indented under a list item belongs to it (Markdown reads
        # it so too), whatever its first character ("- ... B19 infection -" / "  IVIG therapy is ...").
        return True
    if _TERMINAL_RE.search(left) or _is_heading(left):
        return False
    return right[:1].islower() or right[:1].isdigit() or right[:1] in ("(", "[") or _dangles(left)


def _dangles(line: str) -> bool:
    """The line stops where no heading or sentence stops: after a comma or a lower-case word like "of".

    Case matters: "Hepatitis A" or "Medicare Part A" may be a whole heading, "... a" is not.
    """
    words = line.split()
    return line.endswith(",") or (bool(words) and words[-1] in _DANGLING_WORDS)


def glue(left: str, right: str) -> str:
    """Join a wrapped line to its continuation with one space (none between "first-" and "line")."""
    left, right = left.rstrip(), right.strip()
    if _WRAPPED_HYPHEN_RE.search(left) and right[:1].islower():
        return left + right
    return f"{left} {right}"


def rejoin_wrapped(lines: list[str]) -> list[str]:
    """Hard-wrapped lines back into logical lines; each keeps the indentation of its first line."""
    out: list[str] = []
    last = ""  # previous physical line: a sentence end is judged on it, not on the joined text
    item_indent: int | None = None
    for line in lines:
        if out and continues(last, line, item_indent):
            out[-1] = glue(out[-1], line)
        else:
            out.append(line)
            item_indent = indent_width(line) if split_bullet(line.strip()) is not None else None
        last = line
    return out


def read_txt(data: bytes) -> Parsed:
    """Parse a plain-text LCD."""
    text = decode_text(data)
    return Parsed(blocks=parse_plain_lines(rejoin_wrapped(text.split("\n"))), first_line_title=True)
