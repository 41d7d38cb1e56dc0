"""PDF reader (.pdf): positioned text lines back into paragraphs and list items.

- Two line sources, chosen per page by `mode` (`LCD_PDF_MODE`, default "auto"):
  - layout (pdfplumber): lines from the layout-free `extract_text_lines`; ruled tables found by
    `find_tables` are taken out of the running text and emitted one row per line, cells joined by " | ".
    Exact, but pdfminer is pure Python: tens of milliseconds per page.
  - fast (pypdfium2, the PDFium C library pdfplumber already depends on): the text page's characters
    split at PDFium's line breaks, each line positioned by the boxes of its first and last character
    the way pdfminer positions them (x from the glyph origins, height = font size). No tables.
  - auto: fast for every page, except pages whose vector drawings could form a ruled table
    (at least two horizontal and two vertical edges, a rectangle counting as both): those go
    through pdfplumber, so dose and code tables still become " | " rows.
- Running headers/footers are dropped: a line among the first/last two of a page whose text (digits
  ignored) recurs on at least 60% of the pages (two pages minimum), and bare page numbers ("Page 3 of 9",
  "3", "3/9") in those positions.
- A line continues the previous one (same paragraph) unless a vertical gap larger than half a line
  height separates them, or it is a table row; it is joined when the previous line runs to the right
  margin (within 20% of the text width) and the new line does not start a list item after a finished
  sentence, or when the previous line has no terminal punctuation and the new one starts lower-case.
  Across a page break (no gap to measure) a finished sentence followed by a capital starts a new line.
  "treat-" + "ment" loses its hyphen only when both fragments are lower-case ("Stiff-" + "person" keeps it).
- Indentation (x offset from the text's left edge) becomes leading spaces, so the plain-line normaliser
  nests list items exactly as for .txt files.
"""

from __future__ import annotations

import io
import math
import re
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pdfplumber
import pypdfium2
import pypdfium2.raw as pdfium_c
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

from pipeline import settings
from pipeline.ingest.base import Parsed
from pipeline.ingest.errors import ReadError
from pipeline.ingest.normalize import parse_plain_lines, split_bullet

_PAGE_NUMBER_RE = re.compile(r"(?:page\s*)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?", re.IGNORECASE)
# Sentence end, optionally followed by closing quotes/brackets and a "^2,3" reference marker.
_TERMINAL_RE = re.compile(r"[.:;?!][\"'”’)\]]*(?:\^[\d,\-– ]+)?$")
_RUNNING_SHARE = 0.6
_EDGE_LINES = 2
_FULL_LINE_SLACK = 0.2
_PARAGRAPH_GAP = 0.5
PDF_MODES = ("auto", "fast", "layout")
# PDFium is not thread-safe (not even across documents): one caller at a time in this process.
_PDFIUM_LOCK = threading.Lock()
_INK_RUN = re.compile(r"[^\s\r\n](?:[^\r\n]*[^\s\r\n])?")
# Vector edges: thinner than this is a line, both sides longer than _EDGE_MIN is a rectangle.
_EDGE_THIN = 2.0
_EDGE_MIN = 5.0


@dataclass
class PdfLine:
    """One physical text line (or table row) with its position on the page."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    page: int
    page_width: float
    row: bool = False


def _outside(bboxes: list[tuple[float, float, float, float]]) -> Any:
    """A pdfplumber object filter keeping characters whose centre is outside every table box."""

    def keep(obj: dict[str, Any]) -> bool:
        if obj.get("object_type") != "char":
            return True
        cx, cy = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
        return not any(x0 <= cx <= x1 and top <= cy <= bottom for x0, top, x1, bottom in bboxes)

    return keep


def page_lines(page: Any, number: int) -> list[PdfLine]:
    """Text lines and table rows of one page, top to bottom."""
    tables = page.find_tables()
    text_page = page.filter(_outside([table.bbox for table in tables])) if tables else page
    lines = [
        PdfLine(_untab(found["text"]), found["x0"], found["x1"], found["top"], found["bottom"], number, page.width)
        for found in text_page.extract_text_lines(return_chars=False, strip=True)
        if found["text"].strip()
    ]
    for table in tables:
        for row, cells in zip(table.rows, table.extract()):
            text = " | ".join(" ".join((cell or "").split()) for cell in cells)
            if text.replace("|", "").strip():
                x0, top, x1, bottom = row.bbox
                lines.append(PdfLine(text, x0, x1, top, bottom, number, page.width, row=True))
    return sorted(lines, key=lambda line: (line.top, line.x0))


def _untab(text: str) -> str:
    """A tab drawn in a font without a tab glyph is "(cid:9)" to pdfminer; it is a space (as PDFium reads it)."""
    return " ".join(text.replace("(cid:9)", " ").split()) if "(cid:9)" in text else text


def _running_key(text: str) -> str:
    """Header/footer identity: case-folded, digits ignored (page numbers and dates change)."""
    return re.sub(r"\d+", "#", " ".join(text.split()).casefold())


def strip_running_lines(pages: list[list[PdfLine]]) -> list[list[PdfLine]]:
    """Drop repeated page headers/footers and bare page numbers at the top or bottom of pages."""
    def edges(lines: list[PdfLine]) -> list[PdfLine]:
        return lines[:_EDGE_LINES] + lines[-_EDGE_LINES:]

    counts = Counter(key for lines in pages for key in {_running_key(line.text) for line in edges(lines)})
    needed = max(2, math.ceil(_RUNNING_SHARE * len(pages)))
    running = {key for key, count in counts.items() if count >= needed} if len(pages) >= 2 else set()
    cleaned = []
    for lines in pages:
        drop = {
            id(line)
            for line in edges(lines)
            if _running_key(line.text) in running or _PAGE_NUMBER_RE.fullmatch(line.text.strip())
        }
        cleaned.append([line for line in lines if id(line) not in drop])
    return cleaned


def glue(left: str, right: str) -> str:
    """Join a wrapped line to its continuation, removing a line-break hyphen between lower-case fragments."""
    if re.search(r"(?:^|\s)[a-z]+-$", left) and right[:1].islower():
        return left[:-1] + right
    return f"{left} {right}"


def is_full(line: PdfLine, left: float, right: float) -> bool:
    """The line runs to the right edge of the text: near the rightmost line end, and past half the page."""
    near_edge = line.x1 >= right - _FULL_LINE_SLACK * max(right - left, 1.0)
    # Short documents have no long lines: a short line is never "full", whatever the rightmost end.
    return near_edge and line.x1 - left >= 0.5 * (line.page_width - 2 * left)


def continues(prev: PdfLine, nxt: PdfLine, left: float, right: float) -> bool:
    """Whether `nxt` is the wrapped continuation of `prev` (same paragraph or list item)."""
    if prev.row or nxt.row:
        return False
    text = nxt.text.strip()
    starts_item = split_bullet(text) is not None
    terminal = bool(_TERMINAL_RE.search(prev.text))
    if prev.page == nxt.page:
        height = max(prev.bottom - prev.top, 1.0)
        gap = nxt.top - prev.bottom
        if gap > _PARAGRAPH_GAP * height or gap < -_PARAGRAPH_GAP * height:
            return False
    elif terminal and text[:1].isupper():
        # Across a page break the paragraph gap is invisible: a finished sentence followed by a
        # capital starts a new paragraph (splitting one is less harmful than merging two).
        return False
    full = is_full(prev, left, right)
    if full and not (starts_item and terminal):
        return True
    return not terminal and not starts_item and text[:1].islower()


def join_lines(lines: list[PdfLine]) -> list[str]:
    """Physical lines to logical lines, each prefixed with spaces for its indentation."""
    body = [line for line in lines if not line.row] or lines
    left = min(line.x0 for line in body)
    right = max(line.x1 for line in body)
    out: list[str] = []
    current: tuple[PdfLine, str] | None = None  # (first physical line, text so far)
    last: PdfLine | None = None
    for line in lines:
        if current is not None and last is not None and continues(last, line, left, right):
            current = (current[0], glue(current[1], line.text.strip()))
        else:
            if current is not None:
                out.append(_indented(*current, left))
            current = (line, line.text.strip())
        last = line
    if current is not None:
        out.append(_indented(*current, left))
    return out


def _indented(first: PdfLine, text: str, left: float) -> str:
    """The logical line with leading spaces for its x offset (half a line height per space)."""
    if first.row:
        return text
    unit = max((first.bottom - first.top) * 0.5, 1.0)
    return " " * max(0, round((first.x0 - left) / unit)) + text


def _is_password_error(exc: BaseException) -> bool:
    """pdfplumber wraps pdfminer's password errors; look through args and causes."""
    seen: list[BaseException] = [exc]
    while seen:
        current = seen.pop()
        if isinstance(current, (PDFPasswordIncorrect, PDFEncryptionError)):
            return True
        seen += [arg for arg in current.args if isinstance(arg, BaseException)]
        seen += [link for link in (current.__cause__, current.__context__) if link is not None]
    return False


def check_container(data: bytes) -> None:
    """Cheap structural checks: a %PDF- header and a %%EOF trailer (a truncated download has none)."""
    if not data.strip():
        raise ReadError("empty", "empty file")
    if b"%PDF-" not in data[:1024]:
        raise ReadError("parse", "not a PDF (no %PDF- header)")
    if b"%%EOF" not in data[-2048:]:
        raise ReadError("parse", "truncated PDF (no %%EOF trailer)")


def layout_pages(data: bytes, numbers: list[int] | None = None) -> dict[int, list[PdfLine]]:
    """pdfplumber lines (tables as " | " rows) of the given pages (all when None); ReadError for bad files."""
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            out: dict[int, list[PdfLine]] = {}
            for number in range(len(pdf.pages)) if numbers is None else numbers:
                page = pdf.pages[number]
                out[number] = page_lines(page, number)
                page.close()  # drop the page's parsed objects: memory stays one page deep, not the document's
            return out
    except Exception as exc:  # pdfminer raises many unrelated types for damaged files
        if _is_password_error(exc):
            raise ReadError("encrypted", "PDF is encrypted (password required)") from exc
        raise ReadError("parse", f"corrupt PDF ({type(exc).__name__}: {exc})") from exc


def _char_box(textpage: Any, index: int, height: float) -> tuple[float, float, float, float]:
    """(x0, x1, top, bottom) of one character as pdfminer boxes it: advance width, font-size height."""
    rect = pdfium_c.FS_RECTF()
    pdfium_c.FPDFText_GetLooseCharBox(textpage, index, rect)
    size = pdfium_c.FPDFText_GetFontSize(textpage, index) or (rect.top - rect.bottom)
    bottom = height - rect.bottom
    return rect.left, rect.right, bottom - size, bottom


def _page_chars(textpage: Any) -> str:
    """Every character of a PDFium text page, index for index (generated spaces and line breaks included)."""
    count = textpage.count_chars()
    text = textpage.get_text_range(0, count, errors="replace")
    if len(text) == count:
        return text  # the usual case: one call
    # The bulk call is UCS-2 and may drop or split characters; then ask per character (slower, exact).
    codes = (pdfium_c.FPDFText_GetUnicode(textpage.raw, index) for index in range(count))
    return "".join(chr(code) if 0 < code < 0x110000 else " " for code in codes)


def fast_page_lines(page: Any, number: int) -> list[PdfLine]:
    """Text lines of one page from PDFium: its line breaks split them, first/last characters place them."""
    textpage = page.get_textpage()
    try:
        height, width = page.get_height(), page.get_width()
        chars = _page_chars(textpage)
        lines: list[PdfLine] = []
        for found in _INK_RUN.finditer(chars):  # from the first to the last non-space character of a line
            text = " ".join(found.group().split())
            x0, _, top0, bottom0 = _char_box(textpage.raw, found.start(), height)
            _, x1, top1, bottom1 = _char_box(textpage.raw, found.end() - 1, height)
            lines.append(PdfLine(text, x0, x1, min(top0, top1), max(bottom0, bottom1), number, width))
    finally:
        textpage.close()
    return sorted(lines, key=lambda line: (line.top, line.x0))


def may_have_ruled_table(page: Any) -> bool:
    """Whether a page draws at least two horizontal and two vertical edges (a rectangle is both)."""
    horizontal = vertical = 0
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH], max_depth=2):
        left, bottom, right, top = obj.get_bounds()
        w, h = right - left, top - bottom
        if w >= _EDGE_MIN and h >= _EDGE_MIN:
            horizontal, vertical = horizontal + 2, vertical + 2
        elif h < _EDGE_THIN and w >= _EDGE_MIN:
            horizontal += 1
        elif w < _EDGE_THIN and h >= _EDGE_MIN:
            vertical += 1
        if horizontal >= 2 and vertical >= 2:
            return True
    return False


def _open_pdfium(data: bytes) -> Any:
    """A PDFium document; ReadError for encrypted or corrupt files."""
    try:
        return pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        if getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
            raise ReadError("encrypted", "PDF is encrypted (password required)") from exc
        raise ReadError("parse", f"corrupt PDF ({type(exc).__name__}: {exc})") from exc


def pdf_mode(mode: str | None = None) -> str:
    """The reader mode: the argument, else $LCD_PDF_MODE, else "auto"."""
    chosen = (mode or settings.pdf_mode() or "auto").strip().lower()
    if chosen not in PDF_MODES:
        raise ValueError(f"PDF mode must be one of {', '.join(PDF_MODES)}, got {chosen!r}")
    return chosen


def extract_pages(data: bytes, mode: str | None = None) -> list[list[PdfLine]]:
    """Positioned lines per page in the given mode (see the module doc); ReadError for bad files."""
    mode = pdf_mode(mode)
    if mode == "layout":
        pages = layout_pages(data)
        return [pages[number] for number in sorted(pages)]
    fast: dict[int, list[PdfLine]] = {}
    needs_layout: list[int] = []
    with _PDFIUM_LOCK:
        document = _open_pdfium(data)
        try:
            for number in range(len(document)):
                page = document[number]
                try:
                    if mode == "auto" and may_have_ruled_table(page):
                        needs_layout.append(number)
                    else:
                        fast[number] = fast_page_lines(page, number)
                finally:
                    page.close()
        except ReadError:
            raise
        except Exception as exc:  # a page PDFium cannot parse: the file is damaged
            raise ReadError("parse", f"corrupt PDF ({type(exc).__name__}: {exc})") from exc
        finally:
            document.close()
    if needs_layout:
        fast.update(layout_pages(data, needs_layout))
    return [fast[number] for number in sorted(fast)]


def read_pdf(data: bytes, mode: str | None = None) -> Parsed:
    """Parse a PDF LCD; `mode` is "auto" (default), "fast" or "layout" (see the module doc)."""
    check_container(data)
    pages = strip_running_lines(extract_pages(data, mode))
    lines = [line for page in pages for line in page]
    if not lines:
        raise ReadError("no_text", "PDF has no extractable text")
    return Parsed(blocks=parse_plain_lines(join_lines(lines)), first_line_title=True, pages=len(pages))
