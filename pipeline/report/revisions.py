"""Why a version was revised, as its source says: revision explanation and reasons for change.

Read from `lcd_revision_history` (filled by `lcd sync`, or by any loader following the table's rules
in warehouse/schema.sql); versions without rows there get no note. Reports show a note under the
version's header.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import duckdb

from pipeline.sources.records import revision_order, revision_summary

_ROWS = """
select
    v.version_key,
    h.rev_hist_date,
    h.rev_hist_num,
    h.explanation,
    h.reasons_for_change
from lcd_versions as v
join lcd_revision_history as h
    on h.lcd_id = v.lcd_id
    and h.version = v.version
where list_contains(?, v.version_key)
"""


@dataclass(frozen=True)
class RevisionNote:
    """The revision explanation and reasons for change of one version."""

    rev_hist_num: str | None
    rev_hist_date: date | None
    explanation: str | None  # the 'Revision Explanation' text, one line
    reasons: tuple[str, ...]

    def lines(self) -> list[str]:
        """'Revision explanation (R16, 2024-11-07): ...' and 'Reason for change: ...', plain text."""
        lines = []
        if self.explanation:
            parts = [self.rev_hist_num, self.rev_hist_date.isoformat() if self.rev_hist_date else None]
            label = ", ".join(part for part in parts if part)
            lines.append(f"Revision explanation{f' ({label})' if label else ''}: {self.explanation}")
        if self.reasons:
            noun = "Reason" if len(self.reasons) == 1 else "Reasons"
            lines.append(f"{noun} for change: {'; '.join(self.reasons)}")
        return lines


def note_from_rows(rows: Sequence[tuple[date | None, str | None, str | None, Sequence[str] | None]]) -> RevisionNote | None:
    """The note of one version from its (rev_hist_date, rev_hist_num, explanation, reasons) rows.

    The latest row with an explanation describes the version (the others are its change log); the
    reasons of every row are kept, in order, once each.
    """
    explained = [row for row in rows if row[2]]
    latest = max(explained, key=lambda row: revision_order(row[0], row[1])) if explained else None
    reasons = tuple(dict.fromkeys(reason for row in rows for reason in (row[3] or ()) if reason))
    if latest is None and not reasons:
        return None
    if latest is None:
        return RevisionNote(None, None, None, reasons)
    return RevisionNote(latest[1], latest[0], revision_summary(latest[2]) or None, reasons)


def revision_notes(con: duckdb.DuckDBPyConnection, version_keys: Iterable[int | None]) -> dict[int, RevisionNote]:
    """The notes of the given versions that have revision history or reasons for change stored."""
    keys = sorted({int(k) for k in version_keys if k is not None})
    if not keys:
        return {}
    by_version: dict[int, list[tuple]] = {}
    for version_key, *row in con.execute(_ROWS, [keys]).fetchall():
        by_version.setdefault(version_key, []).append(tuple(row))
    notes = {key: note_from_rows(rows) for key, rows in by_version.items()}
    return {key: note for key, note in notes.items() if note is not None}
