"""`lcd serve`: run the scheduled update (sync -> ingest -> report) as a Prefect deployment."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pipeline import settings
from pipeline.cli.common import DB_HELP, RAW, CliError, db_path, quiet_prefect
from pipeline.orchestration.schedule import DEFAULT_CRON, DEFAULT_DEPLOYMENT

DESCRIPTION = f"""Serve a Prefect deployment that runs, on a cron schedule: lcd sync (when --api-url or
$LCD_API_URL is given), lcd ingest of the --watch folders, and the change report. The default schedule
is weekly ({DEFAULT_CRON!r}: Mondays 06:00 in the server's time zone); --cron changes it. The process
keeps running and executes the scheduled runs; stop it with Ctrl-C.

Scheduling needs a Prefect server: start one with `prefect server start` (UI on http://127.0.0.1:4200)
and set PREFECT_API_URL=http://127.0.0.1:4200/api for this command; Prefect's temporary local API
(used when PREFECT_API_URL is unset) schedules nothing, so `lcd serve` refuses to start without it.

Example: lcd serve --cron "0 6 * * 1" --api-url https://api.coverage.cms.gov --watch raw_docs"""


def cmd_serve(args: argparse.Namespace) -> int:
    """Validate the schedule and serve the deployment until interrupted."""
    from prefect.client.schemas.schedules import CronSchedule

    try:
        CronSchedule(cron=args.cron)
    except ValueError:
        raise CliError(f"--cron {args.cron!r} is not a cron expression (five fields, e.g. '0 6 * * 1')") from None
    if not os.environ.get("PREFECT_API_URL"):
        raise CliError("PREFECT_API_URL is not set: start `prefect server start` and point PREFECT_API_URL at it")
    api_url = args.api_url or settings.api_url()
    watch = [str(Path(p).resolve()) for p in args.watch]
    if not api_url and not watch:
        raise CliError("nothing to schedule: give --api-url (or $LCD_API_URL) and/or --watch FOLDER")
    quiet_prefect(args.prefect_logs)
    from pipeline.orchestration.serve import serve

    db = str(db_path(args.db).resolve())
    print(f"serving deployment {args.name!r} on cron {args.cron!r}: db {db}, api {api_url or '-'}, watch {watch or '-'}", file=sys.stderr)
    serve(args.cron, db, api_url, watch, name=args.name)
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register `lcd serve`."""
    p = sub.add_parser("serve", help="scheduled sync + ingest + report (Prefect deployment)", description=DESCRIPTION, formatter_class=RAW)
    p.add_argument("--cron", default=DEFAULT_CRON, help=f"cron schedule (default {DEFAULT_CRON!r}, weekly)")
    p.add_argument("--api-url", help="CMS Coverage API base URL to sync from (default $LCD_API_URL)")
    p.add_argument("--watch", action="append", default=[], metavar="FOLDER", help="folder to ingest on every run (repeatable)")
    p.add_argument("--name", default=DEFAULT_DEPLOYMENT, help=f"deployment name (default {DEFAULT_DEPLOYMENT})")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--prefect-logs", action="store_true", help="show Prefect's own log output")
    p.set_defaults(func=cmd_serve)
