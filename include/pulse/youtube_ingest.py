"""The YouTube Data API v3 crawl: our channels and our competitors' into creator bronze, within the daily quota.

Credentials and what to crawl come from the Airflow connection ``youtube_api`` (conn_type ``http``):

- host/schema/port: the API's base (real: ``https://www.googleapis.com``; ``/youtube/v3`` is appended);
- password: the API key (a Google Cloud project's key with the YouTube Data API v3 enabled). It is sent in the
  ``X-Goog-Api-Key`` header, which Google's APIs take as they take ``key=``, so it is never part of a URL: not
  in a log line, an error, a request log or bronze's ``request_url``. It is also registered with Airflow's log
  masker;
- extras: ``channel_ids`` (ours) and ``competitor_channel_ids`` (a JSON list or a comma-separated string of
  ``UC…`` ids), and ``daily_quota`` (the project's units a day, 10,000 unless raised; only for the log).

**The crawl** (:func:`crawl`), per run date: ``channels.list`` (``snippet,statistics,contentDetails``, 50 ids a
call) → each channel's uploads playlist (``contentDetails.relatedPlaylists.uploads``) through
``playlistItems.list``, 50 a page, following ``nextPageToken`` → ``videos.list``
(``snippet,statistics,contentDetails``) of each page's 50 video ids: that day's snapshot of every video's
counters. Bronze (``source`` ``creator``), one Delta table per dataset, ``run_date=<ds>`` partitions, rows as
every other bronze (``payload`` = the resource exactly as the API sent it): ``youtube_channels``,
``youtube_playlist_items`` and ``youtube_videos``. Silver reads none of them yet.

**Quota.** Every call is counted with its cost (:data:`QUOTA_UNITS`, NOTES' table: 1 unit a list call, every
page charged; a refused key, a quota refusal, 429s and 5xx cost nothing; other 4xx cost their unit), and the
task's log says what the crawl spent and what the day's crawls spent so far (the quota day is Pacific time, as
Google's; the sensor's 1-unit check and other users of the key's project are not in that sum). A 403
``quotaExceeded`` ends the crawl at once, never retried: what was fetched is committed to bronze, the task's
result says ``partial`` (and why), and the resume point goes to the lake's ``bronze/creator/youtube_crawl_state``
Delta table (one row per run date).

**Resuming.** A crawl *cycle* visits every configured channel once: its channel resource, its uploads, its
videos. A run crawls a whole cycle, or, when the last run before its date stopped on the quota, finishes that
cycle: it starts with the channel it stopped on, at the page it stopped on (with that page's videos first if
they were not fetched), goes on with the channels not crawled yet, and then stops even with quota left, so
nothing the stopped run kept is fetched again; the channels that run did crawl get their next snapshot in the
next cycle (a gap of one day in their series: gold shows gaps, it never fills them). A resumed page token the
API no longer takes (400 ``invalidPageToken``) restarts that channel's uploads from their first page. A rerun of
a date starts from the same point as the date's first run did, and replaces the date's bronze; a crawl that
got nothing at all before the quota ran out (the day's quota spent already) changes nothing, neither bronze nor
the resume point.

**Failures.** 5xx, 429 (and a 403 ``rateLimitExceeded``), lost connections and cut-short bodies are retried by
:func:`pulse.http_ingest.get_json_page` with the settings' :class:`~pulse.http_ingest.RetryPolicy` and one
:class:`~pulse.http_ingest.RetryBudget` per crawl; when they run out, nothing is committed. A refused key (400
``keyInvalid``, 403 ``forbidden``/``accessNotConfigured``, Google's newer ``API_KEY_INVALID`` …) fails at once,
naming the connection and what to do. An uploads playlist the API does not find (404 ``playlistNotFound``) or
a channel id it does not know is a WARNING, and the crawl goes on.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pyarrow as pa
import requests
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from pulse.http_ingest import IngestError, RetryBudget, RetryPolicy, get_json_page, id_batches
from pulse.lake import BronzePartitionWriter, partition_predicate, zone_path

log = logging.getLogger(__name__)

CONN_ID = "youtube_api"
SOURCE = "creator"
CHANNELS, PLAYLIST_ITEMS, VIDEOS = "youtube_channels", "youtube_playlist_items", "youtube_videos"
DATASETS = (CHANNELS, PLAYLIST_ITEMS, VIDEOS)
STATE_TABLE = "youtube_crawl_state"
CONNECTION_EXTRAS = ("channel_ids", "competitor_channel_ids", "daily_quota")
"""Extras of the connection that are settings, not HTTP headers (HttpHook sends every extra as one)."""
KEY_HEADER = "X-Goog-Api-Key"
API_PATH = "/youtube/v3"
MAX_IDS = 50
PAGE_SIZE = 50
MAX_PAGES = 10_000
DEFAULT_DAILY_QUOTA = 10_000
QUOTA_TIMEZONE = "America/Los_Angeles"
"""Google resets the daily quota at midnight Pacific time."""
CHANNEL_PARTS = "snippet,statistics,contentDetails"
PLAYLIST_ITEM_PARTS = "snippet,contentDetails"
VIDEO_PARTS = "snippet,statistics,contentDetails"
QUOTA_UNITS = {"channels.list": 1, "playlistItems.list": 1, "videos.list": 1, "search.list": 100}
"""Units per call (per page), from ``../shared/realdata/creator/sources/youtube_data_api_v3/NOTES.md``."""

KEY_REASONS = frozenset({"keyInvalid", "keyExpired", "forbidden", "accessNotConfigured", "ipRefererBlocked",
                         "API_KEY_INVALID", "API_KEY_EXPIRED", "SERVICE_DISABLED", "PERMISSION_DENIED",
                         "API_KEY_SERVICE_BLOCKED", "API_KEY_HTTP_REFERRER_BLOCKED", "API_KEY_IP_ADDRESS_BLOCKED"})
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"})


# --- settings and the session ---------------------------------------------------------------------

def parse_channel_ids(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Channel ids from a list, a JSON list or a comma-separated string (spaces ignored, order kept, no
    repeats)."""
    if value is None:
        return ()
    if isinstance(value, str):
        text = value.strip()
        items = json.loads(text) if text.startswith("[") else text.split(",")
    else:
        items = list(value)
    return tuple(dict.fromkeys(i for i in (str(item).strip() for item in items) if i))


@dataclass(frozen=True)
class YouTubeSettings:
    """What to crawl and with which key. ``repr`` leaves the key out."""

    api_key: str = field(repr=False)
    channel_ids: tuple[str, ...] = ()
    """Ours."""
    competitor_channel_ids: tuple[str, ...] = ()
    daily_quota: int = DEFAULT_DAILY_QUOTA
    api_name: str = CONN_ID
    """Names the API (the connection) in logs and errors."""
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    page_size: int = PAGE_SIZE
    """``maxResults`` of ``playlistItems.list`` (50, the API's most); smaller only in tests of paging."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "channel_ids", parse_channel_ids(self.channel_ids))
        object.__setattr__(self, "competitor_channel_ids", parse_channel_ids(self.competitor_channel_ids))
        if not self.api_key:
            raise ValueError(f"{self.api_name}: the API key is missing: put it in the password of the "
                             f"{self.api_name!r} connection (see README, 'YouTube set-up')")
        if not self.all_channel_ids:
            raise ValueError(f"{self.api_name}: nothing to crawl: list channel ids in the extras 'channel_ids' "
                             f"(ours) and/or 'competitor_channel_ids' of the {self.api_name!r} connection")
        if not 1 <= self.page_size <= PAGE_SIZE:
            raise ValueError(f"page_size must be 1-{PAGE_SIZE}, not {self.page_size}")

    @property
    def all_channel_ids(self) -> tuple[str, ...]:
        """Ours first, then the competitors', each once: the order a cycle crawls them in."""
        return tuple(dict.fromkeys((*self.channel_ids, *self.competitor_channel_ids)))


def settings_from_connection(connection: Any, policy: RetryPolicy | None = None) -> YouTubeSettings:
    """Settings from an Airflow connection (password and the extras :data:`CONNECTION_EXTRAS`)."""
    extra = connection.extra_dejson or {}
    return YouTubeSettings(
        api_key=connection.password or "", channel_ids=parse_channel_ids(extra.get("channel_ids")),
        competitor_channel_ids=parse_channel_ids(extra.get("competitor_channel_ids")),
        daily_quota=int(extra.get("daily_quota") or DEFAULT_DAILY_QUOTA), api_name=connection.conn_id or CONN_ID,
        policy=policy or RetryPolicy())


def api_base_url(base_url: str) -> str:
    """The API's base from a connection's base URL: ``https://www.googleapis.com`` → ``…/youtube/v3``."""
    base = base_url.rstrip("/")
    return base if base.endswith(API_PATH) else base + API_PATH


def session_from_connection(conn_id: str = CONN_ID, policy: RetryPolicy | None = None
                            ) -> tuple[requests.Session, str, YouTubeSettings]:
    """The HTTP session, API base URL and settings of the Airflow connection ``conn_id``: the http provider's
    ``HttpHook`` session (proxies, TLS and the like follow the connection) without what the API must not see
    (the settings extras as headers, Basic auth), the key registered with Airflow's log masker."""
    from airflow.providers.http.hooks.http import HttpHook
    from airflow.sdk.log import mask_secret

    hook = HttpHook(method="GET", http_conn_id=conn_id)
    session = hook.get_conn()
    settings = settings_from_connection(hook.get_connection(conn_id), policy)
    mask_secret(settings.api_key)
    session.auth = None
    for name in CONNECTION_EXTRAS:
        session.headers.pop(name, None)
    return session, api_base_url(hook.base_url), settings


# --- Google's errors ------------------------------------------------------------------------------

def google_error(body: str | None) -> tuple[str, str]:
    """``(reason, message)`` of a Google error body: the v1 shape (``error.errors[].reason``) or the
    google.rpc one (``error.details[].reason``, else ``error.status``); ``("", "")`` when it is neither."""
    try:
        error = json.loads(body or "")["error"]
    except (ValueError, KeyError, TypeError):
        return "", ""
    if not isinstance(error, dict):
        return "", ""
    message = str(error.get("message") or "")
    for item in [*(error.get("errors") or []), *(error.get("details") or [])]:
        if isinstance(item, dict) and item.get("reason"):
            return str(item["reason"]), message
    return str(error.get("status") or ""), message


class QuotaExhausted(Exception):
    """The API answered 403 ``quotaExceeded``: the crawl stops here, keeping what it fetched."""


class KeyRefused(IngestError):
    """The API refused the key (or the key's project): waiting or retrying will not help."""


def key_refused(api_name: str, status: int, reason: str, message: str) -> KeyRefused:
    advice = ("enable the YouTube Data API v3 for the key's Google Cloud project"
              if reason in ("accessNotConfigured", "SERVICE_DISABLED") else
              f"put a valid API key in the password of the {api_name!r} connection")
    return KeyRefused(f"{api_name}: the YouTube Data API refused the API key of the {api_name!r} connection "
                      f"({status} {reason or 'no reason given'}: {message or 'no message'}): {advice} "
                      "(see README, 'YouTube set-up')", status)


def probe(session: requests.Session, api_url: str, settings: YouTubeSettings, timeout: float = 30) -> requests.Response:
    """One ``channels.list`` of the first configured channel, ``part=id`` (1 quota unit): what the sensor asks
    to know that the API answers and takes the key. Connection errors are raised as requests raises them."""
    return session.get(f"{api_url}/channels", params={"part": "id", "id": settings.all_channel_ids[0]},
                       headers={KEY_HEADER: settings.api_key}, timeout=timeout, allow_redirects=False)


# --- the lake's resume state ----------------------------------------------------------------------

STATE_SCHEMA = pa.schema([
    pa.field("cycle_started", pa.date32(), nullable=False),
    pa.field("complete", pa.bool_(), nullable=False),
    pa.field("stopped", pa.string()),
    pa.field("channels_total", pa.int32(), nullable=False),
    pa.field("channels_done", pa.string(), nullable=False),
    pa.field("resume_channel_id", pa.string()),
    pa.field("resume_page_token", pa.string()),
    pa.field("resume_listing_done", pa.bool_(), nullable=False),
    pa.field("resume_video_ids", pa.string(), nullable=False),
    pa.field("quota_units", pa.int64(), nullable=False),
    pa.field("units_by_method", pa.string(), nullable=False),
    pa.field("answers", pa.string(), nullable=False),
    pa.field("quota_day", pa.date32(), nullable=False),
    pa.field("crawled_at", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("run_date", pa.date32(), nullable=False),
])


@dataclass(frozen=True)
class CrawlState:
    """Where a run date's crawl left its cycle (a row of ``bronze/creator/youtube_crawl_state``)."""

    run_date: date
    cycle_started: date
    complete: bool
    channels_done: tuple[str, ...]
    channels_total: int
    stopped: str | None = None
    resume_channel_id: str | None = None
    resume_page_token: str | None = None
    """The next uploads page of the resume channel (None: its first page, unless ``resume_listing_done``)."""
    resume_listing_done: bool = False
    resume_video_ids: tuple[str, ...] = ()
    """Listed videos of the resume channel whose ``videos.list`` the quota stopped."""
    quota_units: int = 0
    units_by_method: dict[str, int] = field(default_factory=dict)
    answers: dict[str, int] = field(default_factory=dict)
    quota_day: date | None = None
    crawled_at: datetime | None = None

    def row(self) -> dict:
        return {"cycle_started": self.cycle_started, "complete": self.complete, "stopped": self.stopped,
                "channels_total": self.channels_total, "channels_done": json.dumps(list(self.channels_done)),
                "resume_channel_id": self.resume_channel_id, "resume_page_token": self.resume_page_token,
                "resume_listing_done": self.resume_listing_done,
                "resume_video_ids": json.dumps(list(self.resume_video_ids)), "quota_units": self.quota_units,
                "units_by_method": json.dumps(self.units_by_method), "answers": json.dumps(self.answers),
                "quota_day": self.quota_day, "crawled_at": self.crawled_at, "run_date": self.run_date}

    @classmethod
    def from_row(cls, row: dict) -> CrawlState:
        return cls(run_date=row["run_date"], cycle_started=row["cycle_started"], complete=row["complete"],
                   channels_done=tuple(json.loads(row["channels_done"])), channels_total=row["channels_total"],
                   stopped=row["stopped"], resume_channel_id=row["resume_channel_id"],
                   resume_page_token=row["resume_page_token"], resume_listing_done=row["resume_listing_done"],
                   resume_video_ids=tuple(json.loads(row["resume_video_ids"])), quota_units=row["quota_units"],
                   units_by_method=json.loads(row["units_by_method"]), answers=json.loads(row["answers"]),
                   quota_day=row["quota_day"], crawled_at=row["crawled_at"])


def state_path(lake_root: str | Path):
    return zone_path(lake_root, "bronze", SOURCE, STATE_TABLE)


def read_states(lake_root: str | Path) -> list[CrawlState]:
    """Every run date's crawl state, oldest run date first; none before the first crawl."""
    from pulse.lake_storage import delta_table

    try:
        table = delta_table(state_path(lake_root), what="the YouTube crawl state")
    except FileNotFoundError:
        return []
    return sorted((CrawlState.from_row(r) for r in table.to_pyarrow_table().to_pylist()), key=lambda s: s.run_date)


def state_before(lake_root: str | Path, run_date: date) -> CrawlState | None:
    """The crawl state of the latest run date before ``run_date``: where a crawl of ``run_date`` starts."""
    earlier = [s for s in read_states(lake_root) if s.run_date < run_date]
    return earlier[-1] if earlier else None


def write_state(lake_root: str | Path, state: CrawlState) -> None:
    """Replace ``state.run_date``'s row, in one Delta commit."""
    from deltalake import write_deltalake

    from pulse.lake_storage import delta_location

    uri, options = delta_location(state_path(lake_root))
    write_deltalake(uri, pa.Table.from_pylist([state.row()], schema=STATE_SCHEMA), mode="overwrite",
                    predicate=partition_predicate([("run_date", state.run_date.isoformat())]),
                    partition_by=["run_date"], storage_options=options)


def quota_day_of(moment: datetime) -> date:
    """The quota day a moment counts against: its date in Pacific time."""
    try:
        from zoneinfo import ZoneInfo

        return moment.astimezone(ZoneInfo(QUOTA_TIMEZONE)).date()
    except (ImportError, KeyError, OSError):  # no time-zone database: Pacific standard time
        return (moment.astimezone(UTC) - timedelta(hours=8)).date()


# --- the crawl ------------------------------------------------------------------------------------

@dataclass
class Plan:
    """What a crawl does: the channels left in its cycle, and where the stopped run left the first one."""

    cycle_started: date
    done_before: tuple[str, ...]
    todo: list[str]
    resume: CrawlState | None = None

    @classmethod
    def of(cls, previous: CrawlState | None, settings: YouTubeSettings, run_date: date) -> Plan:
        configured = list(settings.all_channel_ids)
        if previous is None or previous.complete:
            return cls(run_date, (), configured)
        done = tuple(c for c in previous.channels_done if c in configured)
        todo = [c for c in configured if c not in done]
        if previous.resume_channel_id in todo:
            todo.remove(previous.resume_channel_id)
            todo.insert(0, previous.resume_channel_id)
        return cls(previous.cycle_started, done, todo, previous)


@dataclass
class Progress:
    """Where the crawl is: what a stop would record as the resume point."""

    done: list[str]
    channel: str | None = None
    page_token: str | None = None
    listing_done: bool = False
    pending_videos: list[str] = field(default_factory=list)


def _is_list(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("items", []), list)


def _short(params: dict[str, Any]) -> str:
    """A query for a log line: a long ``id=`` list counted instead of shown."""
    shown = dict(params)
    if "id" in shown and str(shown["id"]).count(",") > 1:
        shown["id"] = f"<{str(shown['id']).count(',') + 1} ids>"
    return "&".join(f"{name}={value}" for name, value in shown.items())


class _Crawler:
    """One crawl's calls: each through get_json_page, counted in quota units, into the writers."""

    def __init__(self, session: requests.Session, api_url: str, settings: YouTubeSettings) -> None:
        self.session = session
        self.api_url = api_url
        self.settings = settings
        self.answers: Counter = Counter()
        self.units: Counter = Counter()
        self.budget = RetryBudget(settings.policy.budget)
        self.missing_videos = 0

    def call(self, method: str, resource: str, params: dict[str, Any], label: str) -> tuple[dict, str]:
        """One list call: its body and its URL as bronze records it (never with the key, which goes in a
        header). Raises QuotaExhausted, KeyRefused, or IngestError."""
        url = f"{self.api_url}/{resource}"
        shown = f"{url}?{urlencode(params, safe=',')}"
        describe = f"{self.settings.api_name} at {self.api_url} on /{resource}?{_short(params)} ({label})"
        policy = self.settings.policy

        def rate_limited(exc: BaseException) -> bool:
            return isinstance(exc, IngestError) and exc.status == 403 and google_error(exc.body)[0] in RATE_REASONS

        def once() -> dict:
            answers: Counter = Counter()
            try:
                return get_json_page(self.session, url, params, policy, describe, _is_list, answers, self.budget)
            finally:
                self.answers.update(answers)
                # A call is charged when it got past the key and quota checks: every 200 (a body cut short
                # included) and the 4xx charged below; 429s, 5xx and lost connections are not.
                self.units[method] += QUOTA_UNITS[method] * answers["200"]

        # A 403 rateLimitExceeded is a burst limit, like a 429: retried with the same backoff, a few times.
        retrying = Retrying(stop=stop_after_attempt(min(policy.attempts, 4)),
                            wait=wait_exponential_jitter(multiplier=policy.initial_wait, max=policy.max_wait,
                                                         jitter=policy.initial_wait),
                            retry=retry_if_exception(rate_limited), reraise=True)
        try:
            body = retrying(once)
        except IngestError as exc:
            reason, message = google_error(exc.body)
            if exc.status == 403 and reason in QUOTA_REASONS:
                raise QuotaExhausted(f"{exc.status} {reason} on /{resource}?{_short(params)}") from None
            if exc.status in (400, 401, 403) and (reason in KEY_REASONS or exc.status == 401):
                raise key_refused(self.settings.api_name, exc.status, reason, message) from None
            if exc.status is not None and 400 <= exc.status < 500 and reason not in RATE_REASONS:
                self.units[method] += QUOTA_UNITS[method]  # an invalid request is charged too
            raise IngestError(str(exc), exc.status, exc.body) from None
        return body, shown

    def channels(self, channel_ids: Sequence[str], writer: BronzePartitionWriter) -> dict[str, str]:
        """The channel resources of ``channel_ids`` (50 a call), written; returns each found channel's uploads
        playlist id."""
        uploads: dict[str, str] = {}
        for chunk in id_batches(channel_ids, MAX_IDS):
            params = {"part": CHANNEL_PARTS, "id": ",".join(chunk)}
            body, shown = self.call("channels.list", "channels", params, f"channels {writer.pages + 1}")
            items = body.get("items", [])
            writer.add_page(writer.pages + 1, shown, items)
            for item in items:
                playlist = ((item.get("contentDetails") or {}).get("relatedPlaylists") or {}).get("uploads")
                if isinstance(item.get("id"), str) and playlist:
                    uploads[item["id"]] = playlist
            unknown = [c for c in chunk if c not in uploads]
            if unknown:
                log.warning("%s: %d channel id(s) unknown to the API (deleted, or a wrong id in the connection's "
                            "extras?), skipped: %s", self.settings.api_name, len(unknown), ", ".join(unknown))
        return uploads

    def videos(self, video_ids: Sequence[str], writer: BronzePartitionWriter, progress: Progress) -> None:
        """Today's resources of ``video_ids`` (50 a call), written; unknown ids (deleted, private) are omitted
        by the API and counted."""
        remaining = list(video_ids)
        for chunk in id_batches(video_ids, MAX_IDS):
            params = {"part": VIDEO_PARTS, "id": ",".join(chunk)}
            body, shown = self.call("videos.list", "videos", params, f"videos {writer.pages + 1}")
            items = body.get("items", [])
            writer.add_page(writer.pages + 1, shown, items)
            self.missing_videos += len(chunk) - len(items)
            remaining = remaining[len(chunk):]
            progress.pending_videos = remaining

    def uploads(self, channel_id: str, playlist_id: str, writers: dict[str, BronzePartitionWriter],
                progress: Progress, token: str | None) -> None:
        """A channel's uploads from page ``token`` (None: the first) to the last, each page's videos after it."""
        items_writer, seen, restarted = writers[PLAYLIST_ITEMS], set(), False
        while True:
            progress.page_token, progress.listing_done, progress.pending_videos = token, False, []
            params = {"part": PLAYLIST_ITEM_PARTS, "playlistId": playlist_id, "maxResults": self.settings.page_size}
            if token:
                params["pageToken"] = token
            try:
                body, shown = self.call("playlistItems.list", "playlistItems", params,
                                        f"uploads of {channel_id} page {len(seen) + 1}")
            except IngestError as exc:
                reason = google_error(exc.body)[0]
                if exc.status == 400 and reason == "invalidPageToken" and token and not restarted:
                    log.warning("%s: the API no longer takes the page token the crawl stopped at for channel %s: "
                                "its uploads start again from the first page", self.settings.api_name, channel_id)
                    token, restarted = None, True
                    continue
                if exc.status == 404:
                    log.warning("%s: the uploads playlist %s of channel %s is not found (%s): skipped",
                                self.settings.api_name, playlist_id, channel_id, reason or exc.status)
                    return
                raise
            items = body.get("items", [])
            items_writer.add_page(items_writer.pages + 1, shown, items)
            ids = list(dict.fromkeys(
                v for v in ((i.get("contentDetails") or {}).get("videoId") for i in items) if isinstance(v, str)))
            token = body.get("nextPageToken") or None
            if token in seen or len(seen) >= MAX_PAGES:
                raise IngestError(f"{self.settings.api_name} at {self.api_url}: the uploads of channel {channel_id} "
                                  "page back to a page already read")
            seen.add(token)
            # Should the quota stop the videos, the resume point is this page's videos, then the next page.
            progress.page_token, progress.listing_done, progress.pending_videos = token, token is None, ids
            self.videos(ids, writers[VIDEOS], progress)
            if token is None:
                return

    def run(self, plan: Plan, writers: dict[str, BronzePartitionWriter], progress: Progress) -> None:
        uploads = self.channels(plan.todo, writers[CHANNELS])
        resume = plan.resume
        for channel_id in plan.todo:
            resuming = resume is not None and channel_id == resume.resume_channel_id
            progress.channel = channel_id
            progress.page_token = resume.resume_page_token if resuming else None
            progress.listing_done = resume.resume_listing_done if resuming else False
            progress.pending_videos = list(resume.resume_video_ids) if resuming else []
            if channel_id in uploads:
                if resuming and resume.resume_video_ids:
                    self.videos(list(resume.resume_video_ids), writers[VIDEOS], progress)
                if not (resuming and resume.resume_listing_done):
                    self.uploads(channel_id, uploads[channel_id], writers, progress,
                                 resume.resume_page_token if resuming else None)
            progress.done.append(channel_id)
            progress.channel, progress.page_token, progress.listing_done, progress.pending_videos = (
                None, None, False, [])


def crawl(session: requests.Session, base_url: str, settings: YouTubeSettings, run_date: date,
          lake_root: str | Path) -> dict[str, Any]:
    """Crawl the configured channels for ``run_date`` into bronze (see the module's docstring): the whole
    cycle, or the rest of the cycle the last run before ``run_date`` left when the quota stopped it.

    Returns what the task logs and puts in XCom: ``records`` (all datasets), ``pages`` (pages written), one
    count per dataset, ``quota_units`` (this crawl's), ``quota_units_today`` (every run's, this quota day),
    ``partial`` and ``stopped`` (why), ``channels_crawled``/``channels_left`` and ``resumed_cycle_of``.
    ``base_url`` is the connection's (``/youtube/v3`` is appended unless there)."""
    started = time.monotonic()
    api_url = api_base_url(base_url)
    session.headers[KEY_HEADER] = settings.api_key
    previous = state_before(lake_root, run_date)
    plan = Plan.of(previous, settings, run_date)
    if plan.resume is not None:
        log.info("%s: the crawl of %s stopped on the quota (%d of %d channels crawled in the cycle begun %s): "
                 "resuming it at channel %s%s", settings.api_name, plan.resume.run_date, len(plan.done_before),
                 len(settings.all_channel_ids), plan.cycle_started, plan.resume.resume_channel_id,
                 f" (page token {plan.resume.resume_page_token})" if plan.resume.resume_page_token else "")
    crawler = _Crawler(session, api_url, settings)
    progress = Progress(done=list(plan.done_before))
    if plan.resume is not None:
        progress.channel = plan.resume.resume_channel_id
        progress.page_token = plan.resume.resume_page_token
        progress.listing_done = plan.resume.resume_listing_done
        progress.pending_videos = list(plan.resume.resume_video_ids)
    writers = {name: BronzePartitionWriter(lake_root, SOURCE, name, run_date) for name in DATASETS}
    committed: set[str] = set()
    stopped: str | None = None
    try:
        try:
            crawler.run(plan, writers, progress)
        except QuotaExhausted as exc:
            stopped = f"the daily quota ran out ({exc})"
        crawled_at = datetime.now(UTC)
        states = read_states(lake_root)
        quota_day = quota_day_of(crawled_at)
        units = sum(crawler.units.values())
        units_today = units + sum(s.quota_units for s in states if s.quota_day == quota_day and s.run_date != run_date)
        counts = {name: w.records for name, w in writers.items()}
        pages = sum(w.pages for w in writers.values())
        result = {"records": sum(counts.values()), "pages": pages, **counts, "quota_units": units,
                  "quota_units_today": units_today, "partial": stopped is not None, "stopped": stopped,
                  "channels_crawled": len(progress.done) - len(plan.done_before),
                  "channels_left": len(settings.all_channel_ids) - len(progress.done),
                  "resumed_cycle_of": plan.cycle_started.isoformat() if plan.resume is not None else None}
        if stopped and pages == 0:
            for w in writers.values():
                w.abort()
            committed.update(writers)
            log.warning("%s: %s before anything was fetched (the day's quota was spent already): bronze and the "
                        "resume point are unchanged; the next run tries again", settings.api_name, stopped)
            return result
        manifest = {"api": settings.api_name, "base_url": api_url, "run_date": run_date.isoformat(),
                    "finished_at": crawled_at.isoformat(), "channel_ids": list(settings.channel_ids),
                    "competitor_channel_ids": list(settings.competitor_channel_ids),
                    "answers": dict(crawler.answers), "quota_units": dict(crawler.units),
                    "partial": stopped is not None, "stopped": stopped}
        for name, w in writers.items():
            w.commit({**manifest, "dataset": name})
            committed.add(name)
    except BaseException:
        for name, w in writers.items():
            if name not in committed:
                w.abort()
        raise
    state = CrawlState(
        run_date=run_date, cycle_started=plan.cycle_started, complete=stopped is None,
        channels_done=tuple(progress.done), channels_total=len(settings.all_channel_ids), stopped=stopped,
        resume_channel_id=progress.channel if stopped else None,
        resume_page_token=progress.page_token if stopped else None,
        resume_listing_done=progress.listing_done if stopped else False,
        resume_video_ids=tuple(progress.pending_videos) if stopped else (), quota_units=units,
        units_by_method=dict(crawler.units), answers=dict(crawler.answers), quota_day=quota_day,
        crawled_at=crawled_at)
    write_state(lake_root, state)
    spent = ", ".join(f"{m} {n}" for m, n in sorted(crawler.units.items())) or "none"
    log.info("%s: crawled %d channel(s) in %.1fs: %s; %d quota units (%s); the quota day %s (Pacific) has used %d "
             "of %d units so far (answers: %s)", settings.api_name, result["channels_crawled"],
             time.monotonic() - started, ", ".join(f"{n} {c}" for n, c in counts.items()), units, spent, quota_day,
             units_today, settings.daily_quota, dict(crawler.answers))
    if crawler.missing_videos:
        log.info("%s: %d listed video(s) were not returned by videos.list (deleted or private since)",
                 settings.api_name, crawler.missing_videos)
    if stopped:
        where = f"channel {state.resume_channel_id}" if state.resume_channel_id else "the channel listing"
        log.warning("%s: PARTIAL crawl: %s after %d units; %d of %d channels of the cycle begun %s are crawled; what "
                    "was fetched is in bronze, and the next run resumes at %s", settings.api_name, stopped, units,
                    len(progress.done), len(settings.all_channel_ids), plan.cycle_started, where)
    return result


def ingest_youtube(run_date: date, conn_id: str = CONN_ID, lake_root: str | None = None) -> dict[str, Any]:
    """The Airflow task body: crawl with the connection ``conn_id`` into the lake."""
    from pulse.config import lake_root as configured_lake_root

    session, base_url, settings = session_from_connection(conn_id)
    with session:
        return crawl(session, base_url, settings, run_date, lake_root or configured_lake_root())


def crawl_summary_lines(lake_root: str | Path) -> list[str]:
    """Lines for a run summary: the latest crawl's state, or nothing when YouTube was never crawled."""
    states = read_states(lake_root)
    if not states:
        return []
    last = states[-1]
    if last.complete:
        status = f"complete ({len(last.channels_done)} channels)"
    else:
        status = (f"PARTIAL: {last.stopped}; {len(last.channels_done)} of {last.channels_total} channels crawled, "
                  f"the next run resumes at channel {last.resume_channel_id or '(the channel listing)'}")
    return [f"YouTube crawl (run date {last.run_date}): {status}; {last.quota_units:,} quota units "
            f"(quota day {last.quota_day}: {sum(s.quota_units for s in states if s.quota_day == last.quota_day):,})"]
