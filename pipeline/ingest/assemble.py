"""Turn a reader's Blocks into a Document: normalised text, sections, metadata, identity."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pipeline.ingest.base import Parsed
from pipeline.ingest.errors import ReadError
from pipeline.ingest.identity import resolve_identity
from pipeline.ingest.meta import header_meta, merge, title_from_first_line
from pipeline.ingest.normalize import Block, layout, render
from pipeline.ingest.sections import HeadingMatch, build_sections, match_heading, opens_section
from pipeline.datamodel import Document, DocumentMeta

# Where a document has no section heading at all, look this far for header lines and a title.
_HEADER_SCAN_LINES = 15


def heading_starts(positions: list[tuple[int, Block]]) -> list[tuple[int, str, HeadingMatch]]:
    """(offset, heading line, match) for every line that opens a section."""
    starts: list[tuple[int, str, HeadingMatch]] = []
    for offset, block in positions:
        current_kind = starts[-1][2].kind if starts else None
        if block.forced is not None:
            starts.append((offset, layout(block), block.forced))
        elif block.level is None and block.can_head:
            match = match_heading(block.text)
            if match is not None and opens_section(match, current_kind):
                starts.append((offset, block.text, match))
    return starts


def document_meta(parsed: Parsed, preamble: list[str]) -> DocumentMeta:
    """Reader metadata, completed from header lines, then from a title hint or the first line."""
    meta = merge(parsed.meta, header_meta(preamble))
    if meta.title is None:
        title = parsed.title_hint
        if title is None and parsed.first_line_title:
            title = title_from_first_line(preamble)
        meta = merge(meta, DocumentMeta(title=title))
    return meta


def assemble(
    parsed: Parsed, data: bytes, path: Path, root: Path | None, source_format: str, convention: tuple[str, str] | None = None
) -> Document:
    """Build the Document for one source file (`convention`: its path's (lcd_id, version), if already known)."""
    text, positions = render(parsed.blocks)
    if not text.strip():
        raise ReadError("no_text", "no text left after normalisation")
    starts = heading_starts(positions)
    first_heading = starts[0][0] if starts else None
    preamble = [
        block.text if block.level is None else layout(block)
        for offset, block in positions
        if first_heading is None or offset < first_heading
    ][: None if first_heading is not None else _HEADER_SCAN_LINES]
    meta = document_meta(parsed, preamble)
    lcd_id, version = resolve_identity(path, root, meta, convention)
    return Document(
        text=text,
        sections=build_sections(text, starts),
        meta=meta,
        source_path=path.as_posix(),
        source_sha256=hashlib.sha256(data).hexdigest(),
        source_format=source_format,
        lcd_id=lcd_id,
        version=version,
        pages=parsed.pages,
    )
