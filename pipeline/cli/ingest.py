"""`lcd ingest`: ingest files, folders and MCD download zips through the Prefect ingestion flow."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline.cli.common import DB_HELP, EXIT_OK, RAW, CliError, add_lock_option, check_batch_size, db_path, exit_with_failures, quiet_prefect, writes_warehouse
from pipeline.cli.progress import progress_bar
from pipeline.jobs.ingest import DEFAULT_BATCH_SIZE

DESCRIPTION = """\
Ingest LCD files and folders (default raw_docs/): load new versions, skip unchanged ones, diff each
new version against the previous one, write the change report.

Example: lcd ingest raw_docs/"""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register `lcd ingest`."""
    p = sub.add_parser("ingest", help="ingest LCD files into the warehouse", description=DESCRIPTION, formatter_class=RAW)
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders laid out as <LCD_ID>/<VERSION>.<ext>")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help=f"documents per Prefect task (default {DEFAULT_BATCH_SIZE})")
    p.add_argument("--workers", default="auto", metavar="N", help="extract on a local Dask cluster of N processes; 0: in this process; auto (default): every core when there are 100+ new documents, else 0")
    p.add_argument("--dask-address", metavar="tcp://HOST:PORT", help="extract on an existing Dask cluster (default: $LCD_DASK_ADDRESS); the warehouse is still written here")
    p.add_argument("--timings", action="store_true", help="print seconds and throughput per stage (read, extract, load, diff, report)")
    p.add_argument("--timings-json", metavar="FILE", help="also write the per-stage figures to FILE as JSON")
    p.add_argument("--report-format", choices=("md", "html"), default="md", help="change report format")
    p.add_argument("--prefect-logs", action="store_true", help="show Prefect's own log output")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_lock_option(p)
    p.set_defaults(func=cmd_ingest)


@writes_warehouse
def cmd_ingest(args: argparse.Namespace) -> int:
    """Ingest files and folders into the warehouse through the Prefect ingestion flow."""
    from pipeline.jobs.ingest import plan_run
    from pipeline.orchestration.cluster import ClusterError, normalize_address, plan_execution, resolve_workers
    from pipeline.paths import RAW_DOCS

    check_batch_size(args.batch_size)
    try:  # bad options fail before any work, even when there is nothing new
        resolve_workers(args.workers, 0)
        if args.dask_address:
            normalize_address(args.dask_address)
    except ClusterError as exc:
        raise CliError(str(exc)) from None
    db = db_path(args.db)
    plan = plan_run(db, [Path(p) for p in (args.paths or [RAW_DOCS])])
    if not plan.has_work:
        print(f"nothing new: {len(plan.skipped)} file(s) already loaded, warehouse {db}")
        return EXIT_OK
    quiet_prefect(args.prefect_logs)  # before prefect_dask imports Prefect and reads its settings
    try:
        execution = plan_execution(args.dask_address, args.workers, -(-len(plan.new) // args.batch_size))
    except ClusterError as exc:
        raise CliError(str(exc)) from None
    from pipeline.orchestration.ingest_flow import run_ingest
    from pipeline.orchestration.lifetime import run_processes

    # run_processes: the Prefect server and Dask processes this run starts end with it, even on kill -9.
    with run_processes(), progress_bar(len(plan.new), enabled=not args.no_progress and sys.stderr.isatty()) as advance:
        summary = run_ingest(
            plan,
            str(db),
            batch_size=args.batch_size,
            report_format=args.report_format,
            progress=advance,
            in_flight=execution.in_flight,
            task_runner=execution.task_runner,
        )
    print(summary.format(db))
    print(f"extraction ran in: {execution.description}")
    if args.timings:
        print(summary.format_stages())
    if args.timings_json:
        Path(args.timings_json).write_text(json.dumps(summary.stage_figures(execution.description, execution.processes), indent=2) + "\n")
    failures = [f"{failure.source_path}: {failure.message}" for failure in summary.failed]
    return exit_with_failures("ingest", failures, "document(s) failed (see ingest_errors)")
