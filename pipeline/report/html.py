"""The change report as one self-contained HTML page: inline CSS and plots, no scripts, nothing fetched.

Pure: `render_html` turns report rows (and, when given, each LCD's stored versions) into a string. Every
piece of document text is escaped on its way in (see html_lcd.py and highlight.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date
from html import escape

from pipeline.report.html_lcd import count, lcd_section, type_chips
from pipeline.report.html_style import STYLE
from pipeline.report.rows import ChangeRow, LcdChanges, group_by_lcd
from pipeline.report.versions import VersionPoint, points_from_changes


def render_html(
    rows: Sequence[ChangeRow],
    since: date | None = None,
    versions: Mapping[str, Sequence[VersionPoint]] | None = None,
    notes: Mapping | None = None,
) -> str:
    """The HTML report of `rows`, grouped by LCD; `versions` (per LCD id) feed the timelines and links.

    Without `versions`, each LCD's timeline shows just the versions its changes name, without links.
    """
    scope = f" since {since.isoformat()}" if since else ""
    groups = group_by_lcd(list(rows))
    body = [header_html(rows, groups, since)]
    if not groups:
        body.append(f"<p>No policy changes{escape(scope)}.</p>")
    sections = (
        lcd_section(lcd, (versions or {}).get(lcd.lcd_id) or points_from_changes(lcd), f"lcd-{i}", notes)
        for i, lcd in enumerate(groups, 1)
    )
    body.append("<main>\n" + "\n".join(sections) + "\n</main>")
    body.append(FOOTER)
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>LCD policy changes{escape(scope)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def header_html(rows: Sequence[ChangeRow], groups: Sequence[LcdChanges], since: date | None) -> str:
    """Title, the report's window, its counts, the change types, and a contents list of the LCDs."""
    totals = (
        ("policy changes", len(rows)),
        ("LCDs", len(groups)),
        ("revisions", sum(len(lcd.pairs) for lcd in groups)),
    )
    boxes = "".join(f"<div><dt>{label}</dt><dd>{n}</dd></div>" for label, n in totals)
    parts = [
        '<header class="report">',
        f"<h1>LCD policy changes{escape(' since ' + since.isoformat()) if since else ''}</h1>",
        f'<p class="window">{window_text(rows, since)}</p>',
        f'<dl class="totals">{boxes}</dl>',
    ]
    if rows:
        parts.append(type_chips(Counter(row.change_type for row in rows)))
        parts.append(contents_html(groups))
    parts.append("</header>")
    return "\n".join(parts)


def window_text(rows: Sequence[ChangeRow], since: date | None) -> str:
    """Which changes the report holds, and the dates they span."""
    scope = (
        f"Changes whose new version took effect on or after {since.isoformat()} "
        "(undated versions: changes detected since then)."
        if since
        else "All stored policy changes."
    )
    effective = sorted({row.to_effective_date for row in rows if row.to_effective_date})
    detected = sorted({row.detected_at.date() for row in rows})
    spans = [("New versions effective", effective), ("Detected", detected)]
    details = [f"{label} {_span(dates)}." for label, dates in spans if dates]
    return escape(" ".join([scope, *details]))


def _span(dates: list[date]) -> str:
    """ "2024-06-01" or "2024-01-01 to 2024-06-01"."""
    first, last = dates[0].isoformat(), dates[-1].isoformat()
    return first if first == last else f"{first} to {last}"


def contents_html(groups: Sequence[LcdChanges]) -> str:
    """Links to each LCD's section with its change count."""
    items = "".join(
        f'<li><a href="#lcd-{i}">{escape(lcd.lcd_id)}</a>'
        f"{' — ' + escape(lcd.title) if lcd.title else ''}: "
        f"{count(sum(len(p.changes) for p in lcd.pairs), 'change')}</li>"
        for i, lcd in enumerate(groups, 1)
    )
    return f"<nav><ol>{items}</ol></nav>"


FOOTER = (
    "<footer>Written by <code>lcd report --format html</code> from the warehouse's "
    "<code>policy_changes</code>. Sentences are quoted from the stored versions; in them "
    "<del>struck words</del> were removed by the revision and <ins>marked words</ins> added.</footer>"
)
