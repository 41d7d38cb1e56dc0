"""`lcd reextract`: re-run extraction over the versions in the warehouse after the extractor changed."""

from __future__ import annotations

import argparse
import sys

from pipeline.cli.common import DB_HELP, EXIT_OK, RAW, CliError, add_lock_option, check_batch_size, db_path, writes_warehouse
from pipeline.jobs.ingest import DEFAULT_BATCH_SIZE

DESCRIPTION = """\
Re-extract the loaded versions whose extractor_version is not the one the current pipeline reports
(or every version with --all) from the text and sections the warehouse keeps (the source files are not
read), replace their indications, doses, thresholds and criteria, and re-diff their LCDs. Sources,
hashes and version keys stay. Each batch commits on its own; a killed run is finished by running it again.

Example: lcd reextract
Example: lcd reextract --all --db /tmp/lcd.duckdb"""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register `lcd reextract`."""
    p = sub.add_parser("reextract", help="re-run extraction of loaded versions with the current extractor", description=DESCRIPTION, formatter_class=RAW)
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--all", dest="everything", action="store_true", help="re-extract every version, whatever its extractor_version (after `lcd train`)")
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help=f"versions per transaction (default {DEFAULT_BATCH_SIZE})")
    add_lock_option(p)
    p.set_defaults(func=cmd_reextract)


@writes_warehouse
def cmd_reextract(args: argparse.Namespace) -> int:
    """Re-extract stale (or all) versions in batches, then print the counts before and after."""
    from pipeline.jobs.reextract import reextract
    from pipeline.warehouse import connect

    check_batch_size(args.batch_size)
    db = db_path(args.db)
    if not db.is_file():
        raise CliError(f"no warehouse at {db}: run `lcd ingest` first")
    con = connect(db)
    try:
        summary = reextract(con, everything=args.everything, batch_size=args.batch_size, progress=_progress)
    finally:
        con.close()
    if not summary.versions:
        print(f"nothing to re-extract: {summary.loaded} version(s) already extracted by {summary.extractor_version}, warehouse {db}")
        return EXIT_OK
    print(summary.format(db))
    return EXIT_OK


def _progress(done: int, total: int) -> None:
    """One stderr line per committed batch: what a killed run had finished is in the log it leaves."""
    print(f"lcd reextract: {done}/{total} version(s) re-extracted and committed", file=sys.stderr, flush=True)
