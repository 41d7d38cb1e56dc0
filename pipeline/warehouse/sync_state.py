"""Coverage API sync state in the warehouse: which versions are loaded, fetched or failed, and their revisions.

Tables (warehouse/schema.sql): `sync_state` (one row per listed lcd_id + version) and
`lcd_revision_history` (revision history and reasons for change per version). Every function writes in one transaction, so a crash leaves either the
old row or the new one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import duckdb

from pipeline.sources.records import ChangeReason, ReportEntry, RevisionEntry, RevisionRow, revision_rows
from pipeline.warehouse.db import transaction, utc_now
from pipeline.warehouse.load import record_error

_UPSERT = """
insert into sync_state (
    lcd_id,
    version,
    status,
    source_url,
    cache_path,
    sha256,
    version_key,
    title,
    contractor,
    updated_on,
    effective_date,
    attempts,
    error_type,
    error,
    first_seen_at,
    fetched_at,
    updated_at
)
values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
on conflict (lcd_id, version) do update set
    status = excluded.status,
    source_url = excluded.source_url,
    cache_path = coalesce(excluded.cache_path, sync_state.cache_path),
    sha256 = coalesce(excluded.sha256, sync_state.sha256),
    version_key = excluded.version_key,
    title = coalesce(excluded.title, sync_state.title),
    contractor = coalesce(excluded.contractor, sync_state.contractor),
    updated_on = coalesce(excluded.updated_on, sync_state.updated_on),
    effective_date = coalesce(excluded.effective_date, sync_state.effective_date),
    attempts = sync_state.attempts + excluded.attempts,
    error_type = excluded.error_type,
    error = excluded.error,
    fetched_at = coalesce(excluded.fetched_at, sync_state.fetched_at),
    updated_at = excluded.updated_at
"""


def loaded_versions(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    """(lcd_id, version) pairs the warehouse already has, however they were loaded (sync or files)."""
    rows = con.execute(
        """
        select lcd_id, version from lcd_versions
        union
        select lcd_id, version from sync_state where status = 'loaded'
        """
    ).fetchall()
    return {(lcd_id, version) for lcd_id, version in rows}


def _upsert(
    con: duckdb.DuckDBPyConnection,
    entry: ReportEntry,
    status: str,
    source_url: str,
    *,
    attempts: int,
    cache_path: str | None = None,
    sha256: str | None = None,
    version_key: int | None = None,
    error_type: str | None = None,
    error: str | None = None,
    fetched_at: datetime | None = None,
    now: datetime,
) -> None:
    """Insert or update the sync_state row of `entry` (attempts add up)."""
    con.execute(
        _UPSERT,
        [
            entry.lcd_id,
            entry.version,
            status,
            source_url,
            cache_path,
            sha256,
            version_key,
            entry.title,
            entry.contractor,
            entry.updated_on,
            entry.effective_date,
            attempts,
            error_type,
            error,
            now,
            fetched_at,
            now,
        ],
    )


def record_download(
    con: duckdb.DuckDBPyConnection,
    entry: ReportEntry,
    source_url: str,
    cache_path: str,
    sha256: str,
    revisions: Iterable[RevisionEntry],
    reasons: Iterable[ChangeReason],
) -> None:
    """A version's record is saved at `cache_path`: state 'downloaded', its revisions and reasons replaced."""
    now = utc_now()
    with transaction(con):
        _upsert(con, entry, "downloaded", source_url, attempts=1, cache_path=cache_path, sha256=sha256, fetched_at=now, now=now)
        replace_revisions(con, entry.lcd_id, entry.version, revisions, reasons, now)


def record_sync_failure(
    con: duckdb.DuckDBPyConnection,
    entry: ReportEntry,
    source_url: str,
    error_type: str,
    message: str,
    *,
    downloaded: bool = False,
) -> None:
    """A version failed: state 'failed'; a fetch failure (not `downloaded`) also gets an ingest_errors row.

    A downloaded record that failed to load already has its ingest_errors row from the ingestion flow,
    and its attempt was counted when it was downloaded.
    """
    now = utc_now()
    with transaction(con):
        _upsert(con, entry, "failed", source_url, attempts=0 if downloaded else 1, error_type=error_type, error=message, now=now)
        if not downloaded:
            record_error(con, source_url, error_type, message)


def record_loaded(con: duckdb.DuckDBPyConnection, entry: ReportEntry, version_key: int) -> None:
    """A downloaded version is in lcd_versions as `version_key`: state 'loaded', error cleared."""
    now = utc_now()
    with transaction(con):
        _upsert(con, entry, "loaded", _source_url(con, entry) or "", attempts=0, version_key=version_key, now=now)


def replace_revisions(
    con: duckdb.DuckDBPyConnection,
    lcd_id: str,
    version: str,
    revisions: Iterable[RevisionEntry],
    reasons: Iterable[ChangeReason],
    loaded_at: datetime,
    source: str = "coverage_api",
) -> None:
    """Replace the stored revision history (reasons on the latest row) of one version; call inside a transaction."""
    replace_revision_rows(con, lcd_id, version, revision_rows(list(revisions), list(reasons)), source, loaded_at)


def replace_revision_rows(
    con: duckdb.DuckDBPyConnection,
    lcd_id: str,
    version: str,
    rows: Iterable[RevisionRow],
    source: str,
    loaded_at: datetime,
) -> None:
    """Replace the lcd_revision_history rows of one version with `rows` (any source; inside a transaction)."""
    con.execute("delete from lcd_revision_history where lcd_id = ? and version = ?", [lcd_id, version])
    for row in rows:
        con.execute(
            """
            insert into lcd_revision_history (
                lcd_id,
                version,
                rev_hist_date,
                rev_hist_num,
                explanation,
                reasons_for_change,
                source,
                loaded_at
            )
            values (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [lcd_id, version, row.rev_hist_date, row.rev_hist_num, row.explanation, list(row.reasons_for_change), source, loaded_at],
        )


def store_revision_history(
    con: duckdb.DuckDBPyConnection,
    grouped: Mapping[tuple[str, str], Iterable[RevisionRow]],
    source: str,
    loaded_at: datetime,
) -> int:
    """Replace the revision history of every (lcd_id, version) in `grouped` in one transaction; returns rows stored."""
    stored = 0
    with transaction(con):
        for (lcd_id, version), rows in grouped.items():
            rows = list(rows)
            replace_revision_rows(con, lcd_id, version, rows, source, loaded_at)
            stored += len(rows)
    return stored


def _source_url(con: duckdb.DuckDBPyConnection, entry: ReportEntry) -> str | None:
    """The source_url already recorded for `entry`, if any."""
    row = con.execute(
        "select source_url from sync_state where lcd_id = ? and version = ?", [entry.lcd_id, entry.version]
    ).fetchone()
    return row[0] if row else None
