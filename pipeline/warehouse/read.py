"""Reading versions back: their order within an LCD and their neighbours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb

_VERSION_COLUMNS = """
    version_key,
    lcd_id,
    version,
    title,
    contractor,
    effective_date,
    source_path,
    source_sha256,
    source_format,
    ingested_at,
    version_order
"""


@dataclass(frozen=True)
class VersionRow:
    """One row of lcd_versions."""

    version_key: int
    lcd_id: str
    version: str
    title: str | None
    contractor: str | None
    effective_date: date | None
    source_path: str
    source_sha256: str
    source_format: str
    ingested_at: datetime
    version_order: int


def versions_of(con: duckdb.DuckDBPyConnection, lcd_id: str) -> list[VersionRow]:
    """The versions of `lcd_id`, oldest first (see the ordering rule in load.py)."""
    rows = con.execute(
        f"select {_VERSION_COLUMNS} from lcd_versions where lcd_id = ? order by version_order, version_key",
        [lcd_id],
    ).fetchall()
    return [VersionRow(*row) for row in rows]


def version_row(con: duckdb.DuckDBPyConnection, version_key: int) -> VersionRow | None:
    """The lcd_versions row of `version_key`, if it exists."""
    row = con.execute(f"select {_VERSION_COLUMNS} from lcd_versions where version_key = ?", [version_key]).fetchone()
    return VersionRow(*row) if row else None


def previous_version_key(con: duckdb.DuckDBPyConnection, version_key: int) -> int | None:
    """The version of the same LCD just before `version_key`, if any."""
    return _neighbour(con, version_key, -1)


def next_version_key(con: duckdb.DuckDBPyConnection, version_key: int) -> int | None:
    """The version of the same LCD just after `version_key`, if any."""
    return _neighbour(con, version_key, +1)


def version_key_of(con: duckdb.DuckDBPyConnection, lcd_id: str, version: str) -> int | None:
    """The key of version `version` of `lcd_id` (the latest copy when its bytes were re-issued)."""
    matches = [row.version_key for row in versions_of(con, lcd_id) if row.version == version]
    return matches[-1] if matches else None


def _neighbour(con: duckdb.DuckDBPyConnection, version_key: int, step: int) -> int | None:
    """The version `step` places away from `version_key` within its LCD."""
    row = con.execute(
        """
        select
            neighbour.version_key
        from lcd_versions as this
        join lcd_versions as neighbour
            on neighbour.lcd_id = this.lcd_id
            and neighbour.version_order = this.version_order + ?
        where this.version_key = ?
        """,
        [step, version_key],
    ).fetchone()
    return row[0] if row else None
