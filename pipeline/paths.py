"""Where the project's files are. Every other module takes its paths from here.

Three kinds of location:

* Shipped with the package, found through the package itself (`importlib.resources`), so they are the
  same files in a checkout, an editable install and a wheel installed anywhere: the warehouse schema and
  views, the rule data (`pipeline/*/data/*.json`, `pipeline/quality/expectations/`) and the runtime model
  artifacts (trained spaCy pipeline, coverage classifier, ICD-10 linker settings and synonyms).
  The canonical schema and models stay where the layout puts them (`warehouse/`, `models/`):
  `pipeline/bundled/` holds two relative symlinks, `warehouse -> ../../warehouse` and
  `models -> ../../models`, and pyproject.toml's package-data lists the files under them that go into a
  wheel (where they become plain files). In a checkout the symlinks resolve to the repo's own files.
* The checkout (`REPO_ROOT`): the repository the package runs from when it is installed editable (its
  folder holds pyproject.toml and warehouse/schema.sql); None when the package is installed elsewhere.
  Training data (gold, splits, annotations, NER config) and metrics exist only in a checkout.
* Run-time inputs and outputs (`raw_docs/`, the warehouse file, reports): under the checkout; when the
  package is not in a checkout, under the current folder (`./raw_docs`, `./warehouse/lcd.duckdb`,
  `./warehouse/reports`), resolved when they are used. $LCD_DB and $LCD_REPORTS_DIR override them
  (pipeline/settings.py).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

PACKAGE_DIR = Path(str(resources.files("pipeline")))
BUNDLED_DIR = PACKAGE_DIR / "bundled"


def _shipped(*parts: str) -> Path:
    """A file shipped with the package (through pipeline/bundled/), symlinks resolved."""
    return BUNDLED_DIR.joinpath(*parts).resolve()


def _checkout() -> Path | None:
    """The repository the package runs from, or None for a package installed outside one."""
    root = PACKAGE_DIR.parent
    return root if (root / "pyproject.toml").is_file() and (root / "warehouse" / "schema.sql").is_file() else None


# --- shipped with the package -------------------------------------------------------------------------
SCHEMA_PATH = _shipped("warehouse", "schema.sql")
VIEWS_DIR = _shipped("warehouse", "views")
MODELS_DIR = _shipped("models")  # in a checkout: <repo>/models, everything; installed: the runtime artifacts only
TRAINED_PIPELINE = MODELS_DIR / "lcd_pipeline"
COVERAGE_MODEL = MODELS_DIR / "coverage" / "model.json"
ROLE_MODEL = MODELS_DIR / "roles" / "model.json"
ICD10_DIR = MODELS_DIR / "icd10"
EXTRACT_DATA_DIR = PACKAGE_DIR / "extract" / "data"
INGEST_DATA_DIR = PACKAGE_DIR / "ingest" / "data"
EXPECTATIONS_DIR = PACKAGE_DIR / "quality" / "expectations"
QUALITY_DATA_DIR = PACKAGE_DIR / "quality" / "data"

# --- training data and metrics (a checkout only) ------------------------------------------------------
GOLD_DIR = MODELS_DIR / "gold"
SPLITS_PATH = MODELS_DIR / "splits.json"
ANNOTATIONS_DIR = MODELS_DIR / "annotations"
NER_DIR = MODELS_DIR / "ner"
METRICS_DIR = MODELS_DIR / "metrics"

# --- the checkout, or the current folder --------------------------------------------------------------
REPO_ROOT = _checkout()
ROOT = REPO_ROOT if REPO_ROOT is not None else Path()  # Path(): relative, so the current folder at use
RAW_DOCS = ROOT / "raw_docs"
WAREHOUSE_DIR = ROOT / "warehouse"
DEFAULT_DB = WAREHOUSE_DIR / "lcd.duckdb"
REPORTS_DIR = WAREHOUSE_DIR / "reports"
