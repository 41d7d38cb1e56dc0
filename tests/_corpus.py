"""A warehouse built from real shipped documents by the job functions the ingest flow runs, in the flow's
order (pipeline/orchestration/ingest_flow.py `_ingest`), without Prefect."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from pipeline.diff.store import diff_pending, diff_versions
from pipeline.jobs.ingest import DEFAULT_BATCH_SIZE, batches, bundle_paths, bundle_revisions, collect_batch, plan_ingest, process_batch
from pipeline.warehouse import connect, known_hashes, load_versions
from pipeline.warehouse.sync_state import store_revision_history
from tests.conftest import RAW_DOCS


def build_warehouse(db_path: Path, lcd_ids: Sequence[str] = (), root: Path = RAW_DOCS) -> duckdb.DuckDBPyConnection:
    """Plan, collect, parse + extract, load and diff `root`'s documents (only `lcd_ids`' folders when given,
    their `<LCD_ID>/<VERSION>` paths read against `root`); returns the open connection."""
    con = connect(db_path)
    paths = [root / lcd_id for lcd_id in lcd_ids] or [root]
    plan = plan_ingest(paths, known_hashes(con))
    assert not plan.failures, plan.failures
    keys: list[int] = []
    for batch in batches(list(plan.new), DEFAULT_BATCH_SIZE):
        items, failures = collect_batch(batch, root)
        result = process_batch(items)
        assert not failures and not result.failures, (failures, result.failures)
        keys.extend(load_versions(con, list(zip(result.documents, result.extractions))))
    moment = datetime.now(timezone.utc).replace(tzinfo=None)
    for bundle in bundle_paths(plan):
        store_revision_history(con, bundle_revisions(bundle), "mcd_bundle", moment)
    diff_versions(con, list(dict.fromkeys(keys)))
    diff_pending(con)
    return con
