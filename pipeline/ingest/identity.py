"""Which files to read, their content hash, and which LCD version each one is."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Iterable

from pipeline.datamodel import DocumentMeta

SUPPORTED_EXTENSIONS = (".txt", ".html", ".htm", ".json", ".pdf", ".zip")  # .zip: an MCD bundle
# Corpus bookkeeping that lives beside documents and is never a document itself.
_SKIPPED_NAMES = {"readme.md", "readme.txt", "readme", "sources.tsv", "license", "license.txt", "manifest.json"}
# "<root>/<LCD_ID>/<VERSION>.<ext>": ids are upper-case tokens (L35891, A56781, NCD30.3.3, IVIG-OFFLABEL).
_ID_DIR = re.compile(r"[A-Z][A-Z0-9]*(?:[.\-][A-Z0-9]+)*")
_VERSION_STEM = re.compile(r"\d+(?:\.\d+)*")


def sha256_file(path: Path) -> str:
    """Hex sha256 of the file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _is_candidate(path: Path) -> bool:
    """A file found while walking a folder that should be read as a document."""
    name = path.name
    if name.startswith((".", "~")) or name.casefold() in _SKIPPED_NAMES:
        return False
    return path.suffix.casefold() in SUPPORTED_EXTENSIONS


def _walk(folder: Path) -> Iterable[Path]:
    """Files under `folder`, recursively, skipping hidden folders (.git, .ipynb_checkpoints)."""
    for child in folder.iterdir():
        if child.name.startswith("."):
            continue
        if child.is_dir():
            yield from _walk(child)
        elif child.is_file() and _is_candidate(child):
            yield child


def discover(paths: Iterable[Path]) -> list[Path]:
    """Documents to ingest, sorted and de-duplicated.

    Folders are walked recursively for supported extensions. A path named explicitly is kept as-is even
    when missing or unsupported, so read_document reports it as a failure instead of it vanishing.
    """
    found: set[Path] = set()
    for path in map(Path, paths):
        if path.is_dir():
            found.update(_walk(path))
        else:
            found.add(path)
    return sorted(found, key=lambda p: p.as_posix())


def convention_parts(path: Path, root: Path | None) -> tuple[str, str] | None:
    """(lcd_id, version) when the path is <root>/<LCD_ID>/<VERSION>.<ext>, else None."""
    if root is not None:
        try:
            relative = path.resolve().relative_to(Path(root).resolve())
        except ValueError:
            relative = None
        if relative is not None and len(relative.parts) == 2:
            return relative.parts[0], Path(relative.parts[1]).stem
    # Without a usable root, recognise the convention by shape: an id-like folder and a numeric stem.
    if _ID_DIR.fullmatch(path.parent.name) and _VERSION_STEM.fullmatch(path.stem):
        return path.parent.name, path.stem
    return None


def resolve_identity(
    path: Path, root: Path | None, meta: DocumentMeta, convention: tuple[str, str] | None = None
) -> tuple[str, str]:
    """(lcd_id, version): the path convention if followed (or given), else the document's metadata, else (stem, "1")."""
    path = Path(path)
    parts = convention or convention_parts(path, root)
    if parts is not None:
        return parts
    return meta.lcd_id or path.stem, meta.version or "1"
