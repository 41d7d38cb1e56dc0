"""An httpx client of the CMS Coverage API (api.coverage.cms.gov): report list, LCD data, revisions.

Every request goes through one loop (`_request`) with one policy, in or out of Prefect:
- a polite client-side rate limit: at least `min_interval` seconds between request starts;
- 401 on a token endpoint: fetch a new license-agreement token ONCE and repeat the request;
- 429: wait Retry-After seconds (capped), then retry; 5xx, timeouts, connection errors and bodies that
  are not a complete JSON envelope: retry with exponential backoff; at most `attempts` tries in all;
- other 4xx fail at once; a 200 with an empty `data` is an answer ("no such version"), not a fault.
`sleep` and `clock` are injectable so tests run the real loop without real waiting.
"""

from __future__ import annotations

import functools
import logging
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx

from pipeline import __version__
from pipeline.sources import DEFAULT_BASE_URL
from pipeline.sources.records import (
    ChangeReason,
    Envelope,
    EnvelopeError,
    LcdData,
    ReportEntry,
    RevisionEntry,
    lcd_number,
    parse_envelope,
    parse_lcd_data,
    parse_reason,
    parse_report_entry,
    parse_retry_after,
    parse_revision,
    parse_token,
)

TOKEN_PATH = "/v1/metadata/license-agreement"
REPORT_PATH = "/v1/reports/local-coverage-final-lcds"
LCD_PATH = "/v1/data/lcd"
REVISION_HISTORY_PATH = "/v1/data/lcd/revision-history"
REASON_CHANGE_PATH = "/v1/data/lcd/reason-change"

# ApiError.kind values; the first five are transient and retried.
TRANSIENT_KINDS = ("timeout", "connection", "server_error", "rate_limited", "invalid_response")
ERROR_KINDS = (*TRANSIENT_KINDS, "auth", "client_error")

log = logging.getLogger(__name__)
T = TypeVar("T")


class ApiError(Exception):
    """A request that failed for good (after its retries); str() is a one-line reason."""

    def __init__(self, kind: str, message: str, url: str, status: int | None = None, attempts: int = 1) -> None:
        if kind not in ERROR_KINDS:
            raise ValueError(f"unknown ApiError kind {kind!r}")
        self.kind = kind
        self.url = url
        self.status = status
        self.attempts = attempts
        self.message = " ".join(str(message).split())
        tries = f" ({attempts} attempts)" if attempts > 1 else ""
        super().__init__(f"{self.message}: GET {url}{tries}")

    def __reduce__(self) -> tuple:
        """Pickle by constructor arguments (Prefect may persist a failed task's exception)."""
        return (type(self), (self.kind, self.message, self.url, self.status, self.attempts))

    @property
    def transient(self) -> bool:
        """Whether this kind of fault can go away on its own (the next run retries it)."""
        return self.kind in TRANSIENT_KINDS


class TokenError(ApiError):
    """The license-agreement token could not be obtained: every token-protected call would fail."""


@dataclass(frozen=True)
class RetryPolicy:
    """How many times, and after how long, a transiently failed request is tried again."""

    attempts: int = 5  # tries in all, the first one included
    backoff: float = 1.0  # seconds before the first retry; doubled for each further retry
    backoff_max: float = 30.0
    retry_after_max: float = 60.0  # a server asking for longer than this gets this

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed try number `attempt` (1-based)."""
        return min(self.backoff_max, self.backoff * 2 ** max(0, attempt - 1))


@dataclass(frozen=True)
class ApiSettings:
    """Where the API is and how politely and patiently to talk to it."""

    base_url: str = DEFAULT_BASE_URL
    timeout: float = 30.0  # seconds, per request (connect, read, write, pool)
    min_interval: float = 0.2  # seconds between the starts of two requests
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_pages: int = 1000  # report pages followed before paging is declared a loop


@dataclass
class RequestStats:
    """What a client has done so far."""

    requests: int = 0
    retries: int = 0
    token_fetches: int = 0


class CoverageApiClient:
    """The Coverage API endpoints the pipeline uses, with token handling, retries and a rate limit."""

    def __init__(
        self,
        settings: ApiSettings | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings or ApiSettings()
        self.base_url = self.settings.base_url.rstrip("/")
        self.stats = RequestStats()
        self._sleep = sleep
        self._clock = clock
        self._token: str | None = None
        self._last_start: float | None = None
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(self.settings.timeout),
            headers={"Accept": "application/json", "User-Agent": f"lcd-pipeline/{__version__}"},
            follow_redirects=True,
            transport=transport,
            verify=_ssl_context(),
        )

    def __enter__(self) -> CoverageApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # --- endpoints -------------------------------------------------------------------------------

    def token(self, refresh: bool = False) -> str:
        """The license-agreement token (fetched once, again when `refresh`); TokenError if unobtainable."""
        if self._token is None or refresh:
            self._token = None
            try:
                self._token = self._request(TOKEN_PATH, None, auth=False, parse=parse_token)
            except ApiError as exc:
                raise TokenError(exc.kind, f"no license-agreement token: {exc.message}", exc.url, exc.status, exc.attempts) from exc
            self.stats.token_fetches += 1
        return self._token

    def report_pages(self) -> Iterator[Envelope]:
        """Every page of the local-coverage final LCDs report, following meta.next_token."""
        next_token: str | None = None
        seen: set[str] = set()
        for _ in range(self.settings.max_pages):
            params = {"next_token": next_token} if next_token else None
            page = self._request(REPORT_PATH, params, auth=False, parse=parse_envelope)
            yield page
            if not page.next_token:
                return
            if page.next_token in seen:
                raise ApiError("invalid_response", f"report paging repeats next_token {page.next_token!r}", self.url_for(REPORT_PATH, params))
            seen.add(page.next_token)
            next_token = page.next_token
        raise ApiError("invalid_response", f"report has more than {self.settings.max_pages} pages", self.url_for(REPORT_PATH))

    def report(self) -> list[ReportEntry]:
        """The current LCD versions the report lists (one entry per lcd_id and version, report order)."""
        entries: dict[tuple[str, str], ReportEntry] = {}
        for page in self.report_pages():
            for record in page.records:
                entry = parse_report_entry(record)
                if entry is not None:
                    entries.setdefault((entry.lcd_id, entry.version), entry)
        return list(entries.values())

    def lcd(self, lcd_id: str, version: str) -> LcdData:
        """The LCD data record of one version; `found` is False when the API has no such version."""
        params = {"lcdid": lcd_number(lcd_id), "ver": str(version)}
        envelope = self._request(LCD_PATH, params, auth=True, parse=parse_envelope)
        return parse_lcd_data(lcd_id, str(version), self.url_for(LCD_PATH, params), envelope.records)

    def revision_history(self, lcd_id: str, version: str) -> list[RevisionEntry]:
        """The revision-history rows served for one version (empty when the endpoint has none)."""
        params = {"lcdid": lcd_number(lcd_id), "ver": str(version)}
        envelope = self._request(REVISION_HISTORY_PATH, params, auth=True, parse=parse_envelope, missing_ok=True)
        return [parse_revision(record) for record in envelope.records] if envelope else []

    def reasons_for_change(self, lcd_id: str, version: str) -> list[ChangeReason]:
        """The reasons for change of one version (empty when the endpoint has none)."""
        params = {"lcdid": lcd_number(lcd_id), "ver": str(version)}
        envelope = self._request(REASON_CHANGE_PATH, params, auth=True, parse=parse_envelope, missing_ok=True)
        reasons = [parse_reason(record) for record in envelope.records] if envelope else []
        return [reason for reason in reasons if reason is not None]

    def url_for(self, path: str, params: dict[str, str] | None = None) -> str:
        """The absolute URL of a request, as recorded in errors and sync state."""
        query = f"?{urlencode(params)}" if params else ""
        return f"{self.base_url}{path}{query}"

    # --- the request loop ------------------------------------------------------------------------

    def _throttle(self) -> None:
        """Wait until `min_interval` has passed since the previous request started."""
        if self._last_start is not None:
            wait = self._last_start + self.settings.min_interval - self._clock()
            if wait > 0:
                self._sleep(wait)
        self._last_start = self._clock()

    def _request(
        self,
        path: str,
        params: dict[str, str] | None,
        *,
        auth: bool,
        parse: Callable[[Any], T],
        missing_ok: bool = False,
    ) -> T | None:
        """GET `path` and parse its JSON with `parse`, under the retry policy (see the module docstring)."""
        url = self.url_for(path, params)
        policy = self.settings.retry
        refreshed = False
        attempt = 0
        while True:
            headers = {"Authorization": f"Bearer {self.token()}"} if auth else None
            self._throttle()
            self.stats.requests += 1
            outcome = self._try_once(path, params, headers, parse)
            if isinstance(outcome, _Answer):
                return outcome.value
            if outcome.kind == "auth" and auth and not refreshed:
                # An expired token: one fresh token and the same request again; a second 401 is final.
                refreshed = True
                self.token(refresh=True)
                continue
            attempt += 1
            if outcome.status == 404 and missing_ok:
                return None
            if outcome.kind not in TRANSIENT_KINDS or attempt >= policy.attempts:
                raise ApiError(outcome.kind, outcome.message, url, outcome.status, attempt)
            delay = policy.delay(attempt) if outcome.wait is None else min(outcome.wait, policy.retry_after_max)
            log.info("Coverage API %s (try %d of %d), retrying in %.2fs: %s", outcome.message, attempt, policy.attempts, delay, url)
            self.stats.retries += 1
            self._sleep(delay)

    def _try_once(
        self,
        path: str,
        params: dict[str, str] | None,
        headers: dict[str, str] | None,
        parse: Callable[[Any], T],
    ) -> _Answer | _Fault:
        """One GET: the parsed answer, or what went wrong (with the wait a 429 asked for)."""
        try:
            response = self._http.get(path, params=params, headers=headers)
        except httpx.TimeoutException as exc:
            return _Fault("timeout", f"timed out after {self.settings.timeout:g}s ({type(exc).__name__})")
        except httpx.TransportError as exc:
            return _Fault("connection", f"{type(exc).__name__}: {exc}")
        status = response.status_code
        if status == 401:
            return _Fault("auth", "HTTP 401 (license token missing or expired)", status)
        if status == 429:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            return _Fault("rate_limited", "HTTP 429 Too Many Requests", status, wait)
        if status >= 500:
            return _Fault("server_error", f"HTTP {status}", status)
        if not 200 <= status < 300:
            return _Fault("client_error", f"HTTP {status}", status)
        try:
            return _Answer(parse(response.json()))
        except ValueError as exc:  # json.JSONDecodeError and EnvelopeError are ValueErrors
            what = "response envelope" if isinstance(exc, EnvelopeError) else "JSON body"
            reason = getattr(exc, "msg", None) or str(exc)
            return _Fault("invalid_response", f"invalid {what} ({len(response.content)} bytes): {reason}", status)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying TLS context (certifi's CA bundle) per process: building it costs ~0.1 s per client."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


@dataclass(frozen=True)
class _Answer:
    """A successfully parsed response (tells 'parsed to None' apart from a fault)."""

    value: Any


@dataclass(frozen=True)
class _Fault:
    """What one failed try returned: ApiError kind, reason, HTTP status, and the wait a 429 asked for."""

    kind: str
    message: str
    status: int | None = None
    wait: float | None = None
