"""A warehouse built from real shipped documents through the library steps the flow runs (no Prefect)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

from pipeline.diff import diff_version
from pipeline.jobs.ingest import extract_batch, plan_ingest, read_batch
from pipeline.warehouse import connect, load_version
from tests.conftest import RAW_DOCS


def build_warehouse(db_path: Path, lcd_ids: Sequence[str] = (), root: Path = RAW_DOCS) -> duckdb.DuckDBPyConnection:
    """Read, extract, load and diff `root`'s documents (only `lcd_ids`' folders when given); returns the connection."""
    con = connect(db_path)
    paths = [root / lcd_id for lcd_id in lcd_ids] or [root]
    plan = plan_ingest(paths, known_hashes=set())
    documents, failures = read_batch(list(plan.new), root)
    assert not plan.failures and not failures, (plan.failures, failures)
    keys = [load_version(con, d, e) for d, e in zip(documents, extract_batch(documents))]
    for key in keys:
        diff_version(con, key)
    return con
