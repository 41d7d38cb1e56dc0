"""`lcd sync`: fetch new LCD versions from the CMS Coverage API and ingest them (parser + command).

The report list is fetched first, without Prefect; when every listed version is already in the
warehouse the command says so and exits 0 without starting Prefect (the same rule as `lcd ingest`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import settings
from pipeline.cli.common import DB_HELP, EXIT_FAILED, EXIT_OK, RAW, CliError, add_lock_option, db_path, exit_with_failures, parse_date, quiet_prefect, writes_warehouse
from pipeline.jobs.ingest import DEFAULT_BATCH_SIZE
from pipeline.settings import API_URL_ENV
from pipeline.sources import DEFAULT_BASE_URL

if TYPE_CHECKING:
    from pipeline.sources.coverage_api import ApiSettings

DESCRIPTION = """\
Fetch the list of current LCDs from the CMS Coverage API, download the versions the warehouse does
not have yet (record, revision history, reasons for change) into a cache folder beside the warehouse
(warehouse/sources/<LCD_ID>/<VERSION>.json), and ingest them through the ingestion flow: extract,
load, diff, change report. Sync state lives in the warehouse (table sync_state): a second sync with
nothing new downloads only the report list, and a version that failed is tried again next time.

Every request is retried on timeouts, connection errors, 5xx, 429 (after Retry-After) and truncated
bodies with exponential backoff; a 401 fetches a new license token once.

Example: lcd sync --since 2026-01-01
Example: lcd sync --api-url http://127.0.0.1:8000 --db /tmp/lcd.duckdb"""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register `lcd sync` on the subcommand parser."""
    p = sub.add_parser("sync", help="fetch new LCD versions from the CMS Coverage API and ingest them", description=DESCRIPTION, formatter_class=RAW)
    p.add_argument("--api-url", metavar="URL", help=f"Coverage API base URL (default: ${API_URL_ENV} or {DEFAULT_BASE_URL})")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--since", metavar="DATE", help="only LCDs updated or effective on/after DATE (YYYY-MM-DD)")
    p.add_argument("--cache-dir", metavar="DIR", help="where downloaded records are kept (default: sources/ beside the warehouse file)")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S", help="seconds per request (default 30)")
    p.add_argument("--retries", type=int, default=5, metavar="N", help="tries per request, the first included (default 5)")
    p.add_argument("--backoff", type=float, default=1.0, metavar="S", help="seconds before the first retry, doubled each time (default 1)")
    p.add_argument("--min-interval", type=float, default=0.2, metavar="S", help="polite minimum seconds between requests (default 0.2)")
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help=f"versions per Prefect task (default {DEFAULT_BATCH_SIZE})")
    p.add_argument("--report-format", choices=("md", "html"), default="md", help="change report format")
    p.add_argument("--prefect-logs", action="store_true", help="show Prefect's own log output")
    add_lock_option(p)
    p.set_defaults(func=cmd_sync)


def _settings(args: argparse.Namespace) -> ApiSettings:
    """The client settings the arguments describe."""
    from pipeline.sources.coverage_api import ApiSettings, RetryPolicy

    if args.retries < 1 or args.timeout <= 0 or args.backoff < 0 or args.min_interval < 0:
        raise CliError("--retries must be >= 1, --timeout > 0, --backoff and --min-interval >= 0")
    return ApiSettings(
        base_url=args.api_url or settings.api_url() or DEFAULT_BASE_URL,
        timeout=args.timeout,
        min_interval=args.min_interval,
        retry=RetryPolicy(attempts=args.retries, backoff=args.backoff),
    )


def _finish_diffs(args: argparse.Namespace, db: Path, pairs: int) -> int:
    """Diff (and report) the version pairs an interrupted run loaded but never diffed."""
    from pipeline.jobs.ingest import Plan

    quiet_prefect(args.prefect_logs)
    from pipeline.orchestration.ingest_flow import run_ingest
    from pipeline.orchestration.lifetime import run_processes

    with run_processes():
        summary = run_ingest(Plan((), (), None, undiffed=pairs), str(db), report_format=args.report_format)
    print(f"diffed {pairs} version pair(s) an interrupted run left undiffed: {summary.changes} policy change(s)\nchange report: {summary.report_path}")
    return EXIT_OK


@writes_warehouse
def cmd_sync(args: argparse.Namespace) -> int:
    """Sync new LCD versions from the Coverage API into the warehouse."""
    from pipeline.jobs.ingest import undiffed_pairs
    from pipeline.jobs.sync import default_cache_dir, plan_sync
    from pipeline.sources.coverage_api import ApiError, CoverageApiClient
    from pipeline.warehouse import connect, record_error
    from pipeline.warehouse.sync_state import loaded_versions

    since = parse_date(args.since)
    settings = _settings(args)
    db = db_path(args.db)
    cache_dir = Path(args.cache_dir) if args.cache_dir else default_cache_dir(db)
    try:
        with CoverageApiClient(settings) as client:
            entries = client.report()
    except ApiError as exc:
        con = connect(db)
        try:
            record_error(con, exc.url, f"api_{exc.kind}", f"LCD report: {exc}")
        finally:
            con.close()
        print(f"lcd sync: cannot fetch the LCD report: {exc}", file=sys.stderr)
        return EXIT_FAILED
    con = connect(db)
    try:
        plan = plan_sync(entries, loaded_versions(con), since)
        undiffed = undiffed_pairs(con)
    finally:
        con.close()
    scope = f", {plan.older_than_since} older than {since.isoformat()}" if since else ""
    if not plan.fetch:
        print(f"nothing new: {plan.listed} LCD version(s) listed, {plan.have} already in the warehouse{scope}; warehouse {db}")
        if undiffed:
            return _finish_diffs(args, db, undiffed)
        return EXIT_OK
    print(f"report: {plan.listed} LCD version(s) listed, {plan.have} already in the warehouse{scope}, {len(plan.fetch)} to fetch")
    quiet_prefect(args.prefect_logs)
    from pipeline.orchestration.lifetime import run_processes
    from pipeline.orchestration.sync_flow import sync_flow

    with run_processes():  # the Prefect server this run starts ends with it, even on kill -9
        summary = sync_flow(
            settings,
            str(db),
            since=since,
            plan=plan,
            cache_dir=str(cache_dir),
            batch_size=args.batch_size,
            report_format=args.report_format,
        )
    print(f"downloaded: {summary.fetched} of {len(plan.fetch)} ({summary.requests} requests, {summary.retries} retries) into {cache_dir}")
    ingest = summary.ingest
    if ingest is not None:
        print(ingest.format(db))
    failures = [f"{f.entry.lcd_id} version {f.entry.version}: {f.message}" for f in summary.failed]
    return exit_with_failures("sync", failures, "LCD version(s) failed (see sync_state and ingest_errors; the next sync retries them)")
