"""Shared fixtures: paths to the shared corpus and the shipped documents, the corpus warehouse, a Prefect test server."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
RAW_DOCS = REPO / "raw_docs"

os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the repo (as on CI); tests that need it skip loudly when it is missing."""
    if not SHARED.is_dir():
        pytest.fail(f"{SHARED} is missing: tests read the shared corpus beside the repo")
    return SHARED


@pytest.fixture(scope="session")
def corpus_db(tmp_path_factory) -> Path:
    """The warehouse file of the whole shipped corpus (raw_docs/), built once per session by the ingest
    job functions in the flow's order (tests/_corpus.py). Shared, so read-only (the file is too): open it
    with `read_only=True`, or copy it to change it."""
    from tests._corpus import build_warehouse  # it imports this module: imported when the fixture runs

    path = tmp_path_factory.mktemp("corpus") / "lcd.duckdb"
    build_warehouse(path).close()
    path.chmod(0o444)
    return path


@pytest.fixture(scope="module")
def corpus_warehouse(corpus_db: Path):
    """A read-only connection to the session's corpus warehouse."""
    con = duckdb.connect(str(corpus_db), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="session")
def prefect_server():
    """One temporary Prefect API for the whole session (starting one costs 10-20 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="module")
def api(prefect_server, tmp_path_factory) -> dict[str, str]:
    """The environment that points `lcd` subprocesses at the session's Prefect API."""
    from prefect.settings import PREFECT_API_URL

    from tests._lcd_subprocess import lcd_env  # it imports this module: imported when the fixture runs

    return lcd_env(PREFECT_API_URL.value(), tmp_path_factory.mktemp("prefect_home"))


@pytest.fixture()
def db_path(tmp_path: Path) -> Path:
    """A fresh warehouse file."""
    return tmp_path / "lcd.duckdb"
