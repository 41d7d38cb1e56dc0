"""The DuckDB warehouse: schema, atomic bulk loading, and reading versions back in order."""

from pipeline.warehouse.db import (
    SCHEMA_PATH,
    apply_schema,
    connect,
    default_db_path,
    transaction,
)
from pipeline.warehouse.load import (
    is_loaded,
    known_hashes,
    load_version,
    load_versions,
    record_error,
    version_key_for_hash,
)
from pipeline.warehouse.read import (
    VersionRow,
    next_version_key,
    previous_version_key,
    version_key_of,
    version_row,
    versions_of,
)

__all__ = [
    "SCHEMA_PATH",
    "VersionRow",
    "apply_schema",
    "connect",
    "default_db_path",
    "is_loaded",
    "known_hashes",
    "load_version",
    "load_versions",
    "next_version_key",
    "previous_version_key",
    "record_error",
    "transaction",
    "version_key_for_hash",
    "version_key_of",
    "version_row",
    "versions_of",
]
