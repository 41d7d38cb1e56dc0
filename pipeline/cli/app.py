"""The `lcd` command: one parser over the command groups, each a module of pipeline.cli.

Each subcommand parses its arguments and calls library functions; failures become a one-line reason on
stderr and a non-zero exit status. Prefect is imported (and its temporary server started) only by the
commands that run a flow, and only when there is work to do.
"""

from __future__ import annotations

import argparse
import sys

from pipeline.cli import analyst, documents, ingest, models, reextract, serve, sync
from pipeline.cli.common import EXIT_USAGE, CliError

COMMAND_GROUPS = (ingest, documents, reextract, models, sync, serve, analyst)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand, each with an example in its help."""
    parser = argparse.ArgumentParser(prog="lcd", description="Medicare LCD policy pipeline.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.add_parsers(sub)
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
