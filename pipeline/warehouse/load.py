"""Loading one extracted document version into the warehouse, atomically and in bulk."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import duckdb
import pyarrow as pa

from pipeline.datamodel import Document, Extraction
from pipeline.warehouse.db import as_utc_naive, insert_arrow, next_keys, transaction, utc_now

_TEXTS = pa.list_(pa.string())

LCD_VERSIONS = pa.schema(
    [
        ("version_key", pa.int32()),
        ("lcd_id", pa.string()),
        ("version", pa.string()),
        ("title", pa.string()),
        ("contractor", pa.string()),
        ("effective_date", pa.date32()),
        ("source_path", pa.string()),
        ("source_sha256", pa.string()),
        ("source_format", pa.string()),
        ("ingested_at", pa.timestamp("us")),
        ("document_type", pa.string()),
        ("original_effective_date", pa.date32()),
        ("extractor_version", pa.string()),
    ]
)
VERSION_TEXTS = pa.schema([("version_key", pa.int32()), ("text", pa.string())])
VERSION_SECTIONS = pa.schema(
    [
        ("version_key", pa.int32()),
        ("name", pa.string()),
        ("heading", pa.string()),
        ("kind", pa.string()),
        ("char_start", pa.int32()),
        ("char_end", pa.int32()),
    ]
)
INDICATIONS = pa.schema(
    [
        ("indication_key", pa.int32()),
        ("version_key", pa.int32()),
        ("name", pa.string()),
        ("normalized_name", pa.string()),
        ("coverage", pa.string()),
        ("icd10_codes", _TEXTS),
        ("section", pa.string()),
        ("sentence", pa.string()),
        ("char_start", pa.int32()),
        ("char_end", pa.int32()),
        ("confidence", pa.float64()),
        ("aliases", _TEXTS),
    ]
)
DOSES = pa.schema(
    [
        ("dose_key", pa.int32()),
        ("version_key", pa.int32()),
        ("indication_key", pa.int32()),
        ("drug", pa.string()),
        ("amount_low", pa.float64()),
        ("amount_high", pa.float64()),
        ("unit", pa.string()),
        ("frequency", pa.string()),
        ("phase", pa.string()),
        ("section", pa.string()),
        ("text", pa.string()),
        ("char_start", pa.int32()),
        ("char_end", pa.int32()),
        ("sentence", pa.string()),
    ]
)
THRESHOLDS = pa.schema(
    [
        ("threshold_key", pa.int32()),
        ("version_key", pa.int32()),
        ("indication_key", pa.int32()),
        ("measure", pa.string()),
        ("comparator", pa.string()),
        ("value", pa.float64()),
        ("value_high", pa.float64()),
        ("unit", pa.string()),
        ("polarity", pa.string()),
        ("section", pa.string()),
        ("text", pa.string()),
        ("char_start", pa.int32()),
        ("char_end", pa.int32()),
        ("sentence", pa.string()),
    ]
)
CRITERIA = pa.schema(
    [
        ("criterion_key", pa.int32()),
        ("version_key", pa.int32()),
        ("indication_key", pa.int32()),
        ("kind", pa.string()),
        ("text", pa.string()),
        ("section", pa.string()),
        ("char_start", pa.int32()),
        ("char_end", pa.int32()),
    ]
)

# Insert order: parents before the facts that reference them.
_TABLES = (
    ("lcd_versions", LCD_VERSIONS),
    ("version_texts", VERSION_TEXTS),
    ("version_sections", VERSION_SECTIONS),
    ("indications", INDICATIONS),
    ("doses", DOSES),
    ("thresholds", THRESHOLDS),
    ("criteria", CRITERIA),
)
_FACT_TABLES = _TABLES[3:]

# Versions are ordered by revision effective date when every version of the LCD has one; otherwise
# dates cannot order the undated versions, so the version number leads (numerically: "10" after "9")
# and dates only break ties. Re-issued bytes of the same version sort after the first copy
# (ingested_at), and version_key makes the order total.
_ORDER_VERSIONS = """
update lcd_versions
set version_order = ordered.version_order
from (
    with versions as (
        select
            version_key,
            effective_date,
            try_cast(version as double) as version_number,
            version,
            ingested_at,
            bool_and(effective_date is not null) over (partition by lcd_id) as all_dated,
            lcd_id
        from lcd_versions
        where lcd_id in (select unnest(?))
    )
    select
        version_key,
        row_number() over (
            partition by lcd_id
            order by
                case when all_dated then effective_date end,
                version_number nulls last,
                effective_date nulls last,
                version,
                ingested_at,
                version_key
        ) as version_order
    from versions
) as ordered
where lcd_versions.version_key = ordered.version_key
"""


def known_hashes(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The source_sha256 of every loaded version."""
    return {row[0] for row in con.execute("select source_sha256 from lcd_versions").fetchall()}


def version_key_for_hash(con: duckdb.DuckDBPyConnection, sha256: str) -> int | None:
    """The version_key loaded from these bytes, if any."""
    row = con.execute("select version_key from lcd_versions where source_sha256 = ?", [sha256]).fetchone()
    return row[0] if row else None


def is_loaded(con: duckdb.DuckDBPyConnection, sha256: str) -> bool:
    """Whether a version with these bytes is already in the warehouse."""
    return version_key_for_hash(con, sha256) is not None


def load_version(
    con: duckdb.DuckDBPyConnection,
    doc: Document,
    extraction: Extraction,
    ingested_at: datetime | None = None,
) -> int:
    """Load one document version and its facts in one transaction; returns its version_key.

    Bytes already loaded (same source_sha256) are not loaded again: the existing key is returned.
    """
    return load_versions(con, [(doc, extraction)], ingested_at)[0]


def load_versions(
    con: duckdb.DuckDBPyConnection,
    items: list[tuple[Document, Extraction]],
    ingested_at: datetime | None = None,
) -> list[int]:
    """Load a batch of versions and their facts in one transaction, one bulk insert per table; returns
    each item's version_key. Bytes already loaded, or earlier in the batch, keep their existing key."""
    if not items:
        return []
    moment = as_utc_naive(ingested_at) if ingested_at else utc_now()
    with transaction(con):
        known = _keys_for_hashes(con, [doc.source_sha256 for doc, _ in items])
        fresh: list[tuple[Document, Extraction]] = []
        seen = set(known)
        for doc, extraction in items:  # the first copy of some bytes in the batch is the one loaded
            if doc.source_sha256 not in seen:
                seen.add(doc.source_sha256)
                fresh.append((doc, extraction))
        keys = next_keys(con, "lcd_versions_seq", len(fresh))
        known.update((doc.source_sha256, key) for (doc, _), key in zip(fresh, keys))
        if fresh:
            tables = _batch_columns(con, list(zip(keys, fresh)), moment)
            for table, schema in _TABLES:
                insert_arrow(con, table, schema, tables[table])
            con.execute(_ORDER_VERSIONS, [sorted({doc.lcd_id for doc, _ in fresh})])
    return [known[doc.source_sha256] for doc, _ in items]


def _keys_for_hashes(con: duckdb.DuckDBPyConnection, hashes: list[str]) -> dict[str, int]:
    """The version_key already loaded for each of these hashes that is in the warehouse."""
    rows = con.execute(
        "select source_sha256, min(version_key) from lcd_versions where source_sha256 in (select unnest(?)) group by all",
        [hashes],
    ).fetchall()
    return dict(rows)


def _batch_columns(
    con: duckdb.DuckDBPyConnection, items: list[tuple[int, tuple[Document, Extraction]]], moment: datetime
) -> dict[str, dict[str, list]]:
    """Every table's columns for a batch of new versions, with fresh keys for every fact."""
    parts: dict[str, list[dict[str, list]]] = {table: [] for table, _ in _TABLES[:3]}
    for version_key, (doc, extraction) in items:
        parts["lcd_versions"].append(_version_columns(version_key, doc, extraction, moment))
        parts["version_texts"].append({"version_key": [version_key], "text": [doc.text]})
        parts["version_sections"].append(_section_columns(version_key, doc))
    out = {table: _concat(columns) for table, columns in parts.items()}
    return out | _fact_columns(con, [(version_key, extraction) for version_key, (_doc, extraction) in items])


def _fact_columns(con: duckdb.DuckDBPyConnection, items: list[tuple[int, Extraction]]) -> dict[str, dict[str, list]]:
    """The fact tables' columns for these versions' extractions, with fresh keys for every fact."""
    parts: dict[str, list[dict[str, list]]] = {table: [] for table, _ in _FACT_TABLES}
    for version_key, extraction in items:
        indication_keys = _indication_keys(con, extraction)
        parts["indications"].append(_indication_columns(version_key, extraction, indication_keys))
        parts["doses"].append(_dose_columns(version_key, extraction, indication_keys))
        parts["thresholds"].append(_threshold_columns(version_key, extraction, indication_keys))
        parts["criteria"].append(_criterion_columns(version_key, extraction, indication_keys))
    out = {table: _concat(columns) for table, columns in parts.items()}
    for table, key in (("doses", "dose_key"), ("thresholds", "threshold_key"), ("criteria", "criterion_key")):
        out[table][key] = next_keys(con, f"{table}_seq", len(out[table]["version_key"]))
    return out


def drop_fact_references(con: duckdb.DuckDBPyConnection, version_keys: list[int]) -> None:
    """Delete the doses, thresholds and criteria of these versions, in a transaction of their own.

    Step one of replacing facts: DuckDB refuses to delete an indication in the transaction that deleted
    the rows referring to it (its foreign-key limitation), so these go first. Their versions keep their
    old extractor_version until `replace_facts` commits, so a run killed in between redoes them."""
    with transaction(con):
        for table in ("criteria", "thresholds", "doses"):
            con.execute(f"delete from {table} where version_key in (select unnest(?))", [version_keys])


def replace_facts(con: duckdb.DuckDBPyConnection, items: list[tuple[int, Extraction]]) -> None:
    """Replace the facts of loaded versions by new extractions (fresh keys, one bulk insert per table) and
    record each one's extractor_version; the versions' rows, texts and sections stay. Runs inside the
    caller's transaction, after `drop_fact_references` of the same versions has committed."""
    keys = [version_key for version_key, _ in items]
    con.execute("delete from indications where version_key in (select unnest(?))", [keys])
    tables = _fact_columns(con, items)
    for table, schema in _FACT_TABLES:
        insert_arrow(con, table, schema, tables[table])
    by_version: dict[str | None, list[int]] = defaultdict(list)  # one update per extractor (usually one)
    for version_key, extraction in items:
        by_version[extraction.extractor_version or None].append(version_key)
    for version, version_keys in by_version.items():
        con.execute(
            "update lcd_versions set extractor_version = ? where version_key in (select unnest(?))", [version, version_keys]
        )


def _concat(parts: list[dict[str, list]]) -> dict[str, list]:
    """Column-wise concatenation of per-version column dicts."""
    out: dict[str, list] = {}
    for part in parts:
        for name, values in part.items():
            out.setdefault(name, []).extend(values)
    return out


def record_error(
    con: duckdb.DuckDBPyConnection,
    source_path: str,
    error_type: str,
    message: str,
    sha256: str | None = None,
) -> None:
    """Note that `source_path` could not be ingested, and why."""
    con.execute(
        """
        insert into ingest_errors (
            source_path,
            error_type,
            message,
            "at",
            source_sha256
        )
        values (?, ?, ?, ?, ?)
        """,
        [str(source_path), error_type, message, utc_now(), sha256],
    )


def _version_columns(version_key: int, doc: Document, extraction: Extraction, moment: datetime) -> dict[str, list]:
    """The lcd_versions row of `doc`; document metadata wins for title, contractor and dates."""
    meta = doc.meta
    return {
        "version_key": [version_key],
        "lcd_id": [doc.lcd_id],
        "version": [doc.version],
        "title": [meta.title],
        "contractor": [meta.contractor],
        "effective_date": [meta.effective_date],
        "source_path": [str(doc.source_path)],
        "source_sha256": [doc.source_sha256],
        "source_format": [doc.source_format],
        "ingested_at": [moment],
        "document_type": [meta.document_type],
        "original_effective_date": [meta.original_effective_date],
        "extractor_version": [extraction.extractor_version or None],
    }


def _section_columns(version_key: int, doc: Document) -> dict[str, list]:
    """The version_sections rows of `doc`."""
    sections = doc.sections
    return {
        "version_key": [version_key] * len(sections),
        "name": [s.name for s in sections],
        "heading": [s.heading for s in sections],
        "kind": [s.kind for s in sections],
        "char_start": [s.start for s in sections],
        "char_end": [s.end for s in sections],
    }


def _indication_keys(con: duckdb.DuckDBPyConnection, extraction: Extraction) -> dict[int, int]:
    """Warehouse indication_key for each Extraction-local indication id."""
    local_ids = [ind.local_id for ind in extraction.indications]
    if len(set(local_ids)) != len(local_ids):
        raise ValueError(f"duplicate indication local_id in extraction: {sorted(local_ids)}")
    return dict(zip(local_ids, next_keys(con, "indications_seq", len(local_ids))))


def _warehouse_key(indication_keys: dict[int, int], local_id: int | None) -> int | None:
    """The indication_key a fact refers to; an unknown local id is a broken extraction."""
    if local_id is None:
        return None
    if local_id not in indication_keys:
        raise ValueError(f"fact refers to unknown indication local_id {local_id}")
    return indication_keys[local_id]


def _indication_columns(version_key: int, extraction: Extraction, keys: dict[int, int]) -> dict[str, list]:
    """The indications rows of `extraction`."""
    items = extraction.indications
    return {
        "indication_key": [keys[i.local_id] for i in items],
        "version_key": [version_key] * len(items),
        "name": [i.name for i in items],
        "normalized_name": [i.normalized_name for i in items],
        "coverage": [i.coverage for i in items],
        "icd10_codes": [list(i.icd10_codes) for i in items],
        "section": [i.section for i in items],
        "sentence": [i.sentence for i in items],
        "char_start": [i.char_start for i in items],
        "char_end": [i.char_end for i in items],
        "confidence": [i.confidence for i in items],
        "aliases": [list(i.aliases) for i in items],
    }


def _dose_columns(version_key: int, extraction: Extraction, keys: dict[int, int]) -> dict[str, list]:
    """The doses rows of `extraction`."""
    items = extraction.doses
    return {
        "version_key": [version_key] * len(items),
        "indication_key": [_warehouse_key(keys, d.indication_id) for d in items],
        "drug": [d.drug for d in items],
        "amount_low": [d.amount_low for d in items],
        "amount_high": [d.amount_high for d in items],
        "unit": [d.unit for d in items],
        "frequency": [d.frequency for d in items],
        "phase": [d.phase for d in items],
        "section": [d.section for d in items],
        "text": [d.text for d in items],
        "char_start": [d.char_start for d in items],
        "char_end": [d.char_end for d in items],
        "sentence": [d.sentence or None for d in items],
    }


def _threshold_columns(version_key: int, extraction: Extraction, keys: dict[int, int]) -> dict[str, list]:
    """The thresholds rows of `extraction`."""
    items = extraction.thresholds
    return {
        "version_key": [version_key] * len(items),
        "indication_key": [_warehouse_key(keys, t.indication_id) for t in items],
        "measure": [t.measure for t in items],
        "comparator": [t.comparator for t in items],
        "value": [t.value for t in items],
        "value_high": [t.value_high for t in items],
        "unit": [t.unit for t in items],
        "polarity": [t.polarity for t in items],
        "section": [t.section for t in items],
        "text": [t.text for t in items],
        "char_start": [t.char_start for t in items],
        "char_end": [t.char_end for t in items],
        "sentence": [t.sentence or None for t in items],
    }


def _criterion_columns(version_key: int, extraction: Extraction, keys: dict[int, int]) -> dict[str, list]:
    """The criteria rows of `extraction`."""
    items = extraction.criteria
    return {
        "version_key": [version_key] * len(items),
        "indication_key": [_warehouse_key(keys, c.indication_id) for c in items],
        "kind": [c.kind for c in items],
        "text": [c.text for c in items],
        "section": [c.section for c in items],
        "char_start": [c.char_start for c in items],
        "char_end": [c.char_end for c in items],
    }
