"""Re-extraction: bring the facts of loaded versions up to the current extractor, from what the warehouse
keeps (no source file is read), then re-diff the pairs of versions whose facts changed.

Plain functions, no Prefect: the work is one process's read -> extract -> write loop over batches
whose input is already in the warehouse, with nothing to schedule, retry or distribute.
Each batch commits its new facts, the versions' extractor_version and the diffs touching them together,
so a killed run leaves only whole batches done, and the next run picks up the versions still stale.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import groupby

import duckdb

from pipeline.diff.store import rediff_neighbours
from pipeline.extract.extractor import extractor_version
from pipeline.extract.nlp import get_nlp
from pipeline.jobs.ingest import DEFAULT_BATCH_SIZE, extract_batch
from pipeline.warehouse.db import transaction
from pipeline.warehouse.load import drop_fact_references, replace_facts
from pipeline.warehouse.read import FACT_TABLES, stored_documents, table_counts, versions_to_extract


def extractor_version_of(nlp) -> str:
    """The extractor_version a spaCy pipeline's extractions carry: the trained NER with the rules, or the rules alone."""
    return extractor_version(trained="ner" in nlp.pipe_names)


def current_extractor_version() -> str:
    """The extractor_version of this process's pipeline (get_nlp: the trained one unless LCD_RULES_ONLY=1)."""
    return extractor_version_of(get_nlp())


@dataclass
class ReextractSummary:
    """What a re-extraction run did: versions re-extracted (of those loaded), and the warehouse's fact and
    policy-change counts before and after."""

    extractor_version: str
    loaded: int = 0
    versions: int = 0
    lcd_ids: list[str] = field(default_factory=list)
    before: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)

    def format(self, db: object) -> str:
        """The summary the CLI prints: versions, facts per kind and policy changes, before -> after."""
        facts = ", ".join(f"{table} {self.before[table]} -> {self.after[table]}" for table in FACT_TABLES)
        changes = f"{self.before['policy_changes']} -> {self.after['policy_changes']}"
        return (
            f"versions re-extracted: {self.versions} of {self.loaded} ({len(self.lcd_ids)} LCDs, extractor {self.extractor_version})\n"
            f"facts: {facts}\n"
            f"policy changes: {changes}\n"
            f"warehouse: {db}"
        )


def lcd_batches(versions: list[tuple[int, str]], size: int) -> Iterator[list[tuple[int, str]]]:
    """Batches of at most `size` (version_key, lcd_id), cut between LCDs where possible: the versions of
    one LCD re-extracted together are diffed against each other's new facts in the same commit."""
    batch: list[tuple[int, str]] = []
    for _lcd_id, group in groupby(versions, key=lambda row: row[1]):
        rows = list(group)
        if batch and len(batch) + len(rows) > size:
            yield batch
            batch = []
        while len(rows) > size:  # an LCD with more versions than a batch holds spans several
            yield rows[:size]
            rows = rows[size:]
        batch.extend(rows)
    if batch:
        yield batch


def reextract_batch(con: duckdb.DuckDBPyConnection, version_keys: list[int]) -> None:
    """Re-extract these versions from their stored text and sections, replace their facts and re-diff
    the pairs they belong to. One commit holds the new facts, extractor_version and diffs; only the
    deletion of the old doses, thresholds and criteria comes before it (see drop_fact_references)."""
    documents = stored_documents(con, version_keys)
    missing = [key for key in version_keys if key not in documents]
    if missing:  # every load stores a version's text with it: this is a damaged warehouse
        raise ValueError(f"version_key {missing[0]} has no stored text to re-extract")
    extractions = extract_batch([documents[key] for key in version_keys])
    drop_fact_references(con, version_keys)
    with transaction(con):
        replace_facts(con, list(zip(version_keys, extractions)))
        rediff_neighbours(con, version_keys)


def reextract(
    con: duckdb.DuckDBPyConnection,
    everything: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> ReextractSummary:
    """Re-extract every loaded version whose extractor_version is not the current one (all with
    `everything`), a batch per transaction; `progress(done, total)` is told after each commit."""
    summary = ReextractSummary(current_extractor_version())
    summary.before = table_counts(con)
    summary.loaded = table_counts(con, ("lcd_versions",))["lcd_versions"]
    stale = versions_to_extract(con, None if everything else summary.extractor_version)
    summary.lcd_ids = list(dict.fromkeys(lcd_id for _key, lcd_id in stale))
    for batch in lcd_batches(stale, batch_size):
        reextract_batch(con, [key for key, _lcd_id in batch])
        summary.versions += len(batch)
        if progress:
            progress(summary.versions, len(stale))
    summary.after = table_counts(con)
    return summary
