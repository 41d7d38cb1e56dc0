"""The change report as Markdown."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date

from pipeline.report.revisions import RevisionNote
from pipeline.report.rows import ChangeRow, LcdChanges, VersionPairChanges, context, group_by_lcd, nested, transition


def render_markdown(
    rows: Sequence[ChangeRow], since: date | None = None, notes: Mapping[int, RevisionNote] | None = None
) -> str:
    """The Markdown report of `rows`, grouped by LCD and version pair, sentences quoted.

    `notes` (by to_version_key) adds a version's revision explanation and reasons under its header.
    """
    scope = f" since {since.isoformat()}" if since else ""
    lines = [f"# LCD policy changes{scope}", ""]
    groups = group_by_lcd(list(rows))
    if not groups:
        lines.append(f"No policy changes{scope}.")
        return "\n".join(lines) + "\n"
    lines += [f"{_count(len(rows), 'change')} in {_count(len(groups), 'LCD')}.", ""]
    for lcd in groups:
        lines += _lcd_section(lcd, notes or {})
    return "\n".join(lines).rstrip("\n") + "\n"


def _lcd_section(lcd: LcdChanges, notes: Mapping[int, RevisionNote]) -> list[str]:
    """The heading and version pairs of one LCD."""
    title = f" — {md_escape(lcd.title)}" if lcd.title else ""
    lines = [f"## {md_escape(lcd.lcd_id)}{title}", ""]
    if lcd.contractor:
        lines += [f"Contractor: {md_escape(lcd.contractor)}", ""]
    for pair in lcd.pairs:
        lines += [f"### {version_span(pair)}", ""]
        lines += revision_note_lines(notes.get(pair.changes[0].to_version_key))
        for change, children in nested(pair.changes):
            lines += _change_item(change)
            for child in children:  # the facts of an indication added or removed, beneath it
                lines += ["  " + line for line in _change_item(child, sentences=False)]
        lines.append("")
    return lines


def revision_note_lines(note: RevisionNote | None) -> list[str]:
    """A version's revision explanation and reasons for change as Markdown paragraphs (none without a note)."""
    if note is None:
        return []
    return [line for text in note.lines() for line in (md_escape(text), "")]


def _change_item(change: ChangeRow, sentences: bool = True) -> list[str]:
    """One change as a list item with its sentences quoted beneath (`sentences=False`: the values only)."""
    about = ", ".join(md_escape(part) for part in context(change.subject, change.indication, change.section))
    where = f" ({about})" if about else ""
    values = transition(*(md_escape(v) if v is not None else None for v in (change.before, change.after)))
    lines = [f"- `{change.change_type}` **{md_escape(change.subject)}**{where}: {values}"]
    if not sentences:
        return lines
    quotes = [
        f"  > **{label}:** {md_escape(sentence)}"
        for label, sentence in (("Before", change.before_sentence), ("After", change.after_sentence))
        if sentence
    ]
    # A blank quoted line keeps the two sentences in separate paragraphs of one quote.
    return lines + "\n  >\n".join(quotes).splitlines()


def version_span(pair: VersionPairChanges) -> str:
    """ "version 34 (2023-01-01) → 35 (2024-03-01)", with "unknown date" where undated."""
    start = _version_label(pair.from_version, pair.from_effective_date) if pair.from_version else "(none)"
    return f"Version {start} → {_version_label(pair.to_version, pair.to_effective_date)}"


def _version_label(version: str, effective: date | None) -> str:
    """A version and its effective date."""
    when = effective.isoformat() if effective else "effective date unknown"
    return f"{md_escape(version)} ({when})"


def md_escape(text: str) -> str:
    """Text safe inside a Markdown line: one line, no emphasis, links, code or raw HTML."""
    flat = " ".join(str(text).split())
    escaped = re.sub(r"([\\`*\[\]])", r"\\\1", flat)
    # Underscores inside words (coverage_indications) cannot open emphasis, so they stay readable.
    escaped = re.sub(r"(?<!\w)_|_(?!\w)", r"\\_", escaped)
    return re.sub(r"<(?=[A-Za-z/!?])", r"\\<", escaped)


def _count(n: int, noun: str) -> str:
    """"1 change", "3 changes"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"
