"""The stored policy changes a report shows, and their grouping by LCD and version pair."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import duckdb


@dataclass(frozen=True)
class ChangeRow:
    """One stored policy change with the versions it lies between."""

    change_key: int
    lcd_id: str
    title: str | None
    contractor: str | None
    from_version_key: int | None
    from_version: str | None
    from_effective_date: date | None
    to_version_key: int
    to_version: str
    to_effective_date: date | None
    change_type: str
    subject: str
    before: str | None
    after: str | None
    before_sentence: str | None
    after_sentence: str | None
    indication: str | None
    section: str | None
    detected_at: datetime
    parent_change_key: int | None = None  # the indication added/removed this fact change belongs to


@dataclass(frozen=True)
class VersionPairChanges:
    """The changes between two consecutive versions of one LCD."""

    from_version: str | None
    from_effective_date: date | None
    to_version: str
    to_effective_date: date | None
    changes: tuple[ChangeRow, ...]


@dataclass(frozen=True)
class LcdChanges:
    """Every reported change of one LCD, by version pair (oldest first)."""

    lcd_id: str
    title: str | None
    contractor: str | None
    pairs: tuple[VersionPairChanges, ...]


_CHANGES = """
select
    change_key,
    lcd_id,
    title,
    contractor,
    from_version_key,
    from_version,
    from_effective_date,
    to_version_key,
    to_version,
    to_effective_date,
    change_type,
    subject,
    before,
    after,
    before_sentence,
    after_sentence,
    normalized_indication,
    section_name,
    detected_at,
    parent_change_key
from change_log
where {where}
order by
    lcd_id,
    to_version_order,
    change_key
"""


def changes_since(
    con: duckdb.DuckDBPyConnection,
    since: date | None = None,
    detected_since: datetime | None = None,
) -> list[ChangeRow]:
    """Stored changes (the change_log view) whose `change_date` is on/after `since`: the new version's
    effective date, or the day an undated one was detected.

    `detected_since` further keeps only the changes detected at or after that moment (one ingest run).
    """
    conditions, params = ["true"], []
    if since is not None:
        conditions.append("change_date >= ?")
        params.append(since)
    if detected_since is not None:
        conditions.append("detected_at >= ?")
        params.append(detected_since)
    rows = con.execute(_CHANGES.format(where="\n    and ".join(conditions)), params).fetchall()
    return [ChangeRow(*row) for row in rows]


def transition(before: str | None, after: str | None, arrow: str = "→") -> str:
    """ "before → after", or "added: after" / "removed: before" when one side is missing."""
    if before is None:
        return f"added: {after}"
    if after is None:
        return f"removed: {before}"
    return f"{before} {arrow} {after}"


def context(subject: str, indication: str | None, section: str | None) -> list[str]:
    """The indication (unless it is the subject itself) and the section a change concerns."""
    parts = [indication] if indication and indication.casefold() != subject.casefold() else []
    return parts + ([section] if section else [])


def nested(changes: Sequence[ChangeRow]) -> list[tuple[ChangeRow, tuple[ChangeRow, ...]]]:
    """The changes a reader sees: each top-level change with the fact changes that belong to it (the
    doses, thresholds and criteria of an indication added or removed), in the changes' order."""
    keys = {change.change_key for change in changes}
    children: dict[int, list[ChangeRow]] = {}
    for change in changes:
        if change.parent_change_key in keys:
            children.setdefault(change.parent_change_key, []).append(change)
    return [(c, tuple(children.get(c.change_key, ()))) for c in changes if c.parent_change_key not in keys]


def group_by_lcd(rows: list[ChangeRow]) -> list[LcdChanges]:
    """Rows grouped by LCD, then by version pair, keeping the rows' order."""
    by_lcd: dict[str, dict[tuple, list[ChangeRow]]] = {}
    for row in rows:
        pair = (row.from_version_key, row.to_version_key)
        by_lcd.setdefault(row.lcd_id, {}).setdefault(pair, []).append(row)
    return [_lcd_changes(lcd_id, pairs) for lcd_id, pairs in by_lcd.items()]


def _lcd_changes(lcd_id: str, pairs: dict[tuple, list[ChangeRow]]) -> LcdChanges:
    """One LCD's group; title and contractor come from its newest reported version."""
    groups = tuple(
        VersionPairChanges(
            changes[0].from_version,
            changes[0].from_effective_date,
            changes[0].to_version,
            changes[0].to_effective_date,
            tuple(changes),
        )
        for changes in pairs.values()
    )
    newest = groups[-1].changes[0]
    return LcdChanges(lcd_id, newest.title, newest.contractor, groups)
