"""HTML (MCD pages, Coverage API fields) to layout Blocks with the stdlib html.parser.

Rules:
- <p>, <div>, <br>, headings and other block tags end the current line; <script>, <style>, <noscript>,
  <template>, <svg>, <iframe>, <object>, <select>, <button> and <title> are dropped with their content;
- <li> opens a list item at its <ul>/<ol> nesting level; <ol> items carry their ordinal ("1.", "a.",
  "iv." per type= / list-style-type / start= / value=); text after a <br> or a second <p> inside an
  item continues on its own plain line; empty items vanish;
- table rows become one line, cells joined by " | " (empty cells kept so columns stay aligned); block
  tags inside a cell become spaces; nested tables are flattened into their cell;
- <u>&lt;</u> / <u>&gt;</u> (underlined comparators) become "≤" / "≥";
- <sup> holding a reference list ("20", "2,3", "4-7", "1-3, 10,25") is dropped, because it sits against
  numbers and words ("daily<sup>20</sup>"); it is an exponent and kept only right after "10"
  ("10<sup>9</sup>" -> "10^9") or as a 2 or 3 after a length unit ("m<sup>2</sup>" -> "m2",
  "mm<sup>3</sup>" -> "mm3"); any other number after a unit is a reference ("4 cm<sup>5</sup>" -> "4 cm",
  not the unit "cm5"); any other <sup> ("st", "®") is kept as plain text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from pipeline.ingest.normalize import Block, item_content, split_bullet
from pipeline.ingest.sections import match_heading

_SKIP_TAGS = {"script", "style", "noscript", "template", "svg", "iframe", "object", "select", "button", "title"}
_BLOCK_TAGS = {
    "p", "div", "section", "article", "header", "footer", "main", "aside", "nav", "blockquote", "pre", "address",
    "figure", "figcaption", "form", "fieldset", "center", "dl", "dt", "dd", "hr", "caption", "legend",
    "h1", "h2", "h3", "h4", "h5", "h6", "body", "html",
}  # fmt: skip
# A text field whose markup is itself entity-escaped ("&lt;p&gt;..."), and a tag as written in HTML.
ESCAPED_TAG = re.compile(r"&lt;\s*(?:/|&sol;)?\s*[a-zA-Z]")
RAW_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]*>")
_REFERENCE_RE = re.compile(r"\[?\d{1,3}(?:\s*[-–,]\s*\d{1,3})*\]?")
_TEN_BEFORE_RE = re.compile(r"(?:^|[^\d.,])10\s*$")
_UNIT_BEFORE_RE = re.compile(r"(?<![A-Za-z])(?:m|cm|mm|km|dm|µm|μm|um)$")
_AREA_VOLUME_EXPONENTS = ("2", "3")  # m2, mm3: the only powers of a length a policy writes
_DROPPED = "\ue000"  # placeholder for a dropped <sup>; becomes a space only between two word characters
_ROMAN = ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l"), (40, "xl"),
          (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))  # fmt: skip
_TYPE_STYLES = {"1": "decimal", "a": "lower-alpha", "A": "upper-alpha", "i": "lower-roman", "I": "upper-roman"}


def _roman(number: int) -> str:
    """Lower-case roman numeral."""
    out = []
    for value, letters in _ROMAN:
        while number >= value:
            out.append(letters)
            number -= value
    return "".join(out)


def _alpha(number: int) -> str:
    """a, b, ..., z, aa, ab, ... like CSS lower-alpha."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


def ordinal_marker(number: int, style: str) -> str:
    """The visible marker of item `number` in an ordered list of CSS list-style `style` ("" for none)."""
    if style == "none" or number < 1:
        return ""
    if style in ("lower-alpha", "lower-latin"):
        return _alpha(number) + "."
    if style in ("upper-alpha", "upper-latin"):
        return _alpha(number).upper() + "."
    if style == "lower-roman":
        return _roman(number) + "."
    if style == "upper-roman":
        return _roman(number).upper() + "."
    return f"{number}."


def _style_of(attrs: dict[str, str | None]) -> str | None:
    """list-style-type from a style attribute."""
    found = re.search(r"list-style-type\s*:\s*([a-z-]+)", attrs.get("style") or "", re.IGNORECASE)
    return found.group(1).lower() if found else None


def _int_attr(attrs: dict[str, str | None], name: str) -> int | None:
    """An integer attribute, None when absent or not a number."""
    value = (attrs.get(name) or "").strip()
    return int(value) if re.fullmatch(r"-?\d+", value) else None


def sup_replacement(content: str, before: str) -> str:
    """What a <sup> becomes, given its text and the text right before it (see module rules)."""
    stripped = content.strip()
    if not _REFERENCE_RE.fullmatch(stripped):
        return content
    if _TEN_BEFORE_RE.search(before):
        return "^" + stripped
    if stripped in _AREA_VOLUME_EXPONENTS and _UNIT_BEFORE_RE.search(before):
        return stripped
    return _DROPPED


def resolve_dropped(text: str) -> str:
    """Turn dropped-<sup> placeholders into nothing, or a space where two words would otherwise touch."""
    text = re.sub(rf"(?<=\w){_DROPPED}+(?=\w)", " ", text)
    return text.replace(_DROPPED, "")


@dataclass
class _ListContext:
    """An open <ul>/<ol>."""

    ordered: bool
    style: str
    counter: int


class _Renderer(HTMLParser):
    """Streams HTML into Blocks; see the module docstring for the rules."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self.segments: list[str] = []
        self.lists: list[_ListContext] = []
        self.open_items = 0
        self.pending_item: tuple[int, str] | None = None  # (level, marker) of an <li> with no text yet
        self.skip_depth = 0
        self.table_depth = 0
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.marks: list[tuple[str, list[str], int]] = []  # open <sup>/<u>: (tag, sink, start index)
        self.h1_text: str | None = None
        self.in_h1 = False

    # -- sinks and lines -------------------------------------------------------------------------
    def _sink(self) -> list[str]:
        """Where inline text currently goes: the open table cell or the current line."""
        return self.cell if self.cell is not None else self.segments

    def _flush(self) -> None:
        """End the current line (inside a table cell: just a space)."""
        if self.cell is not None:
            self.cell.append(" ")
            return
        text = " ".join(resolve_dropped("".join(self.segments)).split())
        self.segments = []
        if not text:
            return
        if self.in_h1 and self.h1_text is None:
            self.h1_text = text
        bullet = split_bullet(text)
        if self.pending_item is not None:
            level, marker = self.pending_item
            self.pending_item = None
            if bullet is not None and bullet[0]:
                marker = ""  # the item already spells out its own number
            self.blocks.append(Block(item_content(marker, text), level=level))
            return
        if bullet is not None and bullet[1] and not (bullet[0] and match_heading(text)):
            # Text-level numbering ("1. The patient ...") in a plain paragraph is a list item too.
            self.blocks.append(Block(item_content(*bullet), level=self.open_items))
            return
        self.blocks.append(Block(text))

    def _close_cell(self) -> None:
        """Finish the open table cell into the current row."""
        if self.cell is None:
            return
        text = " ".join(resolve_dropped("".join(self.cell)).split())
        self.cell = None
        if self.row is not None:
            self.row.append(text)

    def _close_row(self) -> None:
        """Emit the open table row as one line."""
        self._close_cell()
        if self.row is not None and any(self.row):
            self.blocks.append(Block(" | ".join(self.row)))
        self.row = None

    # -- tag handlers ----------------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open a tag."""
        if tag in _SKIP_TAGS:
            self.skip_depth += 1
            return
        if self.skip_depth:
            return
        attributes = dict(attrs)
        if self.table_depth > 1 and tag in ("tr", "td", "th"):
            self._sink().append(" ")
        elif tag == "table":
            if self.table_depth == 0:
                self._flush()
            else:
                self._sink().append(" ")
            self.table_depth += 1
        elif tag == "tr" and self.table_depth == 1:
            self._close_row()
            self._flush()
            self.row = []
        elif tag in ("td", "th") and self.table_depth == 1:
            self._close_cell()
            if self.row is None:
                self._flush()
                self.row = []
            self.cell = []
        elif tag in ("ul", "ol"):
            self._flush()
            style = _style_of(attributes) or _TYPE_STYLES.get(attributes.get("type") or "", "decimal")
            start = _int_attr(attributes, "start")
            self.lists.append(_ListContext(tag == "ol", style, (start - 1) if start is not None else 0))
        elif tag == "li":
            self._start_item(attributes)
        elif tag in ("sup", "u"):
            sink = self._sink()
            self.marks.append((tag, sink, len(sink)))
        elif tag == "br" or tag in _BLOCK_TAGS:
            self._flush()
            self.in_h1 = self.in_h1 or tag == "h1"

    def _start_item(self, attributes: dict[str, str | None]) -> None:
        """An <li>: remember its level and ordinal until its first text arrives."""
        self._flush()
        if not self.lists:
            self.lists.append(_ListContext(False, "disc", 0))  # a stray <li>: treat as a bullet list
        context = self.lists[-1]
        value = _int_attr(attributes, "value")
        context.counter = value if value is not None else context.counter + 1
        style = _style_of(attributes) or context.style
        marker = ordinal_marker(context.counter, style) if context.ordered else ""
        self.open_items += 1
        self.pending_item = (len(self.lists) - 1, marker)

    def handle_endtag(self, tag: str) -> None:
        """Close a tag."""
        if tag in _SKIP_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
            return
        if self.skip_depth:
            return
        if self.table_depth > 1 and tag in ("tr", "td", "th"):
            self._sink().append(" ")
        elif tag == "table" and self.table_depth:
            self.table_depth -= 1
            if self.table_depth == 0:
                self._close_row()
                self._flush()
        elif tag in ("td", "th") and self.table_depth == 1:
            self._close_cell()
        elif tag == "tr" and self.table_depth == 1:
            self._close_row()
        elif tag in ("ul", "ol"):
            self._flush()
            if self.lists:
                self.lists.pop()
            # </li> may be omitted in HTML: closing the list closes its items too.
            self.open_items = min(self.open_items, len(self.lists))
            self.pending_item = None
        elif tag == "li":
            self._flush()
            self.pending_item = None
            self.open_items = max(0, self.open_items - 1)
        elif tag in ("sup", "u"):
            self._close_mark(tag)
        elif tag in _BLOCK_TAGS:
            self._flush()
            self.in_h1 = self.in_h1 and tag != "h1"

    def _close_mark(self, tag: str) -> None:
        """Rewrite the text of a closing <sup>/<u> in place."""
        for index in range(len(self.marks) - 1, -1, -1):
            if self.marks[index][0] == tag:
                _, sink, start = self.marks.pop(index)
                break
        else:
            return
        if sink is not self._sink() or start > len(sink):
            return  # the line was flushed inside the tag; nothing left to rewrite
        content = "".join(sink[start:])
        if tag == "sup":
            sink[start:] = [sup_replacement(content, "".join(sink[:start]))]
        elif content.strip() in ("<", ">"):
            sink[start:] = [content.replace("<", "≤").replace(">", "≥")]

    def handle_data(self, data: str) -> None:
        """Text content."""
        if self.skip_depth:
            return
        self._sink().append(data)

    def close(self) -> None:
        """Flush whatever is still open at the end of the input."""
        super().close()
        self._close_row()
        self._flush()


@dataclass(frozen=True)
class RenderedHtml:
    """Blocks of an HTML document plus the text of its first <h1>."""

    blocks: list[Block]
    h1: str | None


def render_html(markup: str) -> RenderedHtml:
    """Render HTML markup into layout Blocks."""
    renderer = _Renderer()
    renderer.feed(markup)
    renderer.close()
    return RenderedHtml(blocks=renderer.blocks, h1=renderer.h1_text)
