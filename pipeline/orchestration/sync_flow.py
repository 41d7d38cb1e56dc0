"""The Prefect sync flow: report -> plan -> fetch batches -> record -> ingest (subflow) -> mark loaded.

Thin wiring of pipeline.jobs.sync, pipeline.sources and pipeline.warehouse.sync_state. Retries happen at
two levels: the client retries each request (timeouts, 5xx, 429, bad bodies; the same policy in or
out of Prefect), and a fetch-batch task is retried by Prefect when the batch as a whole fails (no
license token). A version that still fails is recorded and retried by the next sync.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from pipeline.jobs import ingest as ingest_job
from pipeline.jobs import sync as sync_job
from pipeline.jobs.ingest import DEFAULT_BATCH_SIZE
from pipeline.orchestration.ingest_flow import run_ingest
from pipeline.sources.coverage_api import ApiError, ApiSettings, CoverageApiClient
from pipeline.sources.records import ReportEntry
from pipeline.warehouse import connect, known_hashes, record_error, version_key_for_hash
from pipeline.warehouse.sync_state import loaded_versions, record_download, record_loaded, record_sync_failure


@task(name="fetch-report", cache_policy=NO_CACHE)
def report_task(client: CoverageApiClient) -> list[ReportEntry]:
    """Fetch the list of current LCD versions (every report page)."""
    return client.report()


@task(name="record-report-failure", cache_policy=NO_CACHE)
def report_failure_task(db: str, url: str, error_type: str, message: str) -> None:
    """Note in ingest_errors that the report list could not be fetched."""
    con = connect(db)
    try:
        record_error(con, url, error_type, f"LCD report: {message}")
    finally:
        con.close()


@task(name="plan-sync", cache_policy=NO_CACHE)
def plan_task(db: str, entries: list[ReportEntry], since: date | None) -> sync_job.SyncPlan:
    """Split the listed versions into those the warehouse has and those to fetch."""
    con = connect(db)
    try:
        return sync_job.plan_sync(entries, loaded_versions(con), since)
    finally:
        con.close()


@task(name="fetch-batch", cache_policy=NO_CACHE)
def fetch_task(client: CoverageApiClient, entries: list[ReportEntry], cache_dir: str, streak: int, breaker: int) -> sync_job.BatchResult:
    """Download a batch of LCD versions into the cache (per-version failures are returned, not raised)."""
    return sync_job.fetch_batch(client, entries, cache_dir, streak, breaker)


@task(name="record-fetch", cache_policy=NO_CACHE)
def record_fetch_task(db: str, fetched: list[sync_job.FetchedVersion], failed: list[sync_job.SyncFailure]) -> None:
    """Store sync state, revision history and reasons of the downloads; sync state and errors of the failures."""
    con = connect(db)
    try:
        for item in fetched:
            record_download(con, item.entry, item.source_url, item.path, item.sha256, item.revisions, item.reasons)
        for failure in failed:
            record_sync_failure(con, failure.entry, failure.source, failure.error_type, failure.message)
    finally:
        con.close()


@task(name="plan-ingest", cache_policy=NO_CACHE)
def ingest_plan_task(db: str, fetched: list[sync_job.FetchedVersion], cache_dir: str) -> ingest_job.Plan:
    """The ingestion plan of the downloaded records (bytes already in the warehouse are skipped)."""
    con = connect(db)
    try:
        return sync_job.ingest_plan(fetched, known_hashes(con), cache_dir)
    finally:
        con.close()


@task(name="mark-loaded", cache_policy=NO_CACHE)
def mark_loaded_task(db: str, fetched: list[sync_job.FetchedVersion], ingest_failures: list[ingest_job.Failure]) -> list[sync_job.SyncFailure]:
    """Mark each downloaded version loaded, or failed with the ingestion's reason; returns the failures."""
    failed_paths = {str(Path(f.source_path)): f for f in ingest_failures}
    failures: list[sync_job.SyncFailure] = []
    con = connect(db)
    try:
        for item in fetched:
            failure = failed_paths.get(str(Path(item.path)))
            key = None if failure else version_key_for_hash(con, item.sha256)
            if key is not None:
                record_loaded(con, item.entry, key)
                continue
            error_type, message = (failure.error_type, failure.message) if failure else ("not_loaded", "downloaded but not loaded")
            record_sync_failure(con, item.entry, item.source_url, error_type, message, downloaded=failure is not None)
            failures.append(sync_job.SyncFailure(item.entry, item.path, error_type, message))
    finally:
        con.close()
    return failures


@flow(name="lcd-sync")
def sync_flow(
    api: ApiSettings,
    db: str,
    since: date | None = None,
    plan: sync_job.SyncPlan | None = None,
    cache_dir: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    task_retries: int = 2,
    task_retry_delay_seconds: list[float] | None = None,
    breaker_threshold: int = sync_job.DEFAULT_BREAKER_THRESHOLD,
    report_format: str = "md",
) -> sync_job.SyncSummary:
    """Fetch the LCD versions the warehouse lacks from the Coverage API and ingest them.

    `plan` is the CLI's plan (it fetched the report before starting Prefect); without one the flow
    fetches the report itself (scheduled runs).
    """
    cache = cache_dir or str(sync_job.default_cache_dir(db))
    retrying = {"retries": task_retries, "retry_delay_seconds": task_retry_delay_seconds or [10, 60]}
    fetch = fetch_task.with_options(**retrying)
    summary = sync_job.SyncSummary()
    with CoverageApiClient(api) as client:
        if plan is None:
            try:
                entries = report_task.with_options(**retrying)(client)
            except ApiError as exc:
                report_failure_task(db, exc.url, f"api_{exc.kind}", str(exc))
                raise
            plan = plan_task(db, entries, since)
        summary.listed, summary.have = plan.listed, plan.have
        downloaded: list[sync_job.FetchedVersion] = []
        streak = 0
        pending = list(plan.fetch)
        for start in range(0, len(pending), max(1, batch_size)):
            batch = pending[start : start + batch_size]
            try:
                result = fetch(client, batch, cache, streak, breaker_threshold)
            except ApiError as exc:  # no license token even after the task's retries: nothing more can be fetched
                failed = sync_job.not_fetched(pending[start:], api.base_url, f"api_{exc.kind}", str(exc))
                record_fetch_task(db, [], failed)
                summary.failed += failed
                break
            record_fetch_task(db, list(result.fetched), list(result.failed))
            downloaded += result.fetched
            summary.failed += result.failed
            streak = result.consecutive_transport_failures
        summary.requests, summary.retries = client.stats.requests, client.stats.retries
    summary.fetched = len(downloaded)
    if not downloaded:
        return summary
    summary.ingest = run_ingest(ingest_plan_task(db, downloaded, cache), db, batch_size=batch_size, report_format=report_format)
    load_failures = mark_loaded_task(db, downloaded, summary.ingest.failed)
    summary.failed += load_failures
    summary.loaded = summary.fetched - len(load_failures)
    return summary
