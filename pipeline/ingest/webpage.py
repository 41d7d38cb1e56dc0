"""HTML reader (.html/.htm): an MCD page or a fragment of one."""

from __future__ import annotations

import codecs
import re

from pipeline.ingest.base import Parsed
from pipeline.ingest.errors import ReadError
from pipeline.ingest.markup import render_html

_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def decode_html(data: bytes) -> str:
    """UTF-8 first (BOM accepted); else the charset the page declares; else ReadError."""
    if not data.strip():
        raise ReadError("empty", "empty file")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise ReadError("binary", f"binary content (NUL byte at offset {nul})")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        declared = _CHARSET_RE.search(data[:4096])
        if declared:
            try:
                return data.decode(codecs.lookup(declared.group(1).decode("ascii")).name)
            except (LookupError, UnicodeDecodeError):
                pass
        raise ReadError("decode", f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from exc


def read_html(data: bytes) -> Parsed:
    """Parse an HTML LCD page."""
    rendered = render_html(decode_html(data))
    if not any(block.text.strip() for block in rendered.blocks):
        raise ReadError("no_text", "HTML has no text content")
    return Parsed(blocks=rendered.blocks, title_hint=rendered.h1)
