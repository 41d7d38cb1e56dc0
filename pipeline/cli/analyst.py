"""`lcd query`, `lcd export` and `lcd compare`: the analysts' commands (parsers + thin commands).

Each opens the warehouse read-only and calls one library function (pipeline.analyst.query,
pipeline.analyst.comparison);
SQL errors and unknown LCDs become a one-line reason and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

import duckdb

from pipeline.cli.common import DB_HELP, EXIT_OK, RAW, CliError, db_path

QUERY_DESCRIPTION = """\
Run SQL on the warehouse, read-only, and print the result: a table for reading (long cells cut,
row count at the end), or all of it as CSV or JSON. The analyst views (current_policy,
policy_timeline, change_log, threshold_comparison, coverage_by_indication) and the tables are
described in warehouse/README.md; example questions are in warehouse/queries/.

SQL may also be the path of a .sql file, e.g. one of warehouse/queries/.

Example: lcd query "select lcd_id, indication, statement from current_policy where fact_type = 'threshold' and normalized_measure = 'igg'"
Example: lcd query warehouse/queries/changes_last_30_days.sql --format csv > changes.csv"""

EXPORT_DESCRIPTION = """\
Write every warehouse table and analyst view as one Parquet file each (DuckDB COPY), for BI tools,
and print what was written.

Example: lcd export --parquet exports/"""

COMPARE_DESCRIPTION = """\
Compare the policies of two LCDs (their latest versions unless --a-version/--b-version): indications
only in one or with different coverage, doses and thresholds that differ for the same indication and
measure, criteria only in one. Facts are aligned by meaning as in `lcd diff`, so wording and layout
differences between two MACs' documents do not show.

Example: lcd compare L40257 L40244"""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register `lcd query`, `lcd export` and `lcd compare` on the subcommand parser."""
    raw = RAW

    p = sub.add_parser("query", help="run read-only SQL and print the result", description=QUERY_DESCRIPTION, formatter_class=raw)
    p.add_argument("sql", metavar="SQL", help="SQL to run, or a .sql file (several statements: the last one's result is printed)")
    p.add_argument("--db", help=DB_HELP)
    p.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format (default table)")
    p.add_argument("--max-width", type=int, default=60, metavar="N", help="cut table cells at N characters (0: never; default 60)")
    p.add_argument("--max-rows", type=int, default=500, metavar="N", help="print at most N table rows (0: all; default 500)")
    p.set_defaults(func=cmd_query)

    p = sub.add_parser("export", help="write the warehouse tables and views as Parquet", description=EXPORT_DESCRIPTION, formatter_class=raw)
    p.add_argument("--parquet", required=True, metavar="DIR", help="folder to write <table>.parquet files into (created if missing)")
    p.add_argument("--db", help=DB_HELP)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("compare", help="policy differences between two LCDs", description=COMPARE_DESCRIPTION, formatter_class=raw)
    p.add_argument("lcd_a", metavar="LCD_A")
    p.add_argument("lcd_b", metavar="LCD_B")
    p.add_argument("--a-version", metavar="V", help="version of LCD_A (default: its latest)")
    p.add_argument("--b-version", metavar="V", help="version of LCD_B (default: its latest)")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.add_argument("--db", help=DB_HELP)
    p.set_defaults(func=cmd_compare)


def _open(db: str | None) -> duckdb.DuckDBPyConnection:
    from pipeline.analyst.query import open_read_only

    try:
        return open_read_only(db_path(db))
    except FileNotFoundError as exc:
        raise CliError(str(exc)) from None
    except duckdb.Error as exc:
        from pipeline.analyst.query import first_line

        raise CliError(f"cannot open the warehouse: {first_line(exc)}") from None


def cmd_query(args: argparse.Namespace) -> int:
    """Run read-only SQL and print its result."""
    from pipeline.analyst.query import first_line, print_result, run_query

    if args.max_width < 0 or args.max_rows < 0:
        raise CliError("--max-width and --max-rows must be >= 0")
    sql = args.sql
    if sql.rstrip().endswith(".sql") and Path(sql.strip()).is_file():
        sql = Path(sql.strip()).read_text(encoding="utf-8")
    con = _open(args.db)
    try:
        result = run_query(con, sql)
    except duckdb.Error as exc:
        raise CliError(first_line(exc)) from None
    finally:
        con.close()
    print_result(result, sys.stdout, args.format, max_width=args.max_width, max_rows=args.max_rows)
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    """Write every table and view as Parquet and list the files."""
    from pipeline.analyst.query import export_parquet, first_line

    con = _open(args.db)
    try:
        written = export_parquet(con, args.parquet)
    except (duckdb.Error, OSError) as exc:
        raise CliError(first_line(exc)) from None
    finally:
        con.close()
    for kind, name, path, rows in written:
        print(f"{kind:<5} {name:<24} {rows:>7} rows  {path}")
    print(f"wrote {len(written)} Parquet files to {args.parquet}")
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    """Print the policy differences between two LCDs."""
    from pipeline.analyst.comparison import compare_lcds, format_comparison

    con = _open(args.db)
    try:
        comparison = compare_lcds(con, args.lcd_a, args.lcd_b, args.a_version, args.b_version)
    except LookupError as exc:
        raise CliError(str(exc)) from None
    finally:
        con.close()
    if args.json:
        print(json.dumps({**asdict(comparison), "same_policy": comparison.same_policy}, indent=2, ensure_ascii=False))
    else:
        print(format_comparison(comparison), end="")
    return EXIT_OK
