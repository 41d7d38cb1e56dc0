"""Reading versions back: their order within an LCD, their neighbours, the Documents they were loaded
from, and what the warehouse holds."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

import duckdb

from pipeline.datamodel import Document, DocumentMeta, Section

FACT_TABLES = ("indications", "doses", "thresholds", "criteria")

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


def versions_to_extract(con: duckdb.DuckDBPyConnection, current: str | None) -> list[tuple[int, str]]:
    """(version_key, lcd_id) of every version whose extractor_version is not `current` (every version
    when `current` is None), grouped by LCD and oldest first within it."""
    return con.execute(
        """
        select
            version_key,
            lcd_id
        from lcd_versions
        where ?::varchar is null
            or extractor_version is distinct from ?
        order by lcd_id, version_order, version_key
        """,
        [current, current],
    ).fetchall()


def sections_of(con: duckdb.DuckDBPyConnection, version_keys: list[int]) -> dict[int, list[Section]]:
    """The sections of these versions (version_sections), in text order; a version without any is absent."""
    sections: dict[int, list[Section]] = defaultdict(list)
    rows = con.execute(
        """
        select
            version_key,
            name,
            heading,
            kind,
            char_start,
            char_end
        from version_sections
        where version_key in (select unnest(?))
        order by version_key, char_start, char_end
        """,
        [version_keys],
    ).fetchall()
    for key, *row in rows:
        sections[key].append(Section(*row))
    return sections


def stored_documents(con: duckdb.DuckDBPyConnection, version_keys: list[int]) -> dict[int, Document]:
    """The Documents these versions were loaded from, rebuilt from what the warehouse keeps (lcd_versions,
    version_texts, version_sections): the source files are not needed. `pages` is not kept (None)."""
    sections = sections_of(con, version_keys)
    rows = con.execute(
        """
        select
            v.version_key,
            x.text,
            v.lcd_id,
            v.version,
            v.title,
            v.contractor,
            v.effective_date,
            v.original_effective_date,
            v.document_type,
            v.source_path,
            v.source_sha256,
            v.source_format
        from lcd_versions as v
        join version_texts as x
            on x.version_key = v.version_key
        where v.version_key in (select unnest(?))
        """,
        [version_keys],
    ).fetchall()
    documents = {}
    for key, text, lcd_id, version, title, contractor, effective, original, doc_type, path, sha256, fmt in rows:
        meta = DocumentMeta(lcd_id, version, title, contractor, effective, original, doc_type)
        documents[key] = Document(text, tuple(sections.get(key, ())), meta, path, sha256, fmt, lcd_id, version)
    return documents


def table_counts(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...] = (*FACT_TABLES, "policy_changes")) -> dict[str, int]:
    """Rows per table (fact tables and policy_changes by default), in one query."""
    counts = " union all ".join(f"select '{table}', count(*) from {table}" for table in tables)  # names from code
    return dict(con.execute(counts).fetchall())
