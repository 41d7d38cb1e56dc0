"""`lcd serve`: a Prefect deployment that runs sync -> ingest -> report on a cron schedule.

The flow is thin: the Coverage API sync (pipeline/orchestration/sync_flow.py) and the ingestion of watched folders
(pipeline/orchestration/ingest_flow.py) as subflows; each writes its own change report when something new arrived.
Scheduling needs a real Prefect server (`prefect server start`) and PREFECT_API_URL pointing at it:
the temporary API Prefect starts on its own schedules nothing.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from prefect import flow

from pipeline.orchestration.lifetime import run_processes
from pipeline.orchestration.schedule import DEFAULT_CRON, DEFAULT_DEPLOYMENT  # noqa: F401  (re-exported)


@flow(name="lcd-scheduled-update")
def scheduled_update(db: str, api_url: str | None = None, watch: list[str] | None = None, report_format: str = "md") -> dict:
    """One scheduled run: new versions from the Coverage API, then new files in the watched folders."""
    from pipeline.warehouse.lock import lock_timeout, warehouse_lock

    # The same lock as `lcd ingest` / `lcd sync`: a scheduled run waits for a manual one, and back.
    # The run executes in a process `lcd serve` spawned; what it starts ends with it (run_processes).
    with run_processes(), warehouse_lock(db, lock_timeout(None)):
        return _update(db, api_url, watch, report_format)


def _update(db: str, api_url: str | None, watch: list[str] | None, report_format: str) -> dict:
    """The body of scheduled_update, run while holding the warehouse lock."""
    from pipeline.jobs.ingest import plan_run
    from pipeline.orchestration.ingest_flow import run_ingest
    from pipeline.orchestration.sync_flow import sync_flow
    from pipeline.sources.coverage_api import ApiSettings

    result: dict = {"started_at": datetime.now(timezone.utc).isoformat()}
    if api_url:
        summary = sync_flow(ApiSettings(base_url=api_url), db, report_format=report_format)
        result["sync"] = {"listed": summary.listed, "failed": len(summary.failed)}
    if watch:
        plan = plan_run(db, [Path(p) for p in watch])
        if plan.has_work:
            ingested = run_ingest(plan, db, report_format=report_format)
            result["ingest"] = {"new": ingested.new_versions, "failed": len(ingested.failed), "report": ingested.report_path}
        else:
            result["ingest"] = {"new": 0, "failed": 0, "report": None}
    return result


def serve(cron: str, db: str, api_url: str | None, watch: list[str], name: str = DEFAULT_DEPLOYMENT) -> None:
    """Serve the deployment until interrupted: Prefect creates runs on the schedule, this process runs them,
    each in a process of its own that (with anything it started) ends when this one ends (run_processes)."""
    with run_processes():
        scheduled_update.serve(
            name=name,
            cron=cron,
            parameters={"db": db, "api_url": api_url, "watch": watch},
            description="Sync new LCD versions from the CMS Coverage API, ingest watched folders, write the change report.",
            tags=["lcd"],
        )
