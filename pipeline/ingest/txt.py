"""Plain-text reader (.txt): strict UTF-8 decoding, binary detection, then the plain-line normaliser."""

from __future__ import annotations

from pipeline.ingest.base import Parsed
from pipeline.ingest.errors import ReadError
from pipeline.ingest.normalize import parse_plain_lines

_ALLOWED_CONTROLS = {"\t", "\n", "\r", "\f", "\v"}
# More than this share of control characters means the bytes are not prose.
_MAX_CONTROL_RATIO = 0.05


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


def read_txt(data: bytes) -> Parsed:
    """Parse a plain-text LCD."""
    text = decode_text(data)
    return Parsed(blocks=parse_plain_lines(text.split("\n")), first_line_title=True)
