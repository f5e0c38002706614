"""Paging through a REST endpoint into a bronze partition, with retries that honour ``Retry-After``.

The HTTP session comes from the endpoint's Airflow connection (``HttpHook.get_conn``), so the base URL,
auth and headers are the connection's: pointing Pulse at the real API instead of the simulator is a
connection change, and this code path is the same for both.

Retry policy, per page request:
- 429 and 5xx, connection errors, timeouts and bodies that are not the expected JSON are retried
  with exponential backoff and jitter; a ``Retry-After`` header, when present, sets the wait instead.
- other 4xx answers are not retried: they mean the request itself is wrong.
- when the tries run out, :class:`IngestError` names the API, the URL, the page and the last answer,
  and nothing is written: the partition that was there stays as it was.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urljoin

import msgspec
import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from pulse.lake import BronzePartitionWriter

_DECODER = msgspec.json.Decoder()

log = logging.getLogger(__name__)


class IngestError(RuntimeError):
    """An endpoint could not be ingested; the message says which, where and why.

    ``status`` is the HTTP status of the answer that ended it, when there was one (e.g. 403 or 404 for
    a client that falls back to another endpoint)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RetryableAnswer(Exception):
    """An answer worth asking again for (429, 5xx, a broken body, a lost connection)."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one page before giving up."""

    attempts: int = 6
    initial_wait: float = 0.5
    max_wait: float = 30.0
    timeout: float = 30.0


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
    backoff = wait_exponential_jitter(multiplier=policy.initial_wait, max=policy.max_wait)

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


def get_json_page(
    session: requests.Session,
    url: str,
    params: dict[str, Any] | None,
    policy: RetryPolicy,
    describe: str,
    is_valid_page: Callable[[Any], bool],
    answers: Counter | None = None,
) -> dict:
    """GET one page and return its JSON body, retrying what is worth retrying.

    ``describe`` names the request in errors ("creator_api at http://…/api/engagement page 7");
    ``answers`` counts every answer by status, for the ingest manifest.
    """
    answers = answers if answers is not None else Counter()

    def once() -> dict:
        try:
            response = session.get(url, params=params, timeout=policy.timeout)
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
            raise IngestError(f"{describe} answered {status}: {response.text[:300]}", status)
        try:
            body = decode_json(response.content)
        except ValueError as exc:
            answers["invalid_json"] += 1
            raise RetryableAnswer("answered 200 with a body that is not JSON (a truncated page?)", status) from exc
        if not is_valid_page(body):
            answers["unexpected_shape"] += 1
            raise RetryableAnswer("answered 200 with JSON that is not a page of records", status)
        return body

    def note_retry(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning("%s %s; try %d of %d, waiting %.1fs", describe, exc, state.attempt_number,
                    policy.attempts, state.upcoming_sleep)

    retrying = Retrying(
        stop=stop_after_attempt(policy.attempts),
        wait=_wait_for(policy),
        retry=retry_if_exception_type(RetryableAnswer),
        before_sleep=note_retry,
        reraise=True,
    )
    try:
        return retrying(once)
    except RetryableAnswer as exc:
        raise IngestError(f"{describe} {exc} after {policy.attempts} tries", exc.status) from exc


@dataclass(frozen=True)
class LinksNextPagination:
    """Pages shaped ``{"data": [...], "links": {"next": "<path>" | null}}`` (the creator API)."""

    records_field: str = "data"

    def is_valid_page(self, body: Any) -> bool:
        return isinstance(body, dict) and isinstance(body.get(self.records_field), list)

    def records(self, body: dict) -> list:
        return body[self.records_field]

    def next_url(self, body: dict, base_url: str) -> str | None:
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
    policy: RetryPolicy = RetryPolicy(),
) -> IngestResult:
    """Page through ``path`` from the first page to the last and replace the run date's bronze
    partition with what came back. All pages or nothing: a failure leaves the old partition."""
    started = time.monotonic()
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
            body = get_json_page(session, url, query, policy, describe, pagination.is_valid_page, answers)
            writer.add_page(page, shown, pagination.records(body))
            url, query = pagination.next_url(body, base_url), None
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
