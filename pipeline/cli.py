"""The `lcd` command: each subcommand parses its arguments and calls one library function.

Failures become a one-line reason on stderr and a non-zero exit status; Prefect is imported (and its
temporary server started) only by commands that run a flow, and only when there is work to do.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from datetime import date
from pathlib import Path

from pipeline.cli_lock import add_lock_option, writes_warehouse
from pipeline.warehouse.db import REPO_ROOT

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """A user-facing failure: printed as one line, exit status 2."""


def _db_path(value: str | None) -> Path:
    from pipeline.warehouse import default_db_path

    return Path(value) if value else default_db_path()


def _quiet_prefect(show_logs: bool) -> None:
    """Keep Prefect's own logging and server chatter out of the CLI output unless asked for."""
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if not show_logs:
        os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
        os.environ.setdefault("PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_RUNS_LEVEL", "WARNING")
        os.environ.setdefault("PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL", "WARNING")


@writes_warehouse
def cmd_ingest(args: argparse.Namespace) -> int:
    """Ingest files and folders into the warehouse through the Prefect ingestion flow."""
    from pipeline.cluster import ClusterError, normalize_address, plan_execution, resolve_workers
    from pipeline.diff.store import pending_pairs
    from pipeline.runner import plan_ingest
    from pipeline.warehouse import connect, known_hashes

    if args.batch_size < 1:
        raise CliError(f"--batch-size must be 1 or more, got {args.batch_size}")
    try:  # bad options fail before any work, even when there is nothing new
        resolve_workers(args.workers, 0)
        if args.dask_address:
            normalize_address(args.dask_address)
    except ClusterError as exc:
        raise CliError(str(exc)) from None
    db = _db_path(args.db)
    paths = [Path(p) for p in (args.paths or [REPO_ROOT / "raw_docs"])]
    con = connect(db)
    try:
        plan = plan_ingest(paths, known_hashes(con))
        undiffed = pending_pairs(con)  # versions a killed run loaded but never diffed
    finally:
        con.close()
    if not plan.new and not plan.failures and not undiffed:
        print(f"nothing new: {len(plan.skipped)} file(s) already loaded, warehouse {db}")
        return EXIT_OK
    _quiet_prefect(args.prefect_logs)  # before prefect_dask imports Prefect and reads its settings
    try:
        execution = plan_execution(args.dask_address, args.workers, -(-len(plan.new) // args.batch_size))
    except ClusterError as exc:
        raise CliError(str(exc)) from None
    from pipeline.flows import run_ingest

    summary = run_ingest(
        plan,
        str(db),
        batch_size=args.batch_size,
        report_format=args.report_format,
        progress=not args.no_progress and sys.stderr.isatty(),
        in_flight=execution.in_flight,
        task_runner=execution.task_runner,
    )
    print(summary.format(db))
    print(f"extraction ran in: {execution.description}")
    if args.timings:
        print(summary.format_stages())
    if args.timings_json:
        Path(args.timings_json).write_text(json.dumps(summary.stage_figures(execution.description, execution.processes), indent=2) + "\n")
    for failure in summary.failed:
        print(f"failed: {failure.source_path}: {failure.message}", file=sys.stderr)
    if summary.failed:
        print(f"lcd ingest: {len(summary.failed)} document(s) failed (see ingest_errors)", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


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

    con = connect(_db_path(args.db))
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

    since = None
    if args.since:
        try:
            since = date.fromisoformat(args.since)
        except ValueError:
            raise CliError(f"--since must be a date like 2024-01-31, got {args.since!r}") from None
    con = connect(_db_path(args.db))
    try:
        path = write_report(con, since=since, fmt=args.format, out=Path(args.out) if args.out else None)
    finally:
        con.close()
    print(f"change report: {path}")
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Score the extractor on the held-out gold documents and the train/dev expectations."""
    from pipeline.extract import EXTRACTOR_VERSION, NER_EXTRACTOR_VERSION, extract
    from pipeline.extract.nlp import build_nlp, get_nlp
    from pipeline.quality import evaluate, format_report

    if args.rules_only:
        nlp, name = build_nlp(), EXTRACTOR_VERSION
        result = evaluate(lambda d: extract(d, nlp=nlp, coverage_model=None), name)
    else:
        nlp = get_nlp()
        name = NER_EXTRACTOR_VERSION if "ner" in nlp.pipe_names else EXTRACTOR_VERSION
        result = evaluate(lambda d: extract(d, nlp=nlp), name)
    print(format_report(result))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(f"metrics: {out}")
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    """Retrain the NER and the coverage classifier from models/annotations and write models/metrics/."""
    from pipeline.training.workflow import train_all

    summary = train_all(ner_overrides={"training.max_steps": args.max_steps} if args.max_steps else None)
    print(json.dumps(summary, indent=2, sort_keys=True))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand, each with an example in its help."""
    parser = argparse.ArgumentParser(prog="lcd", description="Medicare LCD policy pipeline.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    db_help = "DuckDB file (default: $LCD_DB or warehouse/lcd.duckdb)"

    p = sub.add_parser("ingest", help="ingest LCD files into the warehouse", description="Ingest LCD files and folders (default raw_docs/): load new versions, skip unchanged ones, diff each new version against the previous one, write the change report.\n\nExample: lcd ingest raw_docs/", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders laid out as <LCD_ID>/<VERSION>.<ext>")
    p.add_argument("--db", help=db_help)
    p.add_argument("--batch-size", type=int, default=25, help="documents per Prefect task (default 25)")
    p.add_argument("--workers", default="auto", metavar="N", help="extract on a local Dask cluster of N processes; 0: in this process; auto (default): every core when there are 100+ new documents, else 0")
    p.add_argument("--dask-address", metavar="tcp://HOST:PORT", help="extract on an existing Dask cluster (default: $LCD_DASK_ADDRESS); the warehouse is still written here")
    p.add_argument("--timings", action="store_true", help="print seconds and throughput per stage (read, extract, load, diff, report)")
    p.add_argument("--timings-json", metavar="FILE", help="also write the per-stage figures to FILE as JSON")
    p.add_argument("--report-format", choices=("md", "html"), default="md", help="change report format")
    p.add_argument("--prefect-logs", action="store_true", help="show Prefect's own log output")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_lock_option(p)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("extract", help="extract one document (no warehouse)", description="Extract indications, doses, thresholds and criteria from one document without touching the warehouse.\n\nExample: lcd extract raw_docs/L34648/31.json --json", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", action="store_true", help="print the extraction as JSON")
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser("diff", help="policy changes between two versions", description="Show what policy changed between two versions of an LCD (default: the latest version against the one before).\n\nExample: lcd diff IVIG-OFFLABEL --from 1 --to 2", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("lcd_id", metavar="LCD_ID")
    p.add_argument("--from", dest="from_version", metavar="V")
    p.add_argument("--to", dest="to_version", metavar="V")
    p.add_argument("--db", help=db_help)
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("report", help="write the change report", description="Write a change report grouped by LCD, each change with its before and after sentences.\n\nExample: lcd report --since 2026-01-01 --format md --out changes.md", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--since", metavar="DATE", help="only versions effective (or loaded) on or after DATE (YYYY-MM-DD)")
    p.add_argument("--format", choices=("md", "html"), default="md")
    p.add_argument("--out", metavar="FILE", help="output file (default warehouse/reports/changes-<date>.<format>)")
    p.add_argument("--db", help=db_help)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("evaluate", help="measure extraction quality", description="Score the extractor on the held-out test documents (models/gold, split in models/splits.json) and on the hand-checked train/dev expectations.\n\nExample: lcd evaluate --out models/metrics/rules.json", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", metavar="FILE", help="also write every figure as JSON")
    p.add_argument("--rules-only", action="store_true", help="score the rules without the trained NER and classifier")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("train", help="retrain the models and write their metrics", description="Retrain from models/: corpus (models/annotations) -> spaCy NER (models/ner/config.cfg) -> assembled pipeline (models/lcd_pipeline) -> coverage classifier (models/coverage/model.json) -> metrics on the held-out test documents (models/metrics/).\n\nExample: lcd train", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--max-steps", type=int, default=None, help="override the NER step budget (for quick trials)")
    p.set_defaults(func=cmd_train)

    from pipeline import cli_sync  # `lcd sync` lives in its own module; imported here to avoid a cycle

    cli_sync.add_parser(sub, db_help)

    from pipeline import cli_serve  # `lcd serve`

    cli_serve.add_parser(sub, db_help)

    from pipeline import cli_analyst  # `lcd query`, `lcd export`, `lcd compare`

    cli_analyst.add_parsers(sub, db_help)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `lcd` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CliError as exc:
        print(f"lcd {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"lcd {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
