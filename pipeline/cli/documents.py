"""`lcd extract`, `lcd diff` and `lcd report`: one document's extraction, one LCD's changes, the change report."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from pipeline.cli.common import DB_HELP, EXIT_FAILED, EXIT_OK, RAW, CliError, db_path, parse_date


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register `lcd extract`, `lcd diff` and `lcd report`."""
    p = sub.add_parser("extract", help="extract one document (no warehouse)", description="Extract indications, doses, thresholds and criteria from one document without touching the warehouse.\n\nExample: lcd extract raw_docs/L34648/31.json --json", formatter_class=RAW)
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", action="store_true", help="print the extraction as JSON")
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser("diff", help="policy changes between two versions", description="Show what policy changed between two versions of an LCD (default: the latest version against the one before).\n\nExample: lcd diff IVIG-OFFLABEL --from 1 --to 2", formatter_class=RAW)
    p.add_argument("lcd_id", metavar="LCD_ID")
    p.add_argument("--from", dest="from_version", metavar="V")
    p.add_argument("--to", dest="to_version", metavar="V")
    p.add_argument("--db", help=DB_HELP)
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("report", help="write the change report", description="Write a change report grouped by LCD, each change with its before and after sentences.\n\nExample: lcd report --since 2026-01-01 --format md --out changes.md", formatter_class=RAW)
    p.add_argument("--since", metavar="DATE", help="only versions effective (or loaded) on or after DATE (YYYY-MM-DD)")
    p.add_argument("--format", choices=("md", "html"), default="md")
    p.add_argument("--out", metavar="FILE", help="output file (default warehouse/reports/changes-<date>.<format>)")
    p.add_argument("--db", help=DB_HELP)
    p.set_defaults(func=cmd_report)


def cmd_extract(args: argparse.Namespace) -> int:
    """Extract one document and print its facts, without touching the warehouse."""
    from pipeline.extract import extract
    from pipeline.ingest import ReadError, read_document

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    try:
        document = read_document(path)
    except ReadError as exc:
        print(f"lcd extract: {path}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    extraction = extract(document)
    if args.json:
        payload = {
            "lcd_id": document.lcd_id,
            "version": document.version,
            "title": document.meta.title,
            "contractor": document.meta.contractor,
            "effective_date": document.meta.effective_date.isoformat() if document.meta.effective_date else None,
            "source_sha256": document.source_sha256,
            **{k: v for k, v in asdict(extraction).items()},
        }
        print(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        from pipeline.report.extraction import format_extraction

        print(format_extraction(document, extraction))
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    """Print the policy changes between two versions of an LCD (default: the last two)."""
    from pipeline.diff import diff_between
    from pipeline.report import format_changes_text
    from pipeline.warehouse import connect, version_key_of, versions_of

    con = connect(db_path(args.db))
    try:
        versions = versions_of(con, args.lcd_id)
        if not versions:
            raise CliError(f"LCD {args.lcd_id!r} is not in the warehouse")
        if len(versions) < 2 and not (args.from_version and args.to_version):
            raise CliError(f"LCD {args.lcd_id} has only one version ({versions[0].version}): nothing to compare")
        to_key = version_key_of(con, args.lcd_id, args.to_version) if args.to_version else versions[-1].version_key
        if to_key is None:
            raise CliError(f"LCD {args.lcd_id} has no version {args.to_version!r}")
        if args.from_version:
            from_key = version_key_of(con, args.lcd_id, args.from_version)
            if from_key is None:
                raise CliError(f"LCD {args.lcd_id} has no version {args.from_version!r}")
        else:
            keys = [v.version_key for v in versions]
            position = keys.index(to_key)
            if position == 0:
                raise CliError(f"version {args.to_version} is the first version of {args.lcd_id}: give --from")
            from_key = keys[position - 1]
        label = {v.version_key: v.version for v in versions}
        changes = diff_between(con, from_key, to_key)
        header = f"{args.lcd_id}: version {label[from_key]} -> {label[to_key]}"
        print(format_changes_text(changes, header=header))
    finally:
        con.close()
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    """Write the change report (Markdown or HTML) and print its path."""
    from pipeline.report import write_report
    from pipeline.warehouse import connect

    since = parse_date(args.since)
    con = connect(db_path(args.db))
    try:
        path = write_report(con, since=since, fmt=args.format, out=Path(args.out) if args.out else None)
    finally:
        con.close()
    print(f"change report: {path}")
    return EXIT_OK
