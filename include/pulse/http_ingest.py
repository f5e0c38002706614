"""Paging through a REST endpoint into a bronze partition, with retries that honour ``Retry-After``.

The HTTP session comes from the endpoint's Airflow connection (``HttpHook.get_conn``), so the base URL,
auth and headers are the connection's: pointing Pulse at the real API instead of the simulator is a
connection change, and this code path is the same for both.

Retry policy (:class:`RetryPolicy`, from the ``PULSE_HTTP_*`` settings of :mod:`pulse.config`):
- 429 and 5xx, connection errors, timeouts and bodies cut short are retried with jittered exponential
  backoff; a ``Retry-After`` header, when present, sets the wait instead (capped at the longest wait).
- other 4xx answers are not retried: they mean the request itself is wrong; nor is a 200 HTML page (the
  connection points at a web site, not at the API).
- one run (one ingest, one crawl) spends at most a budget of retries (:class:`RetryBudget`) across all
  its requests, so an API that fails most requests is not hammered for hours.
- when the tries or the budget run out, :class:`IngestError` names the API, the URL, the page and the
  last answer, and nothing is written: the partition that was there stays as it was.

Paging never leaves the connection's scheme, host and port (:func:`ensure_same_origin`): a next link,
or a redirect, that points elsewhere fails the page, naming both hosts, before anything (a credential
least of all) is sent there.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import msgspec
import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_any,
    wait_exponential_jitter,
)

from pulse import config
from pulse.lake import BronzePartitionWriter

_DECODER = msgspec.json.Decoder()

log = logging.getLogger(__name__)


class IngestError(RuntimeError):
    """An endpoint could not be ingested; the message says which, where and why.

    ``status`` is the HTTP status of the answer that ended it, when there was one (e.g. 403 or 404 for
    a client that falls back to another endpoint); ``body`` that answer's body (an error's reason may be
    deeper in it than the message shows)."""

    def __init__(self, message: str, status: int | None = None, body: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class RetryableAnswer(Exception):
    """An answer worth asking again for (429, 5xx, a broken body, a lost connection)."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one request, and one run, before giving up. The defaults are the settings of
    :mod:`pulse.config`, read when a policy is made."""

    attempts: int = field(default_factory=config.http_attempts)
    """Tries per request, the first included."""
    initial_wait: float = field(default_factory=config.http_retry_wait_seconds)
    """The first backoff; it doubles with each try, plus up to as much again of jitter."""
    max_wait: float = field(default_factory=config.http_retry_max_wait_seconds)
    """The longest wait between two tries, a ``Retry-After`` included."""
    timeout: float = 30.0
    budget: float = field(default_factory=config.http_retry_budget)
    """Retries a run may spend per page it received, beyond the first :attr:`RetryBudget.FLOOR`."""


class RetryBudget:
    """The retries one run may spend across all its requests: :attr:`FLOOR`, plus ``per_page`` for each
    page received. At 30 % failed requests a run spends about 0.45 retries per page; an API failing far
    more than the budget allows is not worth hammering, and the run fails with its last answer."""

    FLOOR = 20

    def __init__(self, per_page: float) -> None:
        self.per_page = per_page
        self.retries = 0
        self.pages = 0

    def allows_retry(self) -> bool:
        return math.isinf(self.per_page) or self.retries < self.FLOOR + self.per_page * self.pages

    def describe(self) -> str:
        return (f"this run's retry budget is spent ({self.retries} retries for {self.pages} pages received; "
                f"it allows {self.FLOOR} plus {self.per_page:g} per page: PULSE_HTTP_RETRY_BUDGET)")


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _wait_for(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    backoff = wait_exponential_jitter(multiplier=policy.initial_wait, max=policy.max_wait,
                                      jitter=policy.initial_wait)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableAnswer) and exc.retry_after is not None:
            return min(exc.retry_after, policy.max_wait)
        return backoff(state)

    return wait


def decode_json(content: bytes) -> Any:
    """A JSON body decoded with msgspec (several times faster than the standard library on record pages);
    what msgspec refuses but Python's json reads (a number beyond 64 bits, NaN) falls back to json."""
    try:
        return _DECODER.decode(content)
    except msgspec.MsgspecError:
        return json.loads(content)  # raises ValueError (JSONDecodeError) when it is not JSON at all


_DEFAULT_PORTS = {"http": 80, "https": 443}
_BODY_SHOWN = 80
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body")


def origin(url: str) -> str:
    """``scheme://host:port`` of a URL, the port written out (80 for http, 443 for https)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is not a number
        port = parts.netloc.rpartition(":")[2]
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


def ensure_same_origin(url: str, base_url: str, describe: str, link: str = "next link") -> str:
    """``url`` when it is on ``base_url``'s scheme, host and port; else :class:`IngestError`, naming both.
    Called before a link from an answer is followed, so nothing, a credential least of all, goes there."""
    if origin(url) != origin(base_url):
        raise IngestError(
            f"{describe}: its {link} points at {origin(url)}, not at the connection's {origin(base_url)}: "
            "not followed, so nothing (no credential either) was sent there; if the API really moved, point "
            "the connection at it")
    return url


def describe_body(response: requests.Response) -> str:
    """What an unreadable body is: its content type, length and first bytes (escaped, cut short)."""
    content = response.content
    shown = repr(content[:_BODY_SHOWN].decode("utf-8", errors="replace"))
    more = "…" if len(content) > _BODY_SHOWN else ""
    kind = response.headers.get("Content-Type") or "no Content-Type"
    return f"{kind}, {len(content):,} bytes, starting {shown}{more}"


def looks_like_html(response: requests.Response) -> bool:
    kind = (response.headers.get("Content-Type") or "").lower()
    return "html" in kind or response.content[:512].lstrip().lower().startswith(_HTML_STARTS)


def id_batches(ids: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    """``ids`` in consecutive batches of at most ``size``: what an API that takes many ids a call gets."""
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def get_json_page(
    session: requests.Session,
    url: str,
    params: dict[str, Any] | None,
    policy: RetryPolicy,
    describe: str,
    is_valid_page: Callable[[Any], bool],
    answers: Counter | None = None,
    budget: RetryBudget | None = None,
) -> dict:
    """GET one page and return its JSON body, retrying what is worth retrying.

    ``describe`` names the request in errors ("creator_api at http://…/api/engagement page 7");
    ``answers`` counts every answer by status, for the ingest manifest; ``budget`` is the run's, shared
    by all its requests (without one, this request's tries are the only limit).
    """
    answers = answers if answers is not None else Counter()
    budget = budget if budget is not None else RetryBudget(per_page=math.inf)

    def no_redirect_elsewhere(response: requests.Response, **_: Any) -> requests.Response:
        # requests runs this on each answer before following its redirect (and drops only Authorization
        # on the way to another host: not the connection's other headers)
        if response.is_redirect:
            target = urljoin(response.url, response.headers["Location"])
            ensure_same_origin(target, response.url, describe, f"{response.status_code} redirect")
        return response

    def once() -> dict:
        try:
            # a request's hooks replace the session's of the same kind: keep those
            hooks = {"response": [*session.hooks.get("response", []), no_redirect_elsewhere]}
            response = session.get(url, params=params, timeout=policy.timeout, hooks=hooks)
        except (requests.ConnectionError, requests.Timeout) as exc:
            answers["connection_error"] += 1
            raise RetryableAnswer(f"could not be reached ({type(exc).__name__})") from exc
        answers[str(response.status_code)] += 1
        status = response.status_code
        if status == 429 or status >= 500:
            raise RetryableAnswer(
                f"answered {status}", status, parse_retry_after(response.headers.get("Retry-After"))
            )
        if status >= 400:
            raise IngestError(f"{describe} answered {status}: {response.text[:300]}", status, response.text)
        try:
            body = decode_json(response.content)
        except ValueError as exc:
            answers["invalid_json"] += 1
            if looks_like_html(response):
                raise IngestError(f"{describe} answered {status} with a body that is not JSON "
                                  f"({describe_body(response)}): this looks like an HTML page: is the "
                                  "connection's host the API?", status) from exc
            raise RetryableAnswer(f"answered {status} with a body that is not JSON (a truncated page?): "
                                  f"{describe_body(response)}", status) from exc
        if not is_valid_page(body):
            answers["unexpected_shape"] += 1
            raise RetryableAnswer("answered 200 with JSON that is not a page of records", status)
        return body

    def note_retry(state: RetryCallState) -> None:
        budget.retries += 1
        exc = state.outcome.exception() if state.outcome else None
        log.warning("%s %s; try %d of %d, waiting %.1fs", describe, exc, state.attempt_number,
                    policy.attempts, state.upcoming_sleep)

    retrying = Retrying(
        stop=stop_any(stop_after_attempt(policy.attempts), lambda state: not budget.allows_retry()),
        wait=_wait_for(policy),
        retry=retry_if_exception_type(RetryableAnswer),
        before_sleep=note_retry,
        reraise=True,
    )
    try:
        body = retrying(once)
    except RetryableAnswer as exc:
        tries = retrying.statistics.get("attempt_number", policy.attempts)
        why = f": {budget.describe()}" if tries < policy.attempts else ""
        raise IngestError(f"{describe} {exc} after {tries} tries{why}", exc.status) from exc
    budget.pages += 1
    return body


@dataclass(frozen=True)
class LinksNextPagination:
    """Pages shaped ``{"data": [...], "links": {"next": "<path>" | null}}`` (the creator API)."""

    records_field: str = "data"

    def is_valid_page(self, body: Any) -> bool:
        return isinstance(body, dict) and isinstance(body.get(self.records_field), list)

    def records(self, body: dict) -> list:
        return body[self.records_field]

    def next_url(self, body: dict, base_url: str) -> str | None:
        """The next page's URL (``links.next`` read against ``base_url``), or None on the last page. The
        caller checks it stays on the connection (:func:`ensure_same_origin`)."""
        nxt = (body.get("links") or {}).get("next")
        return urljoin(base_url + "/", nxt) if nxt else None


@dataclass(frozen=True)
class IngestResult:
    endpoint: str
    run_date: date
    pages: int
    records: int
    seconds: float
    answers: dict[str, int]
    partition: str


def ingest_endpoint(
    *,
    session: requests.Session,
    base_url: str,
    api_name: str,
    source: str,
    endpoint: str,
    path: str,
    params: dict[str, Any],
    run_date: date,
    lake_root: str,
    pagination: LinksNextPagination = LinksNextPagination(),
    policy: RetryPolicy | None = None,
) -> IngestResult:
    """Page through ``path`` from the first page to the last and replace the run date's bronze
    partition with what came back. All pages or nothing: a failure leaves the old partition.
    ``policy``: the settings' :class:`RetryPolicy` when not given."""
    started = time.monotonic()
    policy = policy or RetryPolicy()
    budget = RetryBudget(policy.budget)
    base_url = base_url.rstrip("/")
    url: str | None = f"{base_url}/{path.lstrip('/')}"
    query: dict[str, Any] | None = dict(params)
    answers: Counter = Counter()
    writer = BronzePartitionWriter(lake_root, source, endpoint, run_date)
    page = 0
    try:
        while url:
            page += 1
            shown = f"{url}?{urlencode(query)}" if query else url
            describe = f"{api_name} at {base_url} on {shown} (page {page})"
            body = get_json_page(session, url, query, policy, describe, pagination.is_valid_page, answers,
                                 budget)
            writer.add_page(page, shown, pagination.records(body))
            url, query = pagination.next_url(body, base_url), None
            if url:
                ensure_same_origin(url, base_url, describe, "links.next")
        partition = writer.commit(
            {
                "api": api_name,
                "base_url": base_url,
                "endpoint": endpoint,
                "params": params,
                "run_date": run_date.isoformat(),
                "finished_at": datetime.now(UTC).isoformat(),
                "answers": dict(answers),
            }
        )
    except BaseException:
        writer.abort()
        raise
    result = IngestResult(endpoint, run_date, writer.pages, writer.records,
                          round(time.monotonic() - started, 3), dict(answers), str(partition))
    log.info("ingested %s: %d records on %d pages in %.1fs into %s (answers: %s)", endpoint,
             result.records, result.pages, result.seconds, partition, dict(answers))
    return result
