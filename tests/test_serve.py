"""`lcd serve`: the deployment and its cron schedule on a real Prefect server, and one scheduled run
that syncs from the local test Coverage API."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest

from pipeline.cli import main
from tests._api_server import FakeCoverageApi, api_lcd, shipped_records
from datetime import date

REPO = Path(__file__).resolve().parents[1]
LCD = str(REPO / ".venv" / "bin" / "lcd") if (REPO / ".venv" / "bin" / "lcd").exists() else "lcd"
PREFECT = str(Path(sys.executable).parent / "prefect")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float, step: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return None


@pytest.fixture()
def prefect_api(tmp_path):
    """A real `prefect server start` on 127.0.0.1 with a fast scheduler loop, stopped after the test."""
    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
        "PREFECT_API_URL": "",
    }
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen([PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/api"

    def healthy():
        try:
            return httpx.get(f"{url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        assert _wait(healthy, 120), (tmp_path / "server.log").read_text()[-2000:]
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


def test_serve_refuses_a_bad_cron(capsys):
    assert main(["serve", "--cron", "every monday", "--watch", "raw_docs"]) == 2
    assert "is not a cron expression" in capsys.readouterr().err


def test_serve_refuses_to_start_without_a_prefect_server(capsys, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert main(["serve", "--watch", "raw_docs"]) == 2
    assert "PREFECT_API_URL is not set" in capsys.readouterr().err


def test_serve_help_documents_the_schedule(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    text = capsys.readouterr().out
    assert "0 6 * * 1" in text and "weekly" in text and "prefect server start" in text


def test_serve_deploys_on_its_cron_and_a_scheduled_run_syncs_from_the_api(prefect_api, tmp_path):
    db = tmp_path / "lcd.duckdb"
    records = [r for r in shipped_records() if r["document_display_id"] in ("L34648", "L33612")]
    with FakeCoverageApi([api_lcd(r, date(2025, 1, 6)) for r in records]) as api:
        env = {**os.environ, "PREFECT_API_URL": prefect_api, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_HOME": str(tmp_path / "client-home")}
        log = open(tmp_path / "serve.log", "w")
        serving = subprocess.Popen(
            [LCD, "serve", "--cron", "* * * * *", "--api-url", api.url, "--db", str(db), "--name", "test-every-minute"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            def deployment():
                response = httpx.post(f"{prefect_api}/deployments/filter", json={"deployments": {"name": {"any_": ["test-every-minute"]}}}, timeout=5)
                found = response.json() if response.status_code == 200 else []
                return found[0] if found else None

            found = _wait(deployment, 90, 2)
            assert found, (tmp_path / "serve.log").read_text()[-3000:]
            crons = [s["schedule"].get("cron") for s in found.get("schedules", [])]
            assert crons == ["* * * * *"]

            def completed_run():
                response = httpx.post(
                    f"{prefect_api}/flow_runs/filter",
                    json={"flow_runs": {"deployment_id": {"any_": [found["id"]]}, "state": {"type": {"any_": ["COMPLETED"]}}}},
                    timeout=5,
                )
                runs = response.json() if response.status_code == 200 else []
                return runs[0] if runs else None

            run = _wait(completed_run, 180, 3)
            assert run, (tmp_path / "serve.log").read_text()[-3000:]
        finally:
            os.killpg(serving.pid, signal.SIGTERM)
            serving.wait(timeout=30)
            log.close()
    con = duckdb.connect(str(db), read_only=True)
    try:
        loaded = {row[0] for row in con.execute("select lcd_id from lcd_versions").fetchall()}
        assert loaded == {"L34648", "L33612"}
        assert con.execute("select count(*) from indications").fetchall()[0][0] > 0
    finally:
        con.close()
