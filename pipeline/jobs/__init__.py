"""Batch jobs the flows and the commands share, as plain functions (no Prefect): `ingest` plans and
processes batches of documents, `sync` plans and fetches Coverage API records."""
