"""`lcd sync` end to end against a real HTTP server on 127.0.0.1 (tests/_api_server.py), faults included.

Each sync runs the real CLI, the real Prefect flow (session test server) and the real ingestion; only
the Coverage API is the local fake. Retries are made fast with --backoff/--retries/--timeout.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from pipeline.cli import main
from pipeline.sources.coverage_api import ApiSettings, CoverageApiClient, RetryPolicy
from pipeline.sources.records import ReportEntry
from pipeline.jobs.sync import cache_path, fetch_batch, plan_sync
from tests._api_server import LCD_PATH, REPORT_PATH, TOKEN_PATH, FakeCoverageApi, api_lcd, shipped_records
from tests.conftest import RAW_DOCS

FAST = ["--backoff", "0.01", "--min-interval", "0", "--timeout", "1", "--retries", "3"]


def sync(api: FakeCoverageApi, db: Path, *extra: str) -> int:
    """Run `lcd sync` against `api` with fast retries."""
    return main(["sync", "--api-url", api.url, "--db", str(db), *FAST, *extra])


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def record(lcd_id: str) -> dict:
    """The shipped Coverage API record of `lcd_id`."""
    return json.loads(next((RAW_DOCS / lcd_id).glob("*.json")).read_text())


# The 17 Coverage API records raw_docs first shipped (raw_docs/README.md, the provenance row for
# corpus/mcd/ from urvi367/medicare-coverage-intelligence-agent): the sync scenarios below (every data
# call failing twice, the server vanishing mid-sync) run on this fixed set, not on every shipped record,
# so they stay quick as raw_docs grows; what they test does not depend on the number of LCDs.
FIRST_17 = (
    "L33438", "L33575", "L33612", "L33739", "L33800", "L33802", "L34084", "L34087", "L34528",
    "L34544", "L34648", "L34823", "L38213", "L38743", "L39268", "L39297", "L39682",
)


def first_17_api() -> FakeCoverageApi:
    """The fake API serving the FIRST_17 records, effective 2025-01-06 and every 14 days after (5 rows per page)."""
    records = [r for r in shipped_records() if r["document_display_id"] in FIRST_17]
    assert len(records) == len(FIRST_17)
    return FakeCoverageApi([api_lcd(r, date(2025, 1, 6) + timedelta(days=14 * i)) for i, r in enumerate(records)])


@pytest.fixture()
def small_api():
    """Three LCDs, effective 2025-01-06, 2025-03-03 and 2025-05-05."""
    lcds = [
        api_lcd(record("L34544"), date(2025, 1, 6)),
        api_lcd(record("L39682"), date(2025, 3, 3)),
        api_lcd(record("L38743"), date(2025, 5, 5)),
    ]
    with FakeCoverageApi(lcds, page_size=2) as server:
        yield server


def test_sync_loads_every_listed_lcd_while_each_data_call_fails_twice(prefect_server, db_path, capsys):
    with first_17_api() as api:
        api.fault("500", LCD_PATH, times=2, per_query=True)
        assert sync(api, db_path) == 0
        out = capsys.readouterr().out
        listed = {(f"L{number}", version) for number, version in api.report}
        n = len(FIRST_17)
        assert listed == {(lcd_id, str(record(lcd_id)["document_version"])) for lcd_id in FIRST_17}
        assert f"{n} LCD version(s) listed, 0 already in the warehouse, {n} to fetch" in out
        assert f"versions: {n} new, 0 skipped, 0 failed" in out
        assert [c.status for c in api.calls(LCD_PATH)].count(500) == 2 * n
        loaded = set(query(db_path, "select lcd_id, version from lcd_versions"))
        assert loaded == listed
        with_facts = query(
            db_path,
            """
            select v.lcd_id, count(distinct i.indication_key) + count(distinct t.threshold_key) + count(distinct c.criterion_key)
            from lcd_versions as v
            left join indications as i using (version_key)
            left join thresholds as t using (version_key)
            left join criteria as c using (version_key)
            group by v.lcd_id
            """,
        )
        assert all(facts > 0 for _, facts in with_facts), with_facts
        assert query(db_path, "select count(*) from indications")[0][0] > 50
        assert query(db_path, "select count(*) from sync_state where status = 'loaded'")[0][0] == n
        # The contractor comes from the report row: /v1/data/lcd has none.
        assert query(db_path, "select contractor from lcd_versions where lcd_id = 'L34648'")[0][0] == (
            "WPS Insurance Corporation (MAC - Part A, MAC - Part B)"
        )

        api.clear_log()
        assert sync(api, db_path) == 0
        assert capsys.readouterr().out.startswith(f"nothing new: {n} LCD version(s) listed, {n} already in the warehouse")
        assert {c.path for c in api.requests} == {REPORT_PATH}
        assert len(api.requests) == 4  # the report's four pages (17 rows, 5 a page), nothing else


def test_failed_versions_are_recorded_and_retried_by_the_next_sync(prefect_server, small_api, db_path, capsys):
    small_api.fault("500", LCD_PATH, lcdid="34544", times=3)  # every try of this sync (--retries 3)
    small_api.fault("empty", LCD_PATH, lcdid="39682")  # 200 with empty data: no such version, once
    assert sync(small_api, db_path) == 1
    out, err = capsys.readouterr()
    assert "versions: 1 new, 0 skipped, 0 failed" in out
    assert "failed: L34544 version 47: HTTP 500: GET" in err
    assert "failed: L39682 version 8: the API has no version 8 of L39682" in err
    assert err.strip().endswith("lcd sync: 2 LCD version(s) failed (see sync_state and ingest_errors; the next sync retries them)")
    assert [c.params["lcdid"] for c in small_api.calls(LCD_PATH)].count("39682") == 1  # an answer, not retried
    assert query(db_path, "select lcd_id, status, error_type, attempts from sync_state order by lcd_id") == [
        ("L34544", "failed", "api_server_error", 1),
        ("L38743", "loaded", None, 1),
        ("L39682", "failed", "no_such_version", 1),
    ]
    errors = query(db_path, "select source_path, error_type, message from ingest_errors order by source_path")
    assert [(path.split("?")[1], error_type) for path, error_type, _ in errors] == [
        ("lcdid=34544&ver=47", "api_server_error"),
        ("lcdid=39682&ver=8", "no_such_version"),
    ]
    assert all("\n" not in message for _, _, message in errors) and "3 attempts" in errors[0][2]
    assert query(db_path, "select lcd_id from lcd_versions") == [("L38743",)]

    small_api.clear_log()
    assert sync(small_api, db_path) == 0
    assert "report: 3 LCD version(s) listed, 1 already in the warehouse, 2 to fetch" in capsys.readouterr().out
    assert sorted(c.params["lcdid"] for c in small_api.calls(LCD_PATH)) == ["34544", "39682"]
    assert query(db_path, "select lcd_id, status, error, attempts from sync_state order by lcd_id") == [
        ("L34544", "loaded", None, 2),
        ("L38743", "loaded", None, 1),
        ("L39682", "loaded", None, 2),
    ]
    assert query(db_path, "select count(*) from lcd_versions")[0][0] == 3


def test_since_fetches_only_lcds_changed_on_or_after_the_date(prefect_server, small_api, db_path, capsys):
    assert sync(small_api, db_path, "--since", "2025-03-01") == 0
    assert "3 LCD version(s) listed, 0 already in the warehouse, 1 older than 2025-03-01, 2 to fetch" in capsys.readouterr().out
    assert sorted(c.params["lcdid"] for c in small_api.calls(LCD_PATH)) == ["38743", "39682"]
    assert sorted(query(db_path, "select lcd_id from lcd_versions")) == [("L38743",), ("L39682",)]


def test_synced_record_is_cached_with_its_provenance(prefect_server, db_path, capsys):
    with FakeCoverageApi([api_lcd(record("L34544"), date(2025, 1, 6))]) as api:
        assert sync(api, db_path) == 0
        served = api.lcds[("34544", "47")].record
        url = api.url
    cached = db_path.parent / "sources" / "L34544" / "47.json"
    saved = json.loads(cached.read_text())
    assert saved == {**served, "contractor_name_type": record("L34544")["contractor_name_type"]}
    state = query(db_path, "select status, cache_path, sha256, version_key, source_url, attempts from sync_state")
    status, path, sha, key, source_url, attempts = state[0]
    assert (status, path, attempts, source_url) == ("loaded", str(cached), 1, f"{url}/v1/data/lcd?lcdid=34544&ver=47")
    assert query(db_path, "select source_path, source_sha256, source_format from lcd_versions where version_key = ?", [key]) == [
        (str(cached), sha, "json")
    ]
    history = query(db_path, "select rev_hist_num, reasons_for_change, source from lcd_revision_history order by rev_hist_date")
    assert history == [("R46", [], "coverage_api"), ("R47", ["Other (Annual Review)"], "coverage_api")]


def test_new_version_is_diffed_and_the_report_shows_its_reason_for_change(prefect_server, db_path, capsys):
    current = record("L34544")
    # Version 46 is version 47 with a lower serum albumin limit (a derived earlier version).
    earlier = {**current, "document_version": 46, "indication": current["indication"].replace("&amp;lt;2.5gm&sol;dl", "&amp;lt;2.0gm&sol;dl")}
    assert earlier["indication"] != current["indication"]
    with FakeCoverageApi([api_lcd(earlier, date(2024, 6, 3))]) as api:
        assert sync(api, db_path) == 0
        capsys.readouterr()
        api.publish(
            api_lcd(current, date(2025, 6, 2), reason="Revisions Due to Clinical Criteria", explanation="Serum albumin limit raised to 2.5 gm/dl.")
        )
        assert sync(api, db_path) == 0
        out = capsys.readouterr().out
    assert "1 LCD version(s) listed, 0 already in the warehouse, 1 to fetch" in out
    changes = query(db_path, "select change_type, subject, before, after from policy_changes where lcd_id = 'L34544'")
    assert any(change_type == "threshold_changed" and "albumin" in subject.lower() for change_type, subject, _, _ in changes), changes
    report = Path(re.search(r"change report: (.+)", out).group(1)).read_text()
    header = report.index("### Version 46 (2024-06-03) → 47 (2025-06-02)")
    section = report[header : report.find("\n## ", header) if "\n## " in report[header:] else len(report)]
    assert "Revision explanation (R47, 2025-06-02): Serum albumin limit raised to 2.5 gm/dl." in section
    assert "Reason for change: Revisions Due to Clinical Criteria" in section
    assert section.index("Reason for change") < section.index("threshold_changed")


def test_scheduled_flow_without_a_license_token_records_every_version(prefect_server, small_api, db_path):
    from pipeline.orchestration.sync_flow import sync_flow

    small_api.fault("500", TOKEN_PATH, times=100)
    settings = ApiSettings(base_url=small_api.url, timeout=1, min_interval=0, retry=RetryPolicy(attempts=2, backoff=0.01))
    summary = sync_flow(settings, str(db_path), task_retries=1, task_retry_delay_seconds=[0])
    assert (summary.listed, summary.fetched, summary.ingest) == (3, 0, None)
    assert {f.error_type for f in summary.failed} == {"api_server_error"} and len(summary.failed) == 3
    assert len(small_api.calls(TOKEN_PATH)) == 2 * 2  # two tries per request, the batch task run twice
    assert small_api.calls(LCD_PATH) == []
    assert query(db_path, "select count(*) from sync_state where status = 'failed'")[0][0] == 3
    assert query(db_path, "select count(*) from ingest_errors where error_type = 'api_server_error'")[0][0] == 3


def test_report_that_cannot_be_fetched_is_a_one_line_error(small_api, db_path, capsys):
    small_api.fault("500", REPORT_PATH, times=100)
    assert sync(small_api, db_path) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("lcd sync: cannot fetch the LCD report: HTTP 500: GET")
    assert query(db_path, "select error_type from ingest_errors") == [("api_server_error",)]


def test_cli_sync_rejects_a_bad_date(db_path, capsys):
    assert main(["sync", "--since", "last week", "--db", str(db_path)]) == 2
    assert "--since must be a date" in capsys.readouterr().err


def test_breaker_stops_trying_after_consecutive_transport_failures(small_api, tmp_path):
    small_api.fault("timeout", LCD_PATH, times=100, sleep=0.5)
    settings = ApiSettings(base_url=small_api.url, timeout=0.1, min_interval=0, retry=RetryPolicy(attempts=2, backoff=0.01))
    with CoverageApiClient(settings) as client:
        entries = client.report()
        result = fetch_batch(client, entries, tmp_path, breaker_threshold=2)
    assert [f.error_type for f in result.failed] == ["api_timeout", "api_timeout", "source_unavailable"]
    assert len(small_api.calls(LCD_PATH)) == 2 * 2  # the third version was not tried
    assert result.fetched == () and result.consecutive_transport_failures == 2


def test_plan_skips_versions_the_warehouse_has_from_any_source():
    entries = [ReportEntry("L1", "1", "3", updated_on=date(2025, 1, 1)), ReportEntry("L2", "2", "5"), ReportEntry("L3", "3", "1", effective_date=date(2026, 2, 1))]
    plan = plan_sync(entries, have={("L1", "3")}, since=date(2026, 1, 1))
    assert (plan.listed, plan.have, plan.older_than_since) == (3, 1, 0)
    assert [e.lcd_id for e in plan.fetch] == ["L2", "L3"]  # L2 has no date: it is kept


def test_cache_path_refuses_ids_that_could_escape_the_folder(tmp_path):
    assert cache_path(tmp_path, ReportEntry("L34544", "34544", "47")) == tmp_path / "L34544" / "47.json"
    with pytest.raises(ValueError):
        cache_path(tmp_path, ReportEntry("L1", "1", "../../etc"))


def test_server_that_disappears_mid_sync_fails_the_rest_and_the_next_sync_picks_up(prefect_server, db_path, capsys):
    with first_17_api() as api:
        port = int(api.url.rsplit(":", 1)[1])
        api.disappear_after(5)  # the report and five versions' data calls are answered, then the server is gone
        assert sync(api, db_path) == 1
        out, err = capsys.readouterr()
        assert api.gone
        assert "versions: 5 new, 0 skipped, 0 failed" in out
        n = len(FIRST_17)
        assert f"lcd sync: {n - 5} LCD version(s) failed" in err
        states = dict(query(db_path, "select status, count(*) from sync_state group by status"))
        assert states == {"loaded": 5, "failed": n - 5}
        failed_types = {t for (t,) in query(db_path, "select error_type from sync_state where status = 'failed'")}
        assert failed_types == {"api_connection", "source_unavailable"}, failed_types
        # the warehouse holds exactly the versions fetched before the server went, each one complete
        loaded = set(query(db_path, "select lcd_id, version from sync_state where status = 'loaded'"))
        assert set(query(db_path, "select lcd_id, version from lcd_versions")) == loaded
        assert query(
            db_path,
            """
            select count(*) from lcd_versions as v
            where not exists (select 1 from version_texts as t where t.version_key = v.version_key)
               or not exists (select 1 from version_sections as s where s.version_key = v.version_key)
            """,
        ) == [(0,)]
        assert query(db_path, "select count(*) from ingest_errors")[0][0] == n - 5

        api.clear_log()
        api.start(port)  # back at the same address
        assert sync(api, db_path) == 0
        out = capsys.readouterr().out
        assert f"{n} LCD version(s) listed, 5 already in the warehouse, {n - 5} to fetch" in out
        assert f"versions: {n - 5} new, 0 skipped, 0 failed" in out
        fetched = {(f"L{c.params['lcdid']}", c.params["ver"]) for c in api.calls(LCD_PATH)}
        assert len(fetched) == n - 5 and not fetched & loaded  # only what the first sync lacked
        assert query(db_path, "select count(*) from lcd_versions")[0][0] == n
        assert query(db_path, "select status, count(*) from sync_state group by status") == [("loaded", n)]
