"""A built wheel carries everything the pipeline reads at run time, and pipeline.paths finds it there.

The wheel is built the way a user's `pip install .` builds it (sdist, then wheel from the sdist, with
build isolation) and unpacked into a temporary folder outside the repo: installing a pure-Python wheel is
unpacking it. A subprocess imports `pipeline` from there (asserted) with the test venv's dependencies.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

# Every file the running pipeline reads, as the repo has it: (repo path, path inside the wheel).
RUNTIME_FILES = [
    *[(p, f"pipeline/bundled/warehouse/{p.relative_to(REPO / 'warehouse').as_posix()}") for p in [REPO / "warehouse" / "schema.sql", *sorted((REPO / "warehouse" / "views").glob("*.sql"))]],
    *[(p, f"pipeline/{p.relative_to(REPO / 'pipeline').as_posix()}") for p in sorted((REPO / "pipeline").glob("*/data/*.json"))],
    *[(p, f"pipeline/bundled/models/{p.relative_to(REPO / 'models').as_posix()}") for p in sorted((REPO / "models" / "lcd_pipeline").rglob("*")) if p.is_file()],
    *[(REPO / "models" / rel, f"pipeline/bundled/models/{rel}") for rel in ("coverage/model.json", "roles/model.json", "icd10/linker.json", "icd10/synonyms.json", "icd10/corpus.json")],
]

CHECK_INSTALLED = r"""
import json, sys
from importlib import resources
from pathlib import Path

import pipeline
from pipeline import paths
from pipeline.extract.coverage_model import load_model
from pipeline.extract.lexicon import load_lexicon
from pipeline.extract.nlp import get_nlp
from pipeline.warehouse.db import connect, view_names

package = Path(str(resources.files("pipeline")))
shipped = [paths.SCHEMA_PATH, paths.VIEWS_DIR, paths.TRAINED_PIPELINE, paths.COVERAGE_MODEL, paths.ICD10_DIR / "linker.json", paths.EXTRACT_DATA_DIR / "units.json", paths.INGEST_DATA_DIR / "headings.json"]
con = connect(":memory:")
print(json.dumps({
    "package": pipeline.__file__,
    "repo_root": None if paths.REPO_ROOT is None else str(paths.REPO_ROOT),
    "default_db": str(paths.DEFAULT_DB),
    "inside_package": all(p.is_relative_to(package) and p.exists() for p in shipped),
    "views": view_names(),
    "tables": len(con.sql("select * from duckdb_tables()").fetchall()),
    "pipes": get_nlp().pipe_names,
    "coverage_model": load_model() is not None,
    "lexicon": load_lexicon() is not None,
}))
"""


def _uv() -> str | None:
    """uv beside the test interpreter (the Makefile installs it into .venv), else on PATH."""
    beside = Path(sys.executable).parent / "uv"
    return str(beside) if beside.is_file() else shutil.which("uv")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from an sdist of the repo, as `pip install .` or `uv build` would."""
    out = tmp_path_factory.mktemp("dist")
    uv = _uv()
    if uv:
        command = [uv, "build", "--quiet", "--out-dir", str(out), str(REPO)]
    else:
        command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(REPO)]
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=300)
    (built,) = out.glob("*.whl")
    return built


def test_wheel_carries_schema_views_rule_data_and_models(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        missing = [inside for _, inside in RUNTIME_FILES if inside not in names]
        assert not missing, f"not in the wheel: {missing}"
        different = [inside for repo_file, inside in RUNTIME_FILES if archive.read(inside) != repo_file.read_bytes()]
        assert not different, f"differs from the repo: {different}"
    assert len([n for n in names if n.startswith("pipeline/bundled/warehouse/views/") and n.endswith(".sql")]) >= 5
    assert "pipeline/bundled/models/lcd_pipeline/config.cfg" in names
    # run-time state and training data stay out
    assert not [n for n in names if n.endswith((".duckdb", ".wal", ".jsonl")) or "/annotations/" in n or "/gold/" in n or "/reports/" in n]


def test_installed_package_finds_its_files_through_importlib_resources(wheel, tmp_path):
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "LCD_RULES_ONLY": "0", "LCD_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("LCD_DB", None)
    result = subprocess.run([sys.executable, "-c", CHECK_INSTALLED], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(found["package"]).is_relative_to(site), found["package"]
    assert found["repo_root"] is None  # not a checkout: run-time files go under the current folder
    assert Path(found["default_db"]) == Path("warehouse") / "lcd.duckdb"
    assert found["inside_package"]
    assert found["views"] == ["current_policy", "policy_timeline", "change_log", "threshold_comparison", "coverage_by_indication"]
    assert found["tables"] > 5
    assert "ner" in found["pipes"]  # the trained pipeline, not the rules-only fallback
    assert found["coverage_model"] and found["lexicon"]
