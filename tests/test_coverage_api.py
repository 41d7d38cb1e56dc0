"""The Coverage API client against a real HTTP server on 127.0.0.1 (tests/_api_server.py), faults included.

No HTTP mocking: every test talks to the fake API over a socket. Waits are recorded by an injected
`sleep` (which really sleeps only for rate-limit waits of the polite client), so the backoff and
Retry-After policy is asserted exactly and the tests stay fast.
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timezone

import pytest

from pipeline.report.revisions import note_from_rows
from pipeline.sources.coverage_api import ApiError, ApiSettings, CoverageApiClient, RetryPolicy, TokenError
from pipeline.sources.records import (
    ChangeReason,
    EnvelopeError,
    RevisionEntry,
    lcd_number,
    parse_envelope,
    parse_reason,
    parse_report_entry,
    parse_retry_after,
    parse_revision,
    plain_text,
    revision_rows,
)
from tests._api_server import LCD_PATH, REASON_PATH, REPORT_PATH, REVISION_PATH, TOKEN_PATH, FakeCoverageApi
from tests.conftest import RAW_DOCS

FAST = RetryPolicy(attempts=4, backoff=0.01, backoff_max=0.05, retry_after_max=30.0)


class Waits(list):
    """An injected `sleep` that records every wait instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(round(seconds, 3))


@pytest.fixture()
def api():
    """The fake Coverage API serving every shipped LCD record, 5 report rows per page."""
    with FakeCoverageApi() as server:
        yield server


@pytest.fixture()
def waits() -> Waits:
    return Waits()


def make_client(api: FakeCoverageApi, waits: Waits | None = None, **overrides) -> CoverageApiClient:
    """A client of `api` with fast retries, no rate limit and a short timeout unless overridden."""
    settings = {"base_url": api.url, "timeout": 0.3, "min_interval": 0.0, "retry": FAST, **overrides}
    return CoverageApiClient(ApiSettings(**settings), sleep=waits if waits is not None else time.sleep)


# --- endpoints -----------------------------------------------------------------------------------


def test_report_follows_next_token_over_every_page(api):
    with make_client(api) as client:
        entries = client.report()
    shipped = sorted(RAW_DOCS.glob("L*/*.json"))  # every shipped LCD record, each one report row
    assert [(e.lcd_id, e.version) for e in entries] == [(p.parent.name, p.stem) for p in shipped]
    # 5 rows per page: one request per page, each after the first carrying the previous page's next_token
    assert [c.params.get("next_token") for c in api.calls(REPORT_PATH)] == [None] + [f"p{n}" for n in range(5, len(shipped), 5)]
    assert entries[0].updated_on == date(2025, 1, 6)  # the fake's first effective date
    entry = next(e for e in entries if e.lcd_id == "L33438")
    assert (entry.number, entry.version) == ("33438", "47")
    assert entry.contractor_name_type == "Palmetto GBA\r\n(MAC - Part B)"
    assert entry.contractor == "Palmetto GBA (MAC - Part B)"


def test_report_needs_no_token(api):
    with make_client(api) as client:
        client.report()
    assert api.calls(TOKEN_PATH) == []


def test_lcd_record_keeps_the_double_escaped_html_as_shipped(api):
    shipped = json.loads((RAW_DOCS / "L34544" / "47.json").read_text())
    with make_client(api) as client:
        data = client.lcd("L34544", "47")
    assert data.found and data.url.endswith("/v1/data/lcd?lcdid=34544&ver=47")
    assert data.record["indication"] == shipped["indication"]
    assert "&amp;lt;2.5gm&sol;dl" in data.record["indication"]
    assert (data.record["lcd_id"], data.record["lcd_version"]) == (34544, 47)


def test_token_is_fetched_once_and_sent_as_bearer(api):
    with make_client(api) as client:
        for lcd_id, version in (("L34544", "47"), ("L34648", "31"), ("L33438", "47")):
            assert client.lcd(lcd_id, version).found
        assert client.stats.token_fetches == 1
    assert len(api.calls(TOKEN_PATH)) == 1
    assert all(c.status == 200 for c in api.calls(LCD_PATH))  # the server answers 401 without a valid Bearer


def test_revision_history_and_reasons_for_change(api):
    with make_client(api) as client:
        revisions = client.revision_history("L34544", "47")
        reasons = client.reasons_for_change("L34544", "47")
    assert [r.rev_hist_num for r in revisions] == ["R47", "R46"]
    assert revisions[0].explanation.endswith("Revision Explanation: Annual review, no changes were made.")
    assert revisions[1].explanation.endswith("Formatting changes only.")  # escaped HTML decoded
    assert [r.description for r in reasons] == ["Other (Annual Review)"]
    assert [c.params for c in api.calls(REASON_PATH)] == [{"lcdid": "34544", "ver": "47"}]


def test_empty_data_is_a_no_such_version_answer_not_a_fault(api, waits):
    with make_client(api, waits) as client:
        data = client.lcd("L34544", "99")
    assert not data.found and data.record is None
    assert len(api.calls(LCD_PATH)) == 1 and waits == []


def test_missing_revision_endpoint_gives_no_revisions(api, waits):
    api.fault("404", REVISION_PATH)
    with make_client(api, waits) as client:
        assert client.revision_history("L34544", "47") == []
    assert len(api.calls(REVISION_PATH)) == 1


# --- faults --------------------------------------------------------------------------------------


def test_500_is_retried_after_exponential_backoff(api, waits):
    api.fault("500", times=3)
    with make_client(api, waits) as client:
        assert client.lcd("L34544", "47").found
    assert waits == [0.01, 0.02, 0.04]
    assert [c.status for c in api.calls(LCD_PATH)] == [500, 500, 500, 200]


def test_persistent_500_gives_up_after_the_bounded_attempts(api, waits):
    api.fault("500", times=100)
    with make_client(api, waits) as client, pytest.raises(ApiError) as caught:
        client.lcd("L34544", "47")
    error = caught.value
    assert (error.kind, error.status, error.attempts) == ("server_error", 500, 4)
    assert len(api.calls(LCD_PATH)) == 4 and waits == [0.01, 0.02, 0.04]
    assert "\n" not in str(error) and "lcdid=34544&ver=47" in str(error) and "4 attempts" in str(error)


def test_api_error_survives_pickling():
    import pickle

    error = TokenError("timeout", "no token", "http://x/v1/metadata/license-agreement", None, 3)
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), copy.kind, copy.attempts, str(copy)) == (TokenError, "timeout", 3, str(error))


def test_429_waits_the_retry_after_seconds(api, waits):
    api.fault("429", retry_after="7")
    with make_client(api, waits) as client:
        assert client.lcd("L34544", "47").found
    assert waits == [7.0]


def test_429_retry_after_is_capped(api, waits):
    api.fault("429", retry_after="3600")
    with make_client(api, waits) as client:
        assert client.lcd("L34544", "47").found
    assert waits == [30.0]


def test_timeout_is_retried(api, waits):
    api.fault("timeout", sleep=1.0)
    with make_client(api, waits, timeout=0.2) as client:
        started = time.monotonic()
        assert client.lcd("L34544", "47").found
    assert time.monotonic() - started < 0.9  # gave up on the slow answer instead of waiting for it
    assert waits == [0.01]


def test_expired_token_is_refreshed_once(api, waits):
    with make_client(api, waits) as client:
        assert client.lcd("L34544", "47").found
        api.fault("unauthorized")  # 401 and every issued token expires
        assert client.lcd("L34648", "31").found
        assert client.stats.token_fetches == 2
    assert [c.status for c in api.calls(LCD_PATH)] == [200, 401, 200]
    assert waits == []  # a refresh is not a backoff


def test_second_401_after_refreshing_is_final(api, waits):
    api.fault("unauthorized", times=5)
    with make_client(api, waits) as client, pytest.raises(ApiError) as caught:
        client.lcd("L34544", "47")
    assert caught.value.kind == "auth"
    assert len(api.calls(TOKEN_PATH)) == 2 and len(api.calls(LCD_PATH)) == 2  # no token storm


def test_token_endpoint_down_is_a_token_error(api, waits):
    api.fault("500", TOKEN_PATH, times=100)
    with make_client(api, waits) as client, pytest.raises(TokenError) as caught:
        client.lcd("L34544", "47")
    assert caught.value.kind == "server_error" and "license-agreement token" in str(caught.value)
    assert len(api.calls(TOKEN_PATH)) == 4 and api.calls(LCD_PATH) == []


@pytest.mark.parametrize("kind", ["truncated", "cut", "bad_envelope"])
def test_truncated_or_invalid_body_is_retried(api, waits, kind):
    api.fault(kind, times=2)
    with make_client(api, waits) as client:
        data = client.lcd("L34544", "47")
    assert data.found and data.record["title"] == "Hospice - Liver Disease"
    assert [c.fault for c in api.calls(LCD_PATH)] == [kind, kind, None]
    assert len(waits) == 2


def test_truncated_report_page_is_retried(api, waits):
    api.fault("truncated", REPORT_PATH)
    with make_client(api, waits) as client:
        assert len(client.report()) == len(list(RAW_DOCS.glob("L*/*.json")))  # every row, none lost or doubled


def test_connection_refused_is_retried_then_a_connection_error(waits):
    with FakeCoverageApi(lcds=[]) as gone:
        url = gone.url  # a port that was just free and is closed again
    with CoverageApiClient(ApiSettings(base_url=url, timeout=0.3, min_interval=0, retry=FAST), sleep=waits) as client:
        with pytest.raises(ApiError) as caught:
            client.report()
    assert caught.value.kind == "connection" and caught.value.attempts == 4
    assert len(waits) == 3


def test_fail_each_data_call_twice_then_answer(api, waits):
    api.fault("500", times=2, per_query=True)
    with make_client(api, waits) as client:
        assert client.lcd("L34544", "47").found
        assert client.lcd("L34648", "31").found
    assert [c.status for c in api.calls(LCD_PATH)] == [500, 500, 200, 500, 500, 200]


def test_polite_rate_limit_spaces_requests(api):
    with make_client(api, min_interval=0.1) as client:
        for _ in range(4):
            client.report_pages().__next__()
    starts = [c.at for c in api.calls(REPORT_PATH)]
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert len(gaps) == 3 and min(gaps) >= 0.07  # arrival times jitter a little around the 0.1 s starts


def test_rate_limit_waits_only_the_rest_of_the_interval():
    now = [100.0]
    waits = Waits()
    client = CoverageApiClient(ApiSettings(base_url="http://127.0.0.1:9", min_interval=1.0), sleep=waits, clock=lambda: now[0])
    client._throttle()
    now[0] += 0.25
    client._throttle()
    client.close()
    assert waits == [0.75]


# --- pure parsing --------------------------------------------------------------------------------


def test_parse_envelope_rejects_bodies_without_a_data_list():
    assert parse_envelope({"meta": {"next_token": "abc"}, "data": []}).next_token == "abc"
    assert parse_envelope({"meta": {"next_token": ""}, "data": [{}]}).next_token is None
    for body in ([], {"data": None}, {"message": "Service Unavailable"}, {"data": [1, 2]}):
        with pytest.raises(EnvelopeError):
            parse_envelope(body)


def test_parse_report_entry_keeps_lcds_only():
    row = {"document_id": 34544, "document_version": 47, "document_display_id": "L34544", "document_type": "LCD",
           "updated_on": "03/05/2026", "effective_date": "01/01/2026", "retirement_date": "N/A"}  # fmt: skip
    entry = parse_report_entry(row)
    assert (entry.lcd_id, entry.number, entry.version, entry.changed_on) == ("L34544", "34544", "47", date(2026, 3, 5))
    assert parse_report_entry({**row, "document_type": "Article"}) is None
    assert parse_report_entry({**row, "document_version": None}) is None
    assert parse_report_entry({"document_display_id": "L1'; drop table x", "document_version": 1}) is None


def test_lcd_number_strips_the_prefix_and_refuses_other_ids():
    assert lcd_number("L34648") == "34648" == lcd_number(34648)
    for bad in ("A56781", "L34648/../x", "", "L"):
        with pytest.raises(ValueError):
            lcd_number(bad)


def test_retry_after_as_seconds_or_http_date():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    assert parse_retry_after("-5") == 0.0


def test_plain_text_decodes_double_escaped_html():
    assert plain_text("&lt;p&gt;Hb &amp;lt; 10 g&sol;dL&lt;&sol;p&gt;&lt;p&gt;next&lt;&sol;p&gt;") == "Hb < 10 g/dL\nnext"
    assert plain_text("R16\nRevision Effective: 11/07/2024") == "R16\nRevision Effective: 11/07/2024"


def test_parse_revision_and_reason_records():
    revision = parse_revision({"lcd_version": 21, "rev_hist_date": "11/07/2024", "rev_hist_exp": "R16\nRevision Effective: 11/07/2024\nRevision Explanation: Annual review."})
    assert (revision.rev_hist_num, revision.rev_hist_date, revision.record_version) == ("R16", date(2024, 11, 7), "21")
    assert parse_reason({"description": "Other", "reason_change_other": "Annual review"}).description == "Other (Annual review)"
    assert parse_reason({"description": ""}) is None


def test_revision_rows_put_the_reasons_on_the_latest_entry():
    older = RevisionEntry("21", "R9", date(2023, 1, 1), "R9 old")
    newer = RevisionEntry("21", "R10", date(2023, 1, 1), "R10 new")
    rows = revision_rows([older, newer], [ChangeReason("21", "Typo"), ChangeReason("21", "Typo")])
    assert [(r.rev_hist_num, r.reasons_for_change) for r in rows] == [("R9", ()), ("R10", ("Typo",))]
    assert revision_rows([], [ChangeReason("21", "Typo")])[0].explanation is None


def test_revision_note_uses_the_latest_explained_row():
    rows = [
        (date(2024, 11, 7), "R16", "R16\nRevision Effective: 11/07/2024\nRevision Explanation: Annual review.", ["Other"]),
        (date(2023, 1, 1), "R15", "R15\nRevision Explanation: Older.", []),
    ]
    note = note_from_rows(rows)
    assert note.lines() == ["Revision explanation (R16, 2024-11-07): Annual review.", "Reason for change: Other"]
    assert note_from_rows([]) is None
