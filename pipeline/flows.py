"""Prefect flows: thin wiring of pipeline.runner, pipeline.warehouse, pipeline.diff and pipeline.report.

One task per batch of documents per stage (read, extract, load), then one diff task and one report
task: the orchestration cost stays per batch, not per document or sentence. The flow is the only
writer of the warehouse file during a run.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from pipeline import runner
from pipeline.diff import diff_version
from pipeline.model import Document, Extraction
from pipeline.report import write_report
from pipeline.warehouse import connect, load_version, record_error

DEFAULT_BATCH_SIZE = 25


@task(name="read-batch", cache_policy=NO_CACHE)
def read_task(batch: list[tuple[Path, str]], root: Path | None) -> tuple[list[Document], list[runner.Failure]]:
    """Read a batch of source files into Documents."""
    return runner.read_batch(batch, root)


@task(name="extract-batch", cache_policy=NO_CACHE)
def extract_task(documents: list[Document]) -> list[Extraction]:
    """Extract facts from a batch of Documents."""
    return runner.extract_batch(documents)


@task(name="load-batch", cache_policy=NO_CACHE)
def load_task(db: str, documents: list[Document], extractions: list[Extraction], failures: list[runner.Failure]) -> list[int]:
    """Load each version in its own transaction and record the batch's failures."""
    con = connect(db)
    try:
        keys = [load_version(con, d, e) for d, e in zip(documents, extractions)]
        for failure in failures:
            record_error(con, failure.source_path, failure.error_type, failure.message, failure.sha256)
        return keys
    finally:
        con.close()


@task(name="store-bundle-history", cache_policy=NO_CACHE)
def bundle_history_task(db: str, bundles: list[Path]) -> int:
    """Store the revision history and reasons for change of the MCD zips this run loaded."""
    con = connect(db)
    try:
        moment = datetime.now(timezone.utc).replace(tzinfo=None)
        return sum(runner.store_bundle_history(con, bundle, moment) for bundle in bundles)
    finally:
        con.close()


@task(name="diff-versions", cache_policy=NO_CACHE)
def diff_task(db: str, version_keys: list[int]) -> int:
    """Diff each new version against the one before it, then any pair a killed run loaded but never diffed."""
    from pipeline.diff.store import diff_pending

    con = connect(db)
    try:
        return sum(len(diff_version(con, key)) for key in version_keys) + diff_pending(con)
    finally:
        con.close()


@task(name="write-report", cache_policy=NO_CACHE)
def report_task(db: str, since: date | None, fmt: str, detected_since: datetime | None) -> str:
    """Write the change report and return its path."""
    con = connect(db)
    try:
        return str(write_report(con, since=since, fmt=fmt, detected_since=detected_since))
    finally:
        con.close()


@flow(name="lcd-ingest")
def ingest_flow(
    plan: runner.Plan,
    db: str,
    batch_size: int = DEFAULT_BATCH_SIZE,
    report_since: date | None = None,
    report_format: str = "md",
    progress: bool = False,
) -> runner.Summary:
    """discover -> read -> extract -> load -> diff -> report over a planned set of new files."""
    started = datetime.now(timezone.utc)
    summary = runner.Summary(skipped=len(plan.skipped), failed=list(plan.failures))
    if plan.failures:
        load_task(db, [], [], list(plan.failures))
    with runner.progress_bar(len(plan.new), enabled=progress) as advance:
        for batch in runner.batches(list(plan.new), batch_size):
            documents, failures = read_task(batch, plan.root)
            extractions = extract_task(documents) if documents else []
            keys = load_task(db, documents, extractions, failures)
            summary.add_batch(keys, documents, extractions, failures)
            advance(len(batch))
    bundles = runner.bundle_paths(plan)
    if bundles:
        bundle_history_task(db, bundles)
    summary.changes = diff_task(db, summary.version_keys)  # always: also repairs pairs a killed run left undiffed
    # The report covers the changes this run detected; `lcd report --since` gives any other window.
    summary.report_path = report_task(db, report_since, report_format, None if report_since else started)
    return summary
