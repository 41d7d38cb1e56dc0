"""The versions of each reported LCD, with their change counts and source links, for the HTML report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import duckdb

from pipeline.report.links import locate_source, mcd_url, relative_href
from pipeline.report.rows import LcdChanges


@dataclass(frozen=True)
class VersionPoint:
    """One version of an LCD on its timeline: the changes that led to it, and where it came from."""

    version_key: int
    version: str
    effective_date: date | None
    source_path: str | None
    source_format: str | None
    change_counts: tuple[tuple[str, int], ...] = ()  # (change_type, n) of the changes INTO this version
    source_href: str | None = None  # link to the source file, set when the file was found
    mcd_href: str | None = None  # the MCD page of this version, for Coverage API LCDs

    @property
    def change_total(self) -> int:
        """All changes into this version."""
        return sum(n for _, n in self.change_counts)


_VERSIONS = """
select
    lcd_id,
    version_key,
    version,
    effective_date,
    source_path,
    source_format
from lcd_versions
where list_contains(?::varchar[], lcd_id)
order by
    lcd_id,
    version_order,
    version_key
"""

_COUNTS = """
select
    to_version_key,
    change_type,
    count(*) as n
from policy_changes
where list_contains(?::varchar[], lcd_id)
group by all
order by
    to_version_key,
    change_type
"""


def version_points(con: duckdb.DuckDBPyConnection, lcd_ids: Iterable[str]) -> dict[str, tuple[VersionPoint, ...]]:
    """Every stored version of each of `lcd_ids`, oldest first, with its change counts by type."""
    ids = sorted(set(lcd_ids))
    counts: dict[int, list[tuple[str, int]]] = {}
    for version_key, change_type, n in con.execute(_COUNTS, [ids]).fetchall():
        counts.setdefault(version_key, []).append((change_type, n))
    points: dict[str, list[VersionPoint]] = {}
    for lcd_id, key, version, effective, path, fmt in con.execute(_VERSIONS, [ids]).fetchall():
        point = VersionPoint(key, version, effective, path, fmt, tuple(counts.get(key, ())))
        points.setdefault(lcd_id, []).append(point)
    return {lcd_id: tuple(found) for lcd_id, found in points.items()}


def points_from_changes(lcd: LcdChanges) -> tuple[VersionPoint, ...]:
    """The versions a report's own rows name, for rendering without the warehouse at hand."""
    points: dict[int, VersionPoint] = {}
    for pair in lcd.pairs:
        first = pair.changes[0]
        if first.from_version_key is not None and first.from_version_key not in points:
            points[first.from_version_key] = VersionPoint(
                first.from_version_key, first.from_version or "?", first.from_effective_date, None, None
            )
        counts = Counter(change.change_type for change in pair.changes)
        points[first.to_version_key] = VersionPoint(
            first.to_version_key, first.to_version, first.to_effective_date, None, None, tuple(sorted(counts.items()))
        )
    return tuple(points.values())


def with_links(
    points: dict[str, tuple[VersionPoint, ...]], report_dir: Path, roots: Sequence[Path]
) -> dict[str, tuple[VersionPoint, ...]]:
    """Points with a link to each source file found under `roots`, and the MCD page where there is one."""
    return {lcd_id: tuple(_linked(lcd_id, p, report_dir, roots) for p in found) for lcd_id, found in points.items()}


def _linked(lcd_id: str, point: VersionPoint, report_dir: Path, roots: Sequence[Path]) -> VersionPoint:
    """One point with its links."""
    found = locate_source(point.source_path, roots) if point.source_path else None
    return replace(
        point,
        source_href=relative_href(found, report_dir) if found else None,
        mcd_href=mcd_url(lcd_id, point.version, point.source_format or ""),
    )
