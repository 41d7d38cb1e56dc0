"""`lcd sync` as plain functions: plan against the warehouse, fetch records into the cache, summarise.

The Prefect flow (pipeline/orchestration/sync_flow.py) wraps these in tasks; the records it saves are ordinary
Coverage API JSON files under `<cache>/<LCD_ID>/<VERSION>.json`, ingested by the same flow as any
other file, so provenance (source_path, source_sha256) works as for `lcd ingest`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.jobs import ingest as ingest_job
from pipeline.sources.coverage_api import ApiError, CoverageApiClient, TokenError
from pipeline.sources.records import ChangeReason, ReportEntry, RevisionEntry

# Failures after which the source is taken to be down: the rest of the run is not tried (next sync will).
TRANSPORT_KINDS = ("timeout", "connection")
DEFAULT_BREAKER_THRESHOLD = 3


@dataclass(frozen=True)
class SyncPlan:
    """The report's LCD versions split into those the warehouse has and those to fetch."""

    listed: int
    have: int
    fetch: tuple[ReportEntry, ...]
    older_than_since: int = 0


@dataclass(frozen=True)
class FetchedVersion:
    """A version whose record is saved in the cache, with its revision history and reasons for change."""

    entry: ReportEntry
    source_url: str
    path: str
    sha256: str
    revisions: tuple[RevisionEntry, ...] = ()
    reasons: tuple[ChangeReason, ...] = ()


@dataclass(frozen=True)
class SyncFailure:
    """A version that was not loaded this run, with a one-line reason."""

    entry: ReportEntry
    source: str  # the API URL, or the cached file when the download worked but loading did not
    error_type: str
    message: str


@dataclass(frozen=True)
class BatchResult:
    """What fetching one batch gave, and how many transport failures in a row the source has had."""

    fetched: tuple[FetchedVersion, ...]
    failed: tuple[SyncFailure, ...]
    consecutive_transport_failures: int = 0


@dataclass
class SyncSummary:
    """What a sync run did, for the CLI and the flow's return value."""

    listed: int = 0
    have: int = 0
    fetched: int = 0
    loaded: int = 0
    failed: list[SyncFailure] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    ingest: ingest_job.Summary | None = None

    @property
    def report_path(self) -> str | None:
        """The change report the ingestion wrote, if it ran."""
        return self.ingest.report_path if self.ingest else None


def plan_sync(entries: Iterable[ReportEntry], have: set[tuple[str, str]], since: date | None = None) -> SyncPlan:
    """Which listed versions to fetch: not in the warehouse, and (with `since`) changed on/after it.

    An entry without any date is kept under `since`: the report cannot say it is old.
    """
    entries = list(entries)
    present = [e for e in entries if (e.lcd_id, e.version) in have]
    missing = [e for e in entries if (e.lcd_id, e.version) not in have]
    recent = [e for e in missing if since is None or e.changed_on is None or e.changed_on >= since]
    return SyncPlan(len(entries), len(present), tuple(recent), len(missing) - len(recent))


def default_cache_dir(db_path: str | Path) -> Path:
    """Where synced records are saved: `sources/` beside the warehouse file (warehouse/sources/ by default)."""
    return Path(db_path).resolve().parent / "sources"


def cache_path(cache_dir: str | Path, entry: ReportEntry) -> Path:
    """<cache>/<LCD_ID>/<VERSION>.json; ids and versions come from a parser that allows digits only."""
    if not entry.number.isdigit() or not all(part.isdigit() for part in entry.version.split(".")):
        raise ValueError(f"refusing an unsafe cache path for {entry.lcd_id!r} version {entry.version!r}")
    return Path(cache_dir) / entry.lcd_id / f"{entry.version}.json"


def cache_record(record: dict[str, Any], entry: ReportEntry) -> dict[str, Any]:
    """The record to save: the API's record, plus the report's contractor when the record has none.

    /v1/data/lcd carries no contractor name; the report row does, and lcd_versions.contractor needs it.
    """
    if entry.contractor_name_type and not record.get("contractor_name_type"):
        return {**record, "contractor_name_type": entry.contractor_name_type}
    return record


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file and a rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_record(path: Path, record: dict[str, Any]) -> str:
    """Save a record as JSON (4-space indent, ASCII escapes, like the shipped records); returns its sha256."""
    data = json.dumps(record, indent=4, ensure_ascii=True).encode("ascii")
    write_atomic(path, data)
    return hashlib.sha256(data).hexdigest()


def fetch_version(client: CoverageApiClient, entry: ReportEntry, cache_dir: str | Path) -> FetchedVersion | SyncFailure:
    """Download one version (record, revision history, reasons) into the cache; a SyncFailure if it cannot.

    TokenError is raised, not returned: without a token no version can be fetched.
    """
    url = client.url_for("/v1/data/lcd", {"lcdid": entry.number, "ver": entry.version})
    try:
        data = client.lcd(entry.lcd_id, entry.version)
        if not data.found:
            return SyncFailure(entry, data.url, "no_such_version", f"the API has no version {entry.version} of {entry.lcd_id} (200 with empty data)")
        revisions = tuple(client.revision_history(entry.lcd_id, entry.version))
        reasons = tuple(client.reasons_for_change(entry.lcd_id, entry.version))
    except TokenError:
        raise
    except ApiError as exc:
        return SyncFailure(entry, exc.url, f"api_{exc.kind}", str(exc))
    path = cache_path(cache_dir, entry)
    try:
        sha = save_record(path, cache_record(data.record or {}, entry))
    except OSError as exc:
        return SyncFailure(entry, str(path), "io", f"cannot save the record: {exc.strerror or exc}")
    return FetchedVersion(entry, url, str(path), sha, revisions, reasons)


def fetch_batch(
    client: CoverageApiClient,
    entries: Iterable[ReportEntry],
    cache_dir: str | Path,
    consecutive_transport_failures: int = 0,
    breaker_threshold: int = DEFAULT_BREAKER_THRESHOLD,
) -> BatchResult:
    """Fetch each version of a batch, failures returned; after `breaker_threshold` transport failures in a row, stop trying.

    Versions after the breaker opens fail as 'source_unavailable' without a request: a server that is
    down would otherwise cost every remaining version its full retry budget. The next sync retries them.
    """
    fetched: list[FetchedVersion] = []
    failed: list[SyncFailure] = []
    streak = consecutive_transport_failures
    for entry in entries:
        if breaker_threshold and streak >= breaker_threshold:
            failed.append(source_unavailable(client, entry, streak))
            continue
        outcome = fetch_version(client, entry, cache_dir)
        if isinstance(outcome, FetchedVersion):
            fetched.append(outcome)
            streak = 0
        else:
            failed.append(outcome)
            streak = streak + 1 if outcome.error_type in {f"api_{k}" for k in TRANSPORT_KINDS} else 0
    return BatchResult(tuple(fetched), tuple(failed), streak)


def source_unavailable(client: CoverageApiClient, entry: ReportEntry, streak: int) -> SyncFailure:
    """The failure of a version not tried because the source kept failing."""
    url = client.url_for("/v1/data/lcd", {"lcdid": entry.number, "ver": entry.version})
    return SyncFailure(entry, url, "source_unavailable", f"not tried: the API failed {streak} versions in a row (timeouts or connection errors)")


def not_fetched(entries: Iterable[ReportEntry], base_url: str, error_type: str, message: str) -> list[SyncFailure]:
    """Failures for versions a run could not fetch at all (no token, batch task failed)."""
    base = base_url.rstrip("/")
    return [SyncFailure(e, f"{base}/v1/data/lcd?lcdid={e.number}&ver={e.version}", error_type, message) for e in entries]


def ingest_plan(fetched: Iterable[FetchedVersion], known_hashes: set[str], cache_dir: str | Path) -> ingest_job.Plan:
    """The ingestion plan of the downloaded records (bytes already loaded are skipped by hash)."""
    plan = ingest_job.plan_ingest([Path(f.path) for f in fetched], known_hashes)
    return ingest_job.Plan(plan.new, plan.skipped, Path(cache_dir), plan.failures)
