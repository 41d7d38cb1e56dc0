"""The ingestion flow: Prefect wiring of pipeline.jobs.ingest, pipeline.warehouse, pipeline.diff and pipeline.report.

One task per batch of documents per stage (read, extract, load), then one diff task and one report
task: the orchestration cost stays per batch, not per document or sentence. The flow is the only
writer of the warehouse file during a run.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.utilities.annotations import quote

from pipeline.jobs import ingest as ingest_job
from pipeline.jobs.ingest import DEFAULT_BATCH_SIZE
from pipeline.datamodel import Document, Extraction
from pipeline.diff.store import diff_pending, diff_versions
from pipeline.report import write_report
from pipeline.warehouse import connect, load_versions, record_error
from pipeline.warehouse.sync_state import store_revision_history

_open: dict[str, duckdb.DuckDBPyConnection] = {}  # the flow run's connection per warehouse file


@contextmanager
def warehouse(db: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse connection of the running ingest flow (opened once per run: opening applies the schema
    and views, ~50 ms, which per batch added up to seconds), or a fresh one outside it."""
    if db in _open:
        yield _open[db]
        return
    con = connect(db)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def _run_connection(db: str) -> Iterator[None]:
    """Keep one connection open for the tasks of this flow run; closed when the run ends, however it ends."""
    _open[db] = connect(db)
    try:
        yield
    finally:
        _open.pop(db).close()


@task(name="process-batch", cache_policy=NO_CACHE)
def process_task(items: list[ingest_job.Source | Document]) -> ingest_job.BatchResult:
    """Parse and extract a batch of collected sources; runs wherever the flow's task runner puts it."""
    return ingest_job.process_batch(items)


@task(name="load-batch", cache_policy=NO_CACHE)
def load_task(db: str, documents: list[Document], extractions: list[Extraction], failures: list[ingest_job.Failure]) -> list[int]:
    """Load the batch's versions in one transaction and record the batch's failures."""
    with warehouse(db) as con:
        keys = load_versions(con, list(zip(documents, extractions)))
        for failure in failures:
            record_error(con, failure.source_path, failure.error_type, failure.message, failure.sha256)
        return keys


@task(name="store-bundle-history", cache_policy=NO_CACHE)
def bundle_history_task(db: str, bundles: list[Path]) -> int:
    """Store the revision history and reasons for change of the MCD zips this run loaded."""
    with warehouse(db) as con:
        moment = datetime.now(timezone.utc).replace(tzinfo=None)
        return sum(store_revision_history(con, ingest_job.bundle_revisions(bundle), "mcd_bundle", moment) for bundle in bundles)


@task(name="diff-versions", cache_policy=NO_CACHE)
def diff_task(db: str, version_keys: list[int]) -> int:
    """Diff each new version against the one before it, then any pair a killed run loaded but never diffed."""
    with warehouse(db) as con:
        return diff_versions(con, version_keys) + diff_pending(con)


@task(name="write-report", cache_policy=NO_CACHE)
def report_task(db: str, since: date | None, fmt: str, detected_since: datetime | None) -> str:
    """Write the change report and return its path."""
    with warehouse(db) as con:
        return str(write_report(con, since=since, fmt=fmt, detected_since=detected_since))


# Plans of runs in progress (with their progress callback), by the short reference the flow run gets as
# its parameter: Prefect refuses flow parameters over 512 KB, which a plan of ~5,000 files exceeds.
_PLANS: dict[str, tuple[ingest_job.Plan, Callable[[int], None] | None]] = {}


def run_ingest(
    plan: ingest_job.Plan,
    db: str,
    batch_size: int = DEFAULT_BATCH_SIZE,
    report_since: date | None = None,
    report_format: str = "md",
    progress: Callable[[int], None] | None = None,
    in_flight: int = 1,
    task_runner: Any = None,
) -> ingest_job.Summary:
    """Run the ingestion flow over a plan (as a subflow when called inside a flow); `task_runner` is where
    the parse+extract tasks run (None: threads of this process); `progress(n)` is told of every n files done."""
    root = f" under {plan.root}" if plan.root else ""
    ref = f"{len(plan.new)} new, {len(plan.skipped)} skipped, {len(plan.failures)} failed{root} [{uuid.uuid4().hex[:12]}]"
    _PLANS[ref] = (plan, progress)
    flow_ = ingest_flow if task_runner is None else ingest_flow.with_options(task_runner=task_runner)
    try:
        return flow_(ref, db, batch_size, report_since, report_format, in_flight)
    finally:
        _PLANS.pop(ref, None)


@flow(name="lcd-ingest")
def ingest_flow(
    plan: str,
    db: str,
    batch_size: int = DEFAULT_BATCH_SIZE,
    report_since: date | None = None,
    report_format: str = "md",
    in_flight: int = 1,
) -> ingest_job.Summary:
    """discover -> read -> extract -> load -> diff -> report over a planned set of new files (`plan`: the
    reference `run_ingest` registered; start runs with `run_ingest`).

    Batches are read here and submitted to the task runner (threads, or Dask workers), at most
    `in_flight` at a time so memory stays flat; results are loaded here, in submission order, while
    the next batches are being extracted: this process is the warehouse's only writer.
    """
    if plan not in _PLANS:
        raise ValueError(f"unknown ingest plan {plan!r}: start ingestion runs with pipeline.orchestration.ingest_flow.run_ingest")
    planned, progress = _PLANS[plan]
    with _run_connection(db):
        return _ingest(planned, db, batch_size, report_since, report_format, progress or (lambda n: None), in_flight)


def _ingest(
    plan: ingest_job.Plan,
    db: str,
    batch_size: int,
    report_since: date | None,
    report_format: str,
    advance: Callable[[int], None],
    in_flight: int,
) -> ingest_job.Summary:
    started = datetime.now(timezone.utc)
    clock = time.perf_counter()
    summary = ingest_job.Summary(skipped=len(plan.skipped), failed=list(plan.failures))
    if plan.failures:
        load_task(db, [], [], list(plan.failures))
    pending: deque[tuple[PrefectFuture, list[ingest_job.Failure], int, float]] = deque()

    def load(done: tuple[ingest_job.BatchResult, list[ingest_job.Failure], int, float]) -> None:
        result, collect_failures, size, collect_seconds = done
        failures = collect_failures + result.failures
        load_started = time.perf_counter()
        # quote(): Prefect would otherwise walk every fact of the batch looking for futures (~100 ms a batch).
        keys = load_task(db, quote(result.documents), quote(result.extractions), quote(failures))
        summary.stages["load"].add(ingest_job.StageStats(time.perf_counter() - load_started, len(result.documents)))
        result.read.seconds += collect_seconds
        summary.stages["read"].add(result.read)
        summary.stages["extract"].add(result.extract)
        summary.add_batch(keys, result.documents, result.extractions, failures)
        advance(size)

    def finished() -> tuple[ingest_job.BatchResult, list[ingest_job.Failure], int, float]:
        future, failures, size, collect_seconds = pending.popleft()
        return future.result(), failures, size, collect_seconds

    for batch in ingest_job.batches(list(plan.new), batch_size):
        collect_started = time.perf_counter()
        items, failures = ingest_job.collect_batch(batch, plan.root)
        collected = (failures, len(batch), time.perf_counter() - collect_started)
        if len(pending) < max(1, in_flight):
            pending.append((process_task.submit(items), *collected))
            continue
        # Wait for the oldest batch, hand its slot to this one, then load it while the others run.
        done = finished()
        pending.append((process_task.submit(items), *collected))
        load(done)
    while pending:
        load(finished())
    stage = time.perf_counter()
    bundles = ingest_job.bundle_paths(plan)
    if bundles:
        bundle_history_task(db, bundles)
    summary.changes = diff_task(db, summary.version_keys)  # always: also repairs pairs a killed run left undiffed
    summary.stages["diff"] = ingest_job.StageStats(time.perf_counter() - stage, len(summary.version_keys))
    stage = time.perf_counter()
    # The report covers the changes this run detected; `lcd report --since` gives any other window.
    summary.report_path = report_task(db, report_since, report_format, None if report_since else started)
    summary.stages["report"] = ingest_job.StageStats(time.perf_counter() - stage)
    summary.wall_seconds = time.perf_counter() - clock
    return summary
