"""Ingest: read LCD source files (.txt, .html/.htm, .json Coverage API records, .pdf) into Documents.

Public API: `read_document`, `discover`, `sha256_file`, `resolve_identity`, `ReadError`; MCD bulk
downloads (.zip, many LCD versions per file) through `pipeline.ingest.mcd_bundle` (`scan_bundle`,
`read_bundle`, `read_entries`, `revision_history`).
The normalised-text conventions are in `pipeline.ingest.normalize`, the section lexicon in
`pipeline/ingest/data/headings.json`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from pipeline.ingest.api_json import read_json
from pipeline.ingest.assemble import assemble
from pipeline.ingest.base import Parsed
from pipeline.ingest.errors import ERROR_TYPES, ReadError
from pipeline.ingest.identity import SUPPORTED_EXTENSIONS, discover, resolve_identity, sha256_file
from pipeline.ingest.mcd_bundle import BundleEntry, BundleLimits, is_bundle, read_bundle, revision_history
from pipeline.ingest.pdf import read_pdf
from pipeline.ingest.txt import read_txt
from pipeline.ingest.webpage import read_html
from pipeline.model import Document

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
    "read_document",
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
    """The file's bytes; ReadError("io") when it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ReadError("io", f"cannot read file ({exc.strerror or type(exc).__name__})") from exc


def read_document(path: Path, root: Path | None = None) -> Document:
    """Read one source file into a Document; any bad input raises ReadError with a one-line reason."""
    path = Path(path)
    extension = path.suffix.lower()
    if is_bundle(path):
        raise ReadError("unsupported", "a .zip is an MCD bundle of many LCD versions: ingest it with `lcd ingest`")
    if extension not in _READERS:
        raise ReadError("unsupported", f"unsupported extension {extension or '(none)'}")
    data = _read_bytes(path)
    reader, source_format = _READERS[extension]
    try:
        return assemble(reader(data), data, path, root, source_format)
    except ReadError:
        raise
    except Exception as exc:  # a reader bug must still surface as one failed document, not a crash
        raise ReadError("internal", f"{source_format} reader failed: {type(exc).__name__}: {exc}") from exc
