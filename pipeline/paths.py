"""Where the project's files are: the repository the package runs from, its models, shipped documents,
warehouse and reports. Every other module takes its paths from here."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
RAW_DOCS = REPO_ROOT / "raw_docs"
MODELS_DIR = REPO_ROOT / "models"
WAREHOUSE_DIR = REPO_ROOT / "warehouse"
REPORTS_DIR = WAREHOUSE_DIR / "reports"
