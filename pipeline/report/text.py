"""Policy changes as plain text, for the `lcd diff` command."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.diff.facts import PolicyChange
from pipeline.report.rows import context, transition


def format_changes_text(changes: Sequence[PolicyChange], header: str | None = None) -> str:
    """Each change on its own line, its before/after sentences indented beneath it."""
    lines = [header] if header else []
    if not changes:
        return "\n".join([*lines, "No policy changes."]) + "\n"
    children: dict[int, list[PolicyChange]] = {}
    for change in changes:
        if change.parent is not None:
            children.setdefault(change.parent, []).append(change)
    for i, change in enumerate(changes):
        if change.parent is None:
            lines += _change_lines(change)
            for child in children.get(i, []):  # the facts of an indication added or removed, beneath it
                lines += ["    " + line for line in _change_lines(child)[:2]]
    return "\n".join(lines) + "\n"


def _change_lines(change: PolicyChange) -> list[str]:
    """The lines of one change."""
    about = context(change.subject, change.indication, None)
    where = f" [{about[0]}]" if about else ""
    lines = [f"{change.change_type}: {change.subject}{where}", f"    {transition(change.before, change.after, '->')}"]
    if change.before_sentence:
        lines.append(f'    before: "{one_line(change.before_sentence)}"')
    if change.after_sentence:
        lines.append(f'    after:  "{one_line(change.after_sentence)}"')
    return lines


def one_line(text: str) -> str:
    """Text with its line breaks and runs of spaces collapsed."""
    return " ".join(text.split())
