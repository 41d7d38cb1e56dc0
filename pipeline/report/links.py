"""Links from a report back to its sources: the ingested file, and the MCD page of a Coverage API LCD."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

MCD_LCD_URL = "https://www.cms.gov/medicare-coverage-database/view/lcd.aspx?lcdid={number}&ver={version}"

# Records fetched from the CMS Coverage API are stored with this source_format; their LCD ids and
# version numbers are the MCD's own, so the MCD page of that exact version exists.
API_FORMATS = frozenset({"json"})
_LCD_NUMBER = re.compile(r"L(\d{5})")


def mcd_url(lcd_id: str, version: str, source_format: str) -> str | None:
    """The MCD page of a Coverage API LCD version (ids like L35891, numeric versions), else None."""
    number = _LCD_NUMBER.fullmatch(lcd_id.strip())
    if source_format not in API_FORMATS or number is None or not version.strip().isdigit():
        return None
    return MCD_LCD_URL.format(number=number.group(1), version=int(version))


def locate_source(source_path: str, roots: Sequence[Path]) -> Path | None:
    """The existing file a stored `source_path` names: absolute as is, relative under one of `roots`."""
    path = Path(source_path)
    candidates = [path] if path.is_absolute() else [root / path for root in roots]
    return next((c.resolve() for c in candidates if c.is_file()), None)


def relative_href(target: Path, base_dir: Path) -> str:
    """A URL for `target` from a page in `base_dir`: relative when they share a folder, else file:."""
    target, base_dir = target.resolve(), base_dir.resolve()
    if os.path.commonpath([target, base_dir]) == target.anchor:
        return target.as_uri()
    relative = Path(os.path.relpath(target, base_dir)).as_posix()
    # quote() also encodes ":" so no path segment can read as a URL scheme ("javascript:...").
    return "./" + quote(relative) if not relative.startswith("../") else quote(relative)
