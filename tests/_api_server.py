"""A real HTTP server on 127.0.0.1 that answers like the CMS Coverage API, with injectable faults.

Built from the shipped Coverage API records in raw_docs/L*/*.json: each becomes an `/v1/data/lcd`
record in the lcd.csv field shape (the `indication` and `cms_cov_policy` HTML kept double-escaped, as
shipped) and a row of the `/v1/reports/local-coverage-final-lcds` report; revision-history and
reason-change records are composed in the documented shapes (../shared/MCD_FORMAT.md section 2).

Faults are rules matched against each request (path, optional lcdid), consumed as they fire:
"500", "404", "429" (with Retry-After), "timeout" (the server sleeps past the client's timeout), "truncated"
(a valid HTTP response whose JSON is cut in half), "cut" (the connection closes mid-body), "empty"
(200 with an empty `data`), "unauthorized" (401 and every issued token expires) and "bad_envelope".
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

RAW_DOCS = Path(__file__).resolve().parents[1] / "raw_docs"

TOKEN_PATH = "/v1/metadata/license-agreement"
REPORT_PATH = "/v1/reports/local-coverage-final-lcds"
LCD_PATH = "/v1/data/lcd"
REVISION_PATH = "/v1/data/lcd/revision-history"
REASON_PATH = "/v1/data/lcd/reason-change"
FAULT_KINDS = ("500", "404", "429", "timeout", "truncated", "cut", "empty", "unauthorized", "bad_envelope")


def us_date(day: date) -> str:
    """MM/DD/YYYY, the API's date format."""
    return day.strftime("%m/%d/%Y")


@dataclass
class ApiLcd:
    """One LCD version as the fake API serves it: data record, report row, revisions, reasons."""

    number: str
    version: str
    record: dict[str, Any]
    report_row: dict[str, Any]
    revisions: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[dict[str, Any]] = field(default_factory=list)

    @property
    def lcd_id(self) -> str:
        """'L34648'."""
        return f"L{self.number}"


def shipped_records() -> list[dict[str, Any]]:
    """The shipped Coverage API LCD records (raw_docs/L*/<version>.json), sorted by LCD id."""
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(RAW_DOCS.glob("L*/*.json"))]


def api_lcd(shipped: dict[str, Any], effective: date, reason: str = "Other (Annual Review)", explanation: str | None = None) -> ApiLcd:
    """The fake API's view of one shipped record, effective (and updated) on `effective`."""
    number, version = str(shipped["document_id"]), str(shipped["document_version"])
    record = {
        "lcd_id": int(number),
        "lcd_version": int(version),
        "display_id": f"L{number}",
        "title": shipped["title"],
        "determination_number": "",
        "orig_det_eff_date": "2015-10-01 00:00:00",
        "rev_eff_date": f"{effective.isoformat()} 00:00:00",
        "rev_end_date": "",
        "indication": shipped["indication"],
        "cms_cov_policy": shipped["cms_cov_policy"],
        "coding_guidelines": "",
        "doc_reqs": "",
        "util_guide": "",
        "status": "A",
        "last_updated": us_date(effective),
        "keywords": "",
        "synopsis_changes": "",
        "issue": "",
        "issue_change": "",
        "mac_initiated": "No",
    }
    report_row = {
        "document_id": int(number),
        "document_version": int(version),
        "document_display_id": f"L{number}",
        "document_type": "LCD",
        "note": "",
        "title": shipped["title"],
        "contractor_name_type": shipped["contractor_name_type"],
        "updated_on": us_date(effective),
        "updated_on_sort": effective.strftime("%Y%m%d000000"),
        "effective_date": us_date(effective),
        "retirement_date": "N/A",
        "url": f"https://www.cms.gov/medicare-coverage-database/view/lcd.aspx?lcdid={number}&ver={version}",
    }
    explanation = explanation or "Annual review, no changes were made."
    older = effective - timedelta(days=365)
    revisions = [
        {
            "lcd_version": int(version),
            "rev_hist_date": us_date(effective),
            "rev_hist_exp": f"R{version}\nRevision Effective: {us_date(effective)}\nRevision Explanation: {explanation}",
            "last_updated": us_date(effective),
        },
        {
            "lcd_version": int(version),
            "rev_hist_date": us_date(older),
            "rev_hist_exp": f"R{int(version) - 1}\nRevision Effective: {us_date(older)}\nRevision Explanation: &lt;p&gt;Formatting changes only.&lt;&sol;p&gt;",
            "last_updated": us_date(older),
        },
    ]
    reasons = [{"lcd_version": int(version), "description": reason, "last_updated": us_date(effective)}]
    return ApiLcd(number, version, record, report_row, revisions, reasons)


def shipped_api_lcds(first_effective: date = date(2025, 1, 6), step_days: int = 14) -> list[ApiLcd]:
    """Every shipped LCD record as served by the fake API, effective dates spaced `step_days` apart."""
    return [api_lcd(rec, first_effective + timedelta(days=i * step_days)) for i, rec in enumerate(shipped_records())]


@dataclass
class Fault:
    """A fault injected into the next `times` requests matching `path` (and `lcdid` when given).

    `per_query`: count `times` separately for every distinct query string ("fail each call twice").
    """

    kind: str
    path: str
    times: int = 1
    per_query: bool = False
    lcdid: str | None = None
    retry_after: str = "1"
    sleep: float = 1.0
    fired: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}")

    def take(self, path: str, query: str, params: dict[str, str]) -> bool:
        """Whether this fault fires for the request (and count it when it does)."""
        if path != self.path or (self.lcdid is not None and params.get("lcdid") != self.lcdid):
            return False
        key = query if self.per_query else ""
        if self.fired.get(key, 0) >= self.times:
            return False
        self.fired[key] = self.fired.get(key, 0) + 1
        return True


@dataclass
class LoggedRequest:
    """One request the server received (logged on arrival) and how it answered (status None until then)."""

    path: str
    params: dict[str, str]
    at: float
    status: int | None = None
    fault: str | None = None


class FakeCoverageApi:
    """The fake Coverage API: start() in a thread, `url` to point a client at, `requests` to inspect."""

    def __init__(self, lcds: list[ApiLcd] | None = None, page_size: int = 5) -> None:
        self.lcds: dict[tuple[str, str], ApiLcd] = {}
        self.report: list[tuple[str, str]] = []
        for lcd in lcds if lcds is not None else shipped_api_lcds():
            self.publish(lcd)
        self.page_size = page_size
        self.faults: list[Fault] = []
        self.requests: list[LoggedRequest] = []
        self._tokens: set[str] = set()
        self._issued = 0
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._vanish: tuple[str, int] | None = None  # (path, answered calls) after which the server goes away
        self.gone = False

    # --- control ----------------------------------------------------------------------------------

    def publish(self, lcd: ApiLcd) -> None:
        """Serve `lcd` and list it in the report in place of any earlier version of the same LCD."""
        self.lcds[(lcd.number, lcd.version)] = lcd
        self.report = [key for key in self.report if key[0] != lcd.number] + [(lcd.number, lcd.version)]

    def fault(self, kind: str, path: str = LCD_PATH, **options: Any) -> Fault:
        """Add a fault rule (see Fault) and return it."""
        rule = Fault(kind, path, **options)
        with self._lock:
            self.faults.append(rule)
        return rule

    def disappear_after(self, calls: int, path: str = LCD_PATH) -> None:
        """Answer `calls` more requests to `path`, then go away mid-sync: that request and every later one
        on an open connection is dropped unanswered, and the listener is closed (new connections refused)."""
        with self._lock:
            self._vanish = (path, calls)

    def _vanishes_on(self, path: str) -> bool:
        """Whether this request finds the server gone (and make it go when its call budget is spent)."""
        with self._lock:
            if not self.gone and self._vanish is not None and path == self._vanish[0]:
                remaining = self._vanish[1]
                self._vanish = (path, remaining - 1)
                if remaining <= 0:
                    self.gone = True
                    threading.Thread(target=self.stop, daemon=True).start()  # not from this handler's own thread
            return self.gone

    def expire_tokens(self) -> None:
        """Invalidate every token issued so far (the next token call issues a fresh one)."""
        with self._lock:
            self._tokens.clear()

    def calls(self, path: str) -> list[LoggedRequest]:
        """The logged requests to `path`."""
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def clear_log(self) -> None:
        """Forget the requests logged so far."""
        with self._lock:
            self.requests.clear()

    @property
    def url(self) -> str:
        """http://127.0.0.1:<port>."""
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self, port: int = 0) -> FakeCoverageApi:
        """Listen on 127.0.0.1 (an ephemeral port, or `port` to come back where it was) in a daemon thread."""
        handler = type("Handler", (_Handler,), {"api": self})
        with self._lock:
            self.gone, self._vanish = False, None
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()

    def __enter__(self) -> FakeCoverageApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- answering --------------------------------------------------------------------------------

    def answer(self, path: str, query: str, params: dict[str, str], authorization: str | None) -> tuple[int, dict[str, str], bytes, str | None]:
        """(status, headers, body, fault kind) for one GET."""
        path = path.rstrip("/") or "/"
        with self._lock:
            fault = next((f for f in self.faults if f.take(path, query, params)), None)
        if fault is not None and fault.kind in ("500", "404", "429", "unauthorized", "timeout"):
            return self._fault_response(fault)
        if path == TOKEN_PATH:
            with self._lock:
                self._issued += 1
                token = f"tok-{self._issued}"
                self._tokens.add(token)
            status, body = 200, _envelope([{"Token": token}])
        elif path == REPORT_PATH:
            status, body = 200, self._report_page(params.get("next_token"))
        elif path in (LCD_PATH, REVISION_PATH, REASON_PATH):
            with self._lock:
                valid = authorization is not None and authorization.removeprefix("Bearer ") in self._tokens
            if not valid:
                return 401, {}, json.dumps({"message": "Unauthorized"}).encode(), None
            status, body = 200, self._data(path, params)
        else:
            return 404, {}, json.dumps({"message": "Not Found"}).encode(), None
        if fault is not None:
            if fault.kind == "empty":
                body = _envelope([])
            elif fault.kind == "bad_envelope":
                body = json.dumps({"message": "Service Unavailable", "data": None}).encode()
            elif fault.kind in ("truncated", "cut"):
                return status, {}, body, fault.kind
        return status, {}, body, fault.kind if fault else None

    def _fault_response(self, fault: Fault) -> tuple[int, dict[str, str], bytes, str]:
        """The response of a fault that replaces the answer."""
        if fault.kind == "500":
            return 500, {}, b'{"message": "Internal Server Error"}', fault.kind
        if fault.kind == "404":
            return 404, {}, b'{"message": "Not Found"}', fault.kind
        if fault.kind == "429":
            return 429, {"Retry-After": fault.retry_after}, b'{"message": "Too Many Requests"}', fault.kind
        if fault.kind == "unauthorized":
            self.expire_tokens()
            return 401, {}, b'{"message": "Token expired"}', fault.kind
        time.sleep(fault.sleep)  # "timeout": answer only after the client has given up
        return 200, {}, _envelope([]), fault.kind

    def _report_page(self, next_token: str | None) -> bytes:
        """One page of the report; next_token is an opaque "p<offset>"."""
        start = int(next_token[1:]) if next_token and next_token.startswith("p") else 0
        keys = self.report[start : start + self.page_size]
        rows = [self.lcds[key].report_row for key in keys]
        more = start + self.page_size < len(self.report)
        return _envelope(rows, next_token=f"p{start + self.page_size}" if more else "")

    def _data(self, path: str, params: dict[str, str]) -> bytes:
        """LCD data, revision history or reasons for change of (lcdid, ver); empty data when unknown."""
        lcd = self.lcds.get((params.get("lcdid", ""), params.get("ver", "")))
        if lcd is None:
            return _envelope([])
        if path == LCD_PATH:
            return _envelope([lcd.record])
        return _envelope(lcd.revisions if path == REVISION_PATH else lcd.reasons)


def _envelope(records: list[dict[str, Any]], next_token: str = "") -> bytes:
    """The API's response envelope, ASCII-escaped like the API's JSON."""
    fields = sorted({key for record in records for key in record})
    return json.dumps({"meta": {"status": {"id": 200, "message": "OK"}, "fields": fields, "next_token": next_token}, "data": records}).encode()


class _Handler(BaseHTTPRequestHandler):
    """Routes GETs to FakeCoverageApi.answer and logs them."""

    api: FakeCoverageApi
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        """Silence the default stderr access log."""

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        """Answer one GET (faults included) and log it."""
        parts = urlsplit(self.path)
        params = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        logged = LoggedRequest(parts.path.rstrip("/"), params, time.monotonic())
        with self.api._lock:
            self.api.requests.append(logged)
        if self.api._vanishes_on(logged.path):
            self.close_connection = True  # dropped unanswered: the client sees the connection close
            return
        status, headers, body, fault = self.api.answer(parts.path, parts.query, params, self.headers.get("Authorization"))
        logged.status, logged.fault = status, fault
        try:
            if fault == "truncated":
                body = body[: len(body) // 2]
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            if fault == "cut":
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.close_connection = True
                return
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a "timeout" fault): nothing to answer


def main(argv: list[str] | None = None) -> None:
    """Serve the shipped records until interrupted: python -m tests._api_server [--port N] [--fail-each-data-call N]."""
    import argparse

    parser = argparse.ArgumentParser(description="A local fake of the CMS Coverage API serving raw_docs/L*/*.json.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    parser.add_argument("--fail-each-data-call", type=int, default=0, metavar="N", help="answer each /v1/data/lcd call with HTTP 500 N times first")
    args = parser.parse_args(argv)
    api = FakeCoverageApi()
    if args.fail_each_data_call:
        api.fault("500", LCD_PATH, times=args.fail_each_data_call, per_query=True)
    handler = type("Handler", (_Handler,), {"api": api})
    api._httpd = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    api._httpd.daemon_threads = True
    print(f"fake Coverage API on {api.url} ({len(api.report)} LCDs); Ctrl-C to stop", flush=True)
    try:
        api._httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        api._httpd.server_close()


if __name__ == "__main__":
    main()
