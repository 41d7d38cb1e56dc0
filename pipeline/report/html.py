"""The change report as one self-contained, escaped HTML page."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape

from pipeline.report.rows import ChangeRow, LcdChanges, VersionPairChanges, context, group_by_lcd, transition

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; line-height: 1.45; }
code { background: #f3f3f3; padding: 0 .25em; }
blockquote { margin: .25rem 0 .5rem 1rem; color: #444; border-left: 3px solid #ccc; padding-left: .75rem; }
li { margin-bottom: .75rem; }
"""


def render_html(rows: Sequence[ChangeRow], since: date | None = None) -> str:
    """The HTML report of `rows`, grouped like the Markdown one; every value is escaped."""
    scope = f" since {since.isoformat()}" if since else ""
    groups = group_by_lcd(list(rows))
    body = [f"<h1>LCD policy changes{escape(scope)}</h1>"]
    if not groups:
        body.append(f"<p>No policy changes{escape(scope)}.</p>")
    else:
        body.append(f"<p>{len(rows)} change(s) in {len(groups)} LCD(s).</p>")
        body += [_lcd_html(lcd) for lcd in groups]
    return (
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>LCD policy changes{escape(scope)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _lcd_html(lcd: LcdChanges) -> str:
    """One LCD's section."""
    title = f" — {escape(lcd.title)}" if lcd.title else ""
    parts = [f"<section>\n<h2>{escape(lcd.lcd_id)}{title}</h2>"]
    if lcd.contractor:
        parts.append(f"<p>Contractor: {escape(lcd.contractor)}</p>")
    for pair in lcd.pairs:
        parts.append(f"<h3>{_span(pair)}</h3>\n<ul>")
        parts += [_change_html(change) for change in pair.changes]
        parts.append("</ul>")
    parts.append("</section>")
    return "\n".join(parts)


def _span(pair: VersionPairChanges) -> str:
    """The escaped "Version A (date) → B (date)" heading."""

    def label(version: str | None, effective: date | None) -> str:
        if version is None:
            return "(none)"
        return f"{escape(version)} ({effective.isoformat() if effective else 'effective date unknown'})"

    return f"Version {label(pair.from_version, pair.from_effective_date)} → {label(pair.to_version, pair.to_effective_date)}"


def _change_html(change: ChangeRow) -> str:
    """One change as a list item with its sentences quoted."""
    about = ", ".join(escape(part) for part in context(change.subject, change.indication, change.section))
    where = f" ({about})" if about else ""
    values = transition(*(escape(v) if v is not None else None for v in (change.before, change.after)))
    quotes = "".join(
        f"<blockquote><strong>{label}:</strong> {escape(sentence)}</blockquote>"
        for label, sentence in (("Before", change.before_sentence), ("After", change.after_sentence))
        if sentence
    )
    return (
        f"<li><code>{escape(change.change_type)}</code> <strong>{escape(change.subject)}</strong>{where}: "
        f"{values}{quotes}</li>"
    )
