"""Change reports: Markdown or HTML files of stored policy changes, and text for `lcd diff`."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb

from pipeline.report.html import render_html
from pipeline.report.markdown import md_escape, render_markdown
from pipeline.report.revisions import RevisionNote, revision_notes
from pipeline.report.rows import ChangeRow, LcdChanges, VersionPairChanges, changes_since, group_by_lcd
from pipeline.report.text import format_changes_text
from pipeline.report.versions import VersionPoint, version_points, with_links
from pipeline import settings
from pipeline.paths import REPORTS_DIR, ROOT

FORMATS = ("md", "html")


def default_report_path(fmt: str = "md", today: date | None = None) -> Path:
    """$LCD_REPORTS_DIR (default warehouse/reports)/changes-<YYYYMMDD>.<fmt>."""
    folder = settings.reports_dir() or REPORTS_DIR.absolute()
    return folder / f"changes-{(today or date.today()):%Y%m%d}.{fmt}"


def write_report(
    con: duckdb.DuckDBPyConnection,
    since: date | None,
    fmt: str = "md",
    out: Path | None = None,
    *,
    detected_since: datetime | None = None,
) -> Path:
    """Write the change report (changes since `since`, all when None) and return its path."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}: use one of {', '.join(FORMATS)}")
    rows = changes_since(con, since, detected_since)
    path = Path(out) if out else default_report_path(fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    notes = revision_notes(con, {row.to_version_key for row in rows})
    if fmt == "md":
        text = render_markdown(rows, since, notes)
    else:
        text = render_html(rows, since, linked_versions(con, {row.lcd_id for row in rows}, path.parent), notes)
    path.write_text(text, encoding="utf-8")
    return path


def linked_versions(
    con: duckdb.DuckDBPyConnection, lcd_ids: set[str], report_dir: Path
) -> dict[str, tuple[VersionPoint, ...]]:
    """The stored versions of `lcd_ids`, linked to their source files as seen from `report_dir`.

    A relative source_path is relative to where `lcd ingest` ran: the current folder or the checkout.
    """
    return with_links(version_points(con, lcd_ids), report_dir, [Path.cwd(), ROOT.absolute()])


__all__ = [
    "FORMATS",
    "ChangeRow",
    "LcdChanges",
    "RevisionNote",
    "VersionPoint",
    "VersionPairChanges",
    "changes_since",
    "default_report_path",
    "format_changes_text",
    "group_by_lcd",
    "linked_versions",
    "md_escape",
    "render_html",
    "render_markdown",
    "revision_notes",
    "write_report",
]
