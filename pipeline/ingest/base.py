"""What every reader hands to the assembler."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.ingest.normalize import Block
from pipeline.datamodel import DocumentMeta


@dataclass(frozen=True)
class Parsed:
    """A reader's output: layout blocks plus what the source said about itself."""

    blocks: list[Block]
    meta: DocumentMeta = field(default_factory=DocumentMeta)  # wins over header lines found in the text
    title_hint: str | None = None  # e.g. the page's <h1>; used when no "Title:" header exists
    first_line_title: bool = False  # plain text: the first preamble line is the title when it looks like one
    pages: int | None = None  # PDF page count (for throughput figures); None for other formats
