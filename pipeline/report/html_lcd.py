"""One LCD's part of the HTML report: summary, timeline plot, and each change with its sentences.

Every function is pure (rows in, escaped HTML out); document text only ever reaches the page through
html.escape, directly or via the highlighter.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date
from html import escape

from pipeline.report.highlight import highlight_sentences
from pipeline.report.plot import change_family, timeline_svg
from pipeline.report.rows import ChangeRow, LcdChanges, VersionPairChanges, context, nested, transition
from pipeline.report.versions import VersionPoint


def lcd_section(lcd: LcdChanges, points: Sequence[VersionPoint], anchor: str, notes: Mapping | None = None) -> str:
    """The <section> of one LCD (`notes`: revision explanations / reasons for change by to-version key)."""
    by_key = {p.version_key: p for p in points}
    title = f' <span class="title">— {escape(lcd.title)}</span>' if lcd.title else ""
    contractor = escape(lcd.contractor) if lcd.contractor else "not stated in the document"
    parts = [
        f'<section class="lcd" id="{escape(anchor)}">',
        f'<h2><span class="lcd-id">{escape(lcd.lcd_id)}</span>{title}</h2>',
        f'<p class="meta">Contractor: {contractor}</p>',
        summary_html(lcd, by_key),
        timeline_html(lcd, points),
        *(pair_html(pair, by_key, notes) for pair in lcd.pairs),
        "</section>",
    ]
    return "\n".join(parts)


def summary_html(lcd: LcdChanges, by_key: Mapping[int, VersionPoint]) -> str:
    """What changed: counts by change type, and a table of version pairs with dates and sources."""
    changes = [change for pair in lcd.pairs for change in pair.changes]
    rows = "\n".join(_pair_row(pair, by_key) for pair in lcd.pairs)
    return (
        f'<p class="summary"><strong>{count(len(changes), "policy change")}</strong> '
        f"across {count(len(lcd.pairs), 'revision')}:</p>\n"
        f"{type_chips(Counter(c.change_type for c in changes))}\n"
        '<table class="versions">\n<thead><tr><th>From version</th><th>To version</th>'
        "<th>Changes</th></tr></thead>\n"
        f"<tbody>\n{rows}\n</tbody>\n</table>"
    )


def _pair_row(pair: VersionPairChanges, by_key: Mapping[int, VersionPoint]) -> str:
    """One table row: both versions with their dates and links, and the pair's change counts."""
    first = pair.changes[0]
    start = (
        version_cell(pair.from_version, pair.from_effective_date, by_key.get(first.from_version_key))
        if pair.from_version is not None
        else "(none)"
    )
    end = version_cell(pair.to_version, pair.to_effective_date, by_key.get(first.to_version_key))
    chips = type_chips(Counter(c.change_type for c in pair.changes))
    return f"<tr><td>{start}</td><td>{end}</td><td>{chips}</td></tr>"


def version_cell(version: str, effective: date | None, point: VersionPoint | None) -> str:
    """ "v2 · effective 2024-06-01" with links to its source file and MCD page where known."""
    lines = [f"<strong>{version_label(version, effective)}</strong>"]
    if point is not None and point.source_path:
        path = f"<code>{escape(point.source_path)}</code>"
        lines.append(f'<a href="{escape(point.source_href)}">{path}</a>' if point.source_href else path)
    if point is not None and point.mcd_href:
        lines.append(f'<a href="{escape(point.mcd_href)}">MCD page of this version</a>')
    return "<br>".join(lines)


def version_label(version: str | None, effective: date | None) -> str:
    """ "v2 · effective 2024-06-01" or "v2 · effective date unknown", escaped."""
    when = f"effective {effective.isoformat()}" if effective else "effective date unknown"
    return f"v{escape(version or '?')} · {when}"


def timeline_html(lcd: LcdChanges, points: Sequence[VersionPoint]) -> str:
    """The LCD's timeline plot in a <figure>, versions of this report in full colour."""
    reported = {change.to_version_key for pair in lcd.pairs for change in pair.changes}
    label = f"Versions of {lcd.lcd_id} and the number of policy changes into each"
    svg = timeline_svg(points, reported, label)
    faded = any(p.change_total and p.version_key not in reported for p in points)
    caption = (
        f"{count(len(points), 'stored version')} of {escape(lcd.lcd_id)}, oldest first; each bar counts the "
        "policy changes from the previous version, by kind."
        + (" Versions outside this report are faded." if faded else "")
    )
    return f'<figure class="plot">\n{svg}\n<figcaption>{caption}</figcaption>\n</figure>'


def pair_html(pair: VersionPairChanges, by_key: Mapping[int, VersionPoint], notes: Mapping | None = None) -> str:
    """The heading of one revision, what the contractor said about it, and its changes."""
    start = version_label(pair.from_version, pair.from_effective_date) if pair.from_version else "(none)"
    end = version_label(pair.to_version, pair.to_effective_date)
    items = "\n".join(change_html(change, children) for change, children in nested(pair.changes))
    note = (notes or {}).get(pair.changes[0].to_version_key) if pair.changes else None
    said = "".join(f'<p class="revision-note">{escape(line)}</p>\n' for line in note.lines()) if note else ""
    return f'<h3>{start} → {end}</h3>\n{said}<ol class="changes">\n{items}\n</ol>'


def change_html(change: ChangeRow, children: Sequence[ChangeRow] = ()) -> str:
    """One change: its type, subject and context, the values, both sentences highlighted, and beneath it
    the fact changes that belong to it (an indication's doses, thresholds, criteria)."""
    family = change_family(change.change_type)
    about = " · ".join(escape(part) for part in context(change.subject, change.indication, change.section))
    where = f' <span class="context">— {about}</span>' if about else ""
    values = transition(*(escape(v) if v is not None else None for v in (change.before, change.after)))
    return (
        f'<li class="change f-{escape(family)}">\n'
        f'<p class="change-head"><span class="chip f-{escape(family)}">{escape(type_name(change.change_type))}'
        f"</span> <strong>{escape(change.subject)}</strong>{where}</p>\n"
        f'<p class="values">{values}</p>\n'
        f"{sentences_html(change)}\n{_children_html(children)}</li>"
    )


def _children_html(children: Sequence[ChangeRow]) -> str:
    """The fact changes of an indication added or removed, as a compact list inside its item."""
    if not children:
        return ""
    items = "".join(
        f'<li><span class="chip f-{escape(change_family(c.change_type))}">{escape(type_name(c.change_type))}</span> '
        f"<strong>{escape(c.subject)}</strong>: {transition(*(escape(v) if v is not None else None for v in (c.before, c.after)))}</li>"
        for c in children
    )
    return f'<ul class="children">{items}</ul>\n'


def sentences_html(change: ChangeRow) -> str:
    """The before and after sentences side by side, deleted and inserted words marked."""
    if change.before_sentence is None and change.after_sentence is None:
        return ""
    before, after = highlight_sentences(change.before_sentence, change.after_sentence)
    return (
        '<div class="sentences">'
        f"{_sentence('Before', change.from_version, before)}"
        f"{_sentence('After', change.to_version, after)}"
        "</div>"
    )


def _sentence(side: str, version: str | None, html: str | None) -> str:
    """One side's box; a side without the fact says so."""
    heading = f"<h4>{side} · v{escape(version)}</h4>" if version else f"<h4>{side}</h4>"
    if html is None:
        return f'<div class="sentence absent">{heading}<p>not in this version</p></div>'
    return f'<div class="sentence">{heading}<p>{html}</p></div>'


def type_chips(counts: Counter) -> str:
    """A coloured chip per change type with its count, most frequent first."""
    chips = (
        f'<li class="chip f-{escape(change_family(t))}">{escape(type_name(t))}: {n}</li>'
        for t, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    )
    return f'<ul class="chips">{"".join(chips)}</ul>'


def type_name(change_type: str) -> str:
    """ "dose_added" -> "dose added"."""
    return change_type.replace("_", " ")


def count(n: int, noun: str) -> str:
    """ "1 change", "3 changes"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"
