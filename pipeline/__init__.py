"""LCD policy pipeline: ingest, extract, load, diff and report Medicare Local Coverage Determinations."""

__version__ = "0.1.0"
