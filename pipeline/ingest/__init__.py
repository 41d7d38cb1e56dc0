"""Ingest: read LCD source files (.txt, .html/.htm, .json Coverage API records, .pdf) into Documents.

Public API: `read_document`, `discover`, `sha256_file`, `resolve_identity`, `ReadError`; MCD bulk
downloads (.zip, many LCD versions per file) through `pipeline.ingest.mcd_bundle` (`scan_bundle`,
`read_bundle`, `read_entries`, `revision_history`).
The normalised-text conventions are in `pipeline.ingest.normalize`, the section lexicon in
`pipeline/ingest/data/headings.json`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from pipeline.ingest.api_json import read_json
from pipeline.ingest.assemble import assemble
from pipeline.ingest.base import Parsed
from pipeline.ingest.errors import ERROR_TYPES, ReadError
from pipeline.ingest.identity import SUPPORTED_EXTENSIONS, convention_parts, discover, resolve_identity, sha256_file
from pipeline.ingest.mcd_bundle import BundleEntry, BundleLimits, is_bundle, read_bundle, revision_history
from pipeline.ingest.pdf import read_pdf
from pipeline.ingest.txt import read_txt
from pipeline.ingest.webpage import read_html
from pipeline.datamodel import Document
from pipeline.settings import DEFAULT_MAX_FILE_BYTES, max_file_bytes

__all__ = [
    "ERROR_TYPES",
    "BundleEntry",
    "BundleLimits",
    "is_bundle",
    "read_bundle",
    "revision_history",
    "SUPPORTED_EXTENSIONS",
    "ReadError",
    "discover",
    "DEFAULT_MAX_FILE_BYTES",
    "max_file_bytes",
    "load_source",
    "parse_document",
    "read_document",
    "convention_parts",
    "resolve_identity",
    "sha256_file",
]

# extension -> (reader, source_format)
_READERS: dict[str, tuple[Callable[[bytes], Parsed], str]] = {
    ".txt": (read_txt, "txt"),
    ".html": (read_html, "html"),
    ".htm": (read_html, "html"),
    ".json": (read_json, "json"),
    ".pdf": (read_pdf, "pdf"),
}


def _read_bytes(path: Path) -> bytes:
    """The file's bytes; ReadError("io") when it cannot be read, "too_large" (checked before reading) when
    it is over LCD_MAX_FILE_BYTES, so one huge file never sits in memory."""
    try:
        limit = max_file_bytes()
    except ValueError as exc:  # a bad setting fails each file with the reason instead of crashing the run
        raise ReadError("unsupported", f"bad LCD_MAX_FILE_BYTES setting: {exc}") from exc
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > limit:
                raise ReadError("too_large", f"file is {size} bytes, over the {limit} bytes limit (LCD_MAX_FILE_BYTES)")
            data = handle.read(limit + 1)  # bounded even if the file grows after the size check
    except OSError as exc:
        raise ReadError("io", f"cannot read file ({exc.strerror or type(exc).__name__})") from exc
    if len(data) > limit:
        raise ReadError("too_large", f"file grew past the {limit} bytes limit (LCD_MAX_FILE_BYTES) while being read")
    return data


def _reader_for(path: Path) -> tuple[Callable[[bytes], Parsed], str]:
    """The reader and source format for a path's extension; ReadError("unsupported") for anything else."""
    extension = path.suffix.lower()
    if is_bundle(path):
        raise ReadError("unsupported", "a .zip is an MCD bundle of many LCD versions: ingest it with `lcd ingest`")
    if extension not in _READERS:
        raise ReadError("unsupported", f"unsupported extension {extension or '(none)'}")
    return _READERS[extension]


def load_source(path: Path) -> bytes:
    """A source file's bytes, after the extension and size checks; ReadError with a one-line reason."""
    path = Path(path)
    _reader_for(path)
    return _read_bytes(path)


def parse_document(path: Path, data: bytes, root: Path | None = None, convention: tuple[str, str] | None = None) -> Document:
    """Parse a source file's bytes into a Document; `convention` is its (lcd_id, version) from the path
    when already worked out (so a machine without the file parses it the same way)."""
    path = Path(path)
    reader, source_format = _reader_for(path)
    try:
        return assemble(reader(data), data, path, root, source_format, convention)
    except ReadError:
        raise
    except Exception as exc:  # a reader bug must still surface as one failed document, not a crash
        raise ReadError("internal", f"{source_format} reader failed: {type(exc).__name__}: {exc}") from exc


def read_document(path: Path, root: Path | None = None) -> Document:
    """Read one source file into a Document; any bad input raises ReadError with a one-line reason."""
    return parse_document(path, load_source(path), root)
