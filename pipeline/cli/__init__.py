"""The `lcd` command line: `app` builds the parser over one module per command group (ingest,
documents, models, sync, serve, analyst), all sharing `common` (errors, exit codes, warehouse path,
dates, the warehouse lock)."""

from pipeline.cli.app import build_parser, main

__all__ = ["build_parser", "main"]
