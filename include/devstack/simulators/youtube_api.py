"""The YouTube Data API v3 simulator, on real data: the public list calls a channel crawl makes.

Shapes and types follow the discovery document (``../shared/realdata/creator/sources/youtube_data_api_v3/
youtube.v3.json``), the recorded bodies and the error bodies beside it, and its ``NOTES.md``. What it serves:

- ``GET /youtube/v3/channels?part=…&id=UC…,UC…`` (≤ 50 ids): ``snippet``, ``statistics`` (counters as
  strings), ``contentDetails.relatedPlaylists.uploads`` (``"UU" + id[2:]``, as the real API).
- ``GET /youtube/v3/playlistItems?part=…&playlistId=UU…&maxResults=N&pageToken=T``: a channel's uploads,
  newest first, ``maxResults`` 0-50 (default 5), opaque page tokens, ``nextPageToken`` absent on the last
  page, ``prevPageToken`` after the first. An unknown playlist answers the real 404 ``playlistNotFound``.
- ``GET /youtube/v3/videos?part=…&id=…`` (≤ 50 ids): ``snippet``, ``statistics``, ``contentDetails``.
- Every call needs the configured API key, as ``key=`` or in the ``X-Goog-Api-Key`` header (Google's APIs take
  both; the header keeps the key out of URLs and request logs): a wrong key answers the real 400 ``keyInvalid`` body,
  none at all a 403. ``part`` is required; a part the resource does not have answers 400 ``unknownPart``.
  Parts the resource has but the dataset cannot fill (``status``, ``topicDetails``…) are accepted and absent.
- Unknown ids in ``channels.list`` and ``videos.list`` are dropped silently, as the real API does.
  ``dislikeCount`` is never sent (private since 2021-12-13). ``favoriteCount`` is always ``"0"``.
- ``GET /health`` → ``{"status": "ok"}`` and ``GET /simulator/status`` (the clock, the date mapping and the
  quota used today): not part of YouTube, for the sensor and for tests.

**The data is real** (``../shared/realdata/creator/datasets/``):

- ``youtube_trending_US_2017.csv``: 200 trending videos a day, 13 Sep - 22 Oct 2017, each with its real
  counters of the day (views, likes, comment_total). The file's traps (``PROVENANCE.md``) are handled so:
  ``date`` is ``DD.MM`` with October written ``D.1`` (``1.1`` … ``22.1``); a ``DD.MM`` followed by an 11-character
  video id (a row boundary lost upstream: ``26.0903jeumSTSzc``) is that day; the 4 rows dated ``100`` cannot be
  placed and are dropped. ``#NAME?`` video ids (ids starting with ``-`` that a spreadsheet took for a formula)
  are recovered from ``thumbnail_link`` (``…/vi/<id>/default.jpg``, which equals the id in every other row).
  A repeated (video, day) keeps its highest counters (the later capture: counters only grow). A video's title,
  tags, category and channel are those of its last trending day; a channel title that only appears on the
  earlier rows of a video filed under another title (3 channels renamed during the 40 days) is not a channel.
- ``global_youtube_statistics_2023.csv``: the top 995 channels of 2023, channel statistics only (subscribers,
  ``video views`` from its scientific notation, uploads, country, creation date). Their uploads playlists are
  empty: the dataset has none of their videos. Their counters are the same on every day.

**Days.** The simulator has a clock: ``as_of`` (``--as-of`` / ``PULSE_YOUTUBE_SIM_AS_OF``, default today UTC)
is its today at start, and it moves on with the UTC date while it runs. The dataset's last trending day
(2017-10-22) is mapped to ``as_of - 1``, keeping day offsets: trending day ``t`` is ``t + (as_of - 1 -
2017-10-22)``. A request on day ``D`` sees each video with the counters of its latest trending day mapped to
``D`` or before (after its last trending day they stay at the last values); a video whose first trending day
maps after ``D`` is absent, and its ``publishedAt`` is its first trending day, mapped, at 00:00:00Z (the v1
file has no publish time). The real API only gives today's counters; the simulator's clock is what a test
moves: the header ``X-Pulse-Simulator-Date: YYYY-MM-DD`` (simulator only) answers one request as on that day.

**Ids.** Video ids are the real ones. Channels have titles, not ids, in the trending file: a channel's id is
``"UC"`` + the first 16 bytes of BLAKE2b(``"<dataset file>|<channel title>"``) in URL-safe base64 (22 characters,
the last one of ``AQgw`` as in real ids), so the same title in the two datasets, six years apart, is two channels.

**Channel statistics** of a trending channel are what its videos give on the day: ``viewCount`` the sum of its
videos' views, ``videoCount`` how many are published; the file has no subscriber counts, so they are served as
hidden (``hiddenSubscriberCount: true``, no ``subscriberCount``), which real clients must handle anyway. A
channel is served on every day, with ``videoCount`` ``"0"`` before its first video is published.
Fields the datasets do not have are absent rather than made up (video ``duration``, ``definition``, ``caption``;
channel thumbnails and handles); descriptions, which they lack too, are ``""``.

**Error bodies.** ``keyInvalid``, ``quotaExceeded`` and ``playlistNotFound`` are the recorded/transcribed bodies,
byte for byte in content (Google's ``\u003c`` escaping included). The others (a missing key, ``required``,
``unknownPart``, ``missingRequiredParameter``, ``invalidParameter``, ``invalidPageToken``) have the same v1 shape
with reasons from NOTES and the API's documentation; their message texts are not transcriptions.

**Quota.** Each list call costs 1 unit (NOTES: every page is charged; invalid requests too; a refused key is
not a project's call and costs nothing). ``daily_quota`` (default 10,000) units a day; once spent, calls answer
the real 403 ``quotaExceeded`` body until the simulator's day changes (the real quota resets at midnight
Pacific; the simulator's days are its clock's). Each day has its own count.

**Page tokens** are opaque: URL-safe base64 of the offset and a check bound to the playlist; a token that is
not one answers 400 ``invalidPageToken``. ``pageInfo.totalResults`` of an uploads playlist is an estimate: it
counts every video of the channel in the dataset, published yet or not, as the real count includes videos
that are not listed; page by ``nextPageToken``, never by the total.

Faults (:mod:`devstack.simulators.faults`): fail rate (502), 429 bursts with ``Retry-After``, slow and
truncated answers, broken pages (resources :data:`FAULT_RESOURCES`; ``playlist_items`` page
``offset // maxResults + 1``), down. Fault answers carry Google's error shape. Record noise (malformed,
duplicate, changed types) is not simulated here: the config refuses it.

Run it: ``python -m devstack.simulators.youtube_api --port 8767 --as-of 2026-12-04``.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import hmac
import json
import logging
import os
import re
import struct
import sys
import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from devstack.simulators.faults import FaultConfig, FaultDecision, add_fault_arguments, parse_simulator_args
from devstack.simulators.http_server import (
    JsonApi,
    Request,
    Response,
    Route,
    _Handler,
    running_server,
    serve_until_stopped,
)

log = logging.getLogger("devstack.simulators.youtube_api")


class _KeyRedaction(logging.Filter):
    """Request lines carry ``key=`` in their URL: the log shows ``key=***`` instead of the API key."""

    _KEY = re.compile(r"([?&]key=)[^&\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "key=" in message:
            record.msg, record.args = self._KEY.sub(r"\1***", message), ()
        return True


if not any(isinstance(f, _KeyRedaction) for f in log.filters):
    log.addFilter(_KeyRedaction())

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_DATASETS = REPO_ROOT.parent / "shared" / "realdata" / "creator" / "datasets"
TRENDING_FILE = "youtube_trending_US_2017.csv"
GLOBAL_FILE = "global_youtube_statistics_2023.csv"
DEFAULT_API_KEY = "pulse-youtube-sim-key"
AS_OF_ENV = "PULSE_YOUTUBE_SIM_AS_OF"
DATE_HEADER = "X-Pulse-Simulator-Date"
KEY_HEADER = "X-Goog-Api-Key"
FIRST_TRENDING_DAY = date(2017, 9, 13)
LAST_TRENDING_DAY = date(2017, 10, 22)
DEFAULT_MAX_RESULTS = 5
MAX_RESULTS = 50
MAX_IDS = 50
FAULT_RESOURCES = ("channels", "playlist_items", "videos")
# The parts each resource has (its schema's properties but kind and etag), and those the simulator fills.
RESOURCE_PARTS = {
    "channels": frozenset({"auditDetails", "brandingSettings", "contentDetails", "contentOwnerDetails",
                           "conversionPings", "id", "localizations", "snippet", "statistics", "status",
                           "topicDetails"}),
    "playlistItems": frozenset({"contentDetails", "id", "snippet", "status"}),
    "videos": frozenset({"ageGating", "brandPartner", "contentDetails", "fileDetails", "id",
                         "liveStreamingDetails", "localizations", "monetizationDetails",
                         "paidProductPlacementDetails", "player", "processingDetails", "projectDetails",
                         "recordingDetails", "snippet", "statistics", "status", "suggestions", "topicDetails"}),
}
SERVED_PARTS = frozenset({"id", "snippet", "statistics", "contentDetails"})
MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                                      "Dec"), start=1)}

_TRENDING_DATE = re.compile(r"(\d{1,2})\.(09|1)(?:[A-Za-z0-9_-]{11})?")
_VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_THUMBNAIL_ID = re.compile(r"/vi/([A-Za-z0-9_-]{11})/")


# --- configuration -------------------------------------------------------------------------------

def default_as_of() -> date:
    """``PULSE_YOUTUBE_SIM_AS_OF`` when set, else today (UTC)."""
    text = os.environ.get(AS_OF_ENV)
    return date.fromisoformat(text) if text else datetime.now(UTC).date()


@dataclass(frozen=True)
class SimulatorConfig:
    """What the simulator serves: its datasets, clock, key, quota and faults."""

    as_of: date = field(default_factory=default_as_of)
    """Today at start: the dataset's last trending day is mapped to the day before."""
    datasets: Path = DEFAULT_DATASETS
    api_key: str = field(default=DEFAULT_API_KEY, repr=False)
    daily_quota: int = 10_000
    seed: int = 0
    """Seeds the request-level faults only: the data is the datasets'."""
    faults: FaultConfig = field(default_factory=FaultConfig)

    def __post_init__(self) -> None:
        if isinstance(self.as_of, str):
            object.__setattr__(self, "as_of", date.fromisoformat(self.as_of))
        if isinstance(self.as_of, datetime):
            object.__setattr__(self, "as_of", self.as_of.date())
        object.__setattr__(self, "datasets", Path(self.datasets))
        if self.daily_quota < 0:
            raise ValueError(f"SimulatorConfig.daily_quota cannot be negative, not {self.daily_quota}")
        if not self.api_key:
            raise ValueError("SimulatorConfig.api_key cannot be empty")
        if self.faults.adds_record_noise:
            raise ValueError("the YouTube simulator adds no record noise (malformed, duplicate, changed types): "
                             "its records are the real datasets'; use the request-level faults")

    @property
    def day_offset(self) -> timedelta:
        """What to add to a trending day to get its simulated day."""
        return (self.as_of - timedelta(days=1)) - LAST_TRENDING_DAY


# --- the datasets --------------------------------------------------------------------------------

def channel_id_of(dataset: str, title: str) -> str:
    """A stable channel id, ``UC`` + 22 URL-safe base64 characters, from the dataset and the channel title."""
    digest = hashlib.blake2b(f"{dataset}|{title}".encode(), digest_size=16).digest()
    return "UC" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def uploads_playlist_of(channel_id: str) -> str:
    return "UU" + channel_id[2:]


def parse_trending_date(text: str) -> date | None:
    """``13.09`` → 2017-09-13, ``1.1`` → 2017-10-01 (October lost its trailing zero), ``26.0903jeumSTSzc`` →
    2017-09-26 (a video id glued on); anything else (``100``) → None."""
    match = _TRENDING_DATE.fullmatch(text.strip())
    if not match:
        return None
    day, month = int(match.group(1)), 9 if match.group(2) == "09" else 10
    try:
        return date(2017, month, day)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Video:
    id: str
    title: str
    channel_id: str
    channel_title: str
    category_id: str
    tags: tuple[str, ...]
    thumbnail: str
    days: tuple[int, ...]
    """Trending days with counters, as days since :data:`FIRST_TRENDING_DAY`, ascending."""
    counters: tuple[tuple[int, int, int], ...]
    """``(views, likes, comments)`` of each of ``days``."""

    @property
    def first_day(self) -> int:
        return self.days[0]


@dataclass(frozen=True, slots=True)
class Channel:
    id: str
    title: str
    dataset: str
    video_ids: tuple[str, ...] = ()
    """Newest first (first trending day descending, then id)."""
    subscribers: int | None = None
    views: int | None = None
    uploads: int | None = None
    country: str | None = None
    created: date | None = None


def _int_or_none(text: str) -> int | None:
    try:
        return int(Decimal(text))
    except (InvalidOperation, ValueError):
        return None


def three_significant_figures(count: int) -> int:
    """Public subscriber counts are rounded down to three significant figures (NOTES)."""
    if count < 1000:
        return count
    scale = 10 ** (len(str(count)) - 3)
    return count // scale * scale


class YouTubeData:
    """The two datasets, loaded once and indexed: videos by id, channels by id, uploads by playlist."""

    def __init__(self, folder: Path) -> None:
        trending, global_file = folder / TRENDING_FILE, folder / GLOBAL_FILE
        for path in (trending, global_file):
            if not path.is_file():
                raise FileNotFoundError(f"YouTube simulator: {path} not found; it needs the real datasets of "
                                        f"../shared/realdata/creator/datasets (or --datasets DIR)")
        self.videos: dict[str, Video] = {}
        self.channels: dict[str, Channel] = {}
        self.dropped_rows = 0
        self._load_trending(trending)
        self._load_global(global_file)
        self.uploads = {uploads_playlist_of(c): c for c in self.channels}

    def _load_trending(self, path: Path) -> None:
        counters: dict[str, dict[int, tuple[int, int, int]]] = {}
        latest: dict[str, tuple[int, dict]] = {}
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                day = parse_trending_date(row["date"])
                video_id = row["video_id"]
                if not _VIDEO_ID.fullmatch(video_id):
                    found = _THUMBNAIL_ID.search(row["thumbnail_link"])
                    video_id = found.group(1) if found else ""
                if day is None or not video_id:
                    self.dropped_rows += 1
                    continue
                index = (day - FIRST_TRENDING_DAY).days
                values = (int(row["views"]), int(row["likes"]), int(row["comment_total"]))
                days = counters.setdefault(video_id, {})
                days[index] = max(days.get(index, values), values)
                if video_id not in latest or index >= latest[video_id][0]:
                    latest[video_id] = (index, row)
        by_channel: dict[str, list[Video]] = {}
        for video_id, (_, row) in latest.items():
            days = sorted(counters[video_id])
            title = row["channel_title"]
            tags = () if row["tags"].strip() == "[none]" else tuple(t.strip('"') for t in row["tags"].split("|"))
            video = Video(video_id, row["title"], channel_id_of(TRENDING_FILE, title), title, row["category_id"],
                          tags, row["thumbnail_link"], tuple(days),
                          tuple(counters[video_id][d] for d in days))
            self.videos[video_id] = video
            by_channel.setdefault(title, []).append(video)
        for title, videos in sorted(by_channel.items()):
            videos.sort(key=lambda v: (-v.first_day, v.id))
            channel_id = channel_id_of(TRENDING_FILE, title)
            self.channels[channel_id] = Channel(channel_id, title, TRENDING_FILE, tuple(v.id for v in videos))

    def _load_global(self, path: Path) -> None:
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                title = row["Youtuber"]
                channel_id = channel_id_of(GLOBAL_FILE, title)
                created = None
                month = MONTHS.get(row["created_month"])
                year, day = _int_or_none(row["created_year"]), _int_or_none(row["created_date"])
                if month and year and day:
                    created = date(year, month, day)
                country = row["Abbreviation"] if row["Abbreviation"] not in ("", "nan") else None
                self.channels[channel_id] = Channel(
                    channel_id, title, GLOBAL_FILE, (), _int_or_none(row["subscribers"]),
                    _int_or_none(row["video views"]), _int_or_none(row["uploads"]), country, created)

    @staticmethod
    def counters_on(video: Video, index: int) -> tuple[int, int, int] | None:
        """The video's counters on dataset day ``index`` (its latest trending day up to it), None before its first."""
        at = bisect_right(video.days, index)
        return video.counters[at - 1] if at else None


# --- error bodies --------------------------------------------------------------------------------

def _google_json(value: Any) -> bytes:
    """JSON as Google writes it: ``<`` and ``>`` escaped as ``\\u003c`` and ``\\u003e``."""
    text = json.dumps(value, ensure_ascii=False, indent=2)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").encode()


def google_error(code: int, message: str, reason: str, domain: str = "global", *, location: str | None = None,
                 status: str | None = None, headers: dict[str, str] | None = None,
                 errors_first: bool = False) -> Response:
    """A v1 error body: ``{"error": {"code", "message", "errors": [{message, domain, reason, …}], "status"?}}``."""
    item = {"message": message, "domain": domain, "reason": reason}
    if location:
        item.update(location=location, locationType="parameter")
    body: dict[str, Any] = ({"errors": [item], "code": code, "message": message} if errors_first
                            else {"code": code, "message": message, "errors": [item]})
    if status:
        body["status"] = status
    return Response(_google_json({"error": body}), code, dict(headers or {}), note=reason)


QUOTA_MESSAGE = ('The request cannot be completed because you have exceeded your '
                 '<a href="/youtube/v3/getting-started#quota">quota</a>.')
PLAYLIST_NOT_FOUND = ("The playlist identified with the request's <code>playlistId</code> parameter cannot be "
                      "found.")


def key_invalid() -> Response:
    """The real 400 ``keyInvalid`` body (sns-sdks fixture ``error_response.json``)."""
    body = {"error": {"errors": [{"domain": "usageLimits", "reason": "keyInvalid", "message": "Bad Request"}],
                      "code": 400, "message": "Bad Request"}}
    return Response(_google_json(body), 400, note="keyInvalid")


def quota_exceeded() -> Response:
    """The real 403 ``quotaExceeded`` body (``error_bodies_transcribed/403_quotaExceeded.json``)."""
    item = {"message": QUOTA_MESSAGE, "domain": "youtube.quota", "reason": "quotaExceeded"}
    return Response(_google_json({"error": {"code": 403, "message": QUOTA_MESSAGE, "errors": [item]}}), 403,
                    note="quotaExceeded")


class Refusal(Exception):
    """A handler's error answer (Google-shaped), raised to end the handler."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.note)
        self.response = response


def _bad_parameter(reason: str, message: str, location: str) -> Refusal:
    return Refusal(google_error(400, message, reason, "youtube.parameter", location=location))


# --- HTTP: the date header -----------------------------------------------------------------------

_REQUEST_DAY: ContextVar[str | None] = ContextVar("youtube_request_day", default=None)
_REQUEST_KEY: ContextVar[str | None] = ContextVar("youtube_request_key", default=None)


class _DateHeaderHandler(_Handler):
    """http_server's handler, handing the ``X-Pulse-Simulator-Date`` and ``X-Goog-Api-Key`` headers to the
    handlers."""

    def _serve(self) -> None:
        token = _REQUEST_DAY.set(self.headers.get(DATE_HEADER))
        key_token = _REQUEST_KEY.set(self.headers.get(KEY_HEADER))
        try:
            super()._serve()
        finally:
            _REQUEST_KEY.reset(key_token)
            _REQUEST_DAY.reset(token)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


_FAULT_ERRORS = {
    429: ("rateLimitExceeded", "usageLimits", "RESOURCE_EXHAUSTED"),
    404: ("notFound", "global", "NOT_FOUND"),
    405: ("methodNotAllowed", "global", None),
    500: ("backendError", "global", "INTERNAL"),
    502: ("backendError", "global", None),
    503: ("backendError", "global", "UNAVAILABLE"),
}


class _YouTubeJsonApi(JsonApi):
    """A JsonApi whose own error answers (faults, unknown paths) carry Google's error shape."""

    def _respond(self, route: Route | None, request: Request, decision: FaultDecision) -> Response:
        response = super()._respond(route, request, decision)
        if response.status == 200:
            return response
        try:
            error = json.loads(response.body)["error"]
        except (ValueError, KeyError, TypeError):
            return response
        if set(error) != {"status", "message"}:
            return response  # a handler's Google-shaped answer
        reason, domain, status = _FAULT_ERRORS.get(response.status, ("backendError", "global", None))
        converted = google_error(response.status, error["message"], reason, domain, status=status,
                                 headers=response.headers)
        converted.note = response.note
        return converted


def _page_of_token(token: str | None, max_results: int) -> int:
    if not token:
        return 1
    decoded = decode_page_token(token)
    return 1 + (decoded[0] // max(1, max_results) if decoded else 0)


def fault_target(request: Request) -> tuple[str, int] | None:
    """The ``(resource, page)`` of a request, for ``broken_pages`` (resources: :data:`FAULT_RESOURCES`)."""
    path = request.path
    if path == "/youtube/v3/playlistItems":
        try:
            max_results = int(request.query.get("maxResults") or DEFAULT_MAX_RESULTS)
        except ValueError:
            max_results = DEFAULT_MAX_RESULTS
        return "playlist_items", _page_of_token(request.query.get("pageToken"), max_results)
    if path in ("/youtube/v3/channels", "/youtube/v3/videos"):
        return path.rsplit("/", 1)[1], 1
    return None


# --- page tokens ---------------------------------------------------------------------------------

def _token_check(playlist_id: str, offset: int) -> bytes:
    return hashlib.blake2b(f"{playlist_id}|{offset}".encode(), digest_size=4).digest()


def page_token(playlist_id: str, offset: int) -> str:
    """An opaque token for the page of ``playlist_id`` that starts at ``offset``."""
    raw = _token_check(playlist_id, offset) + struct.pack(">I", offset)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str, playlist_id: str | None = None) -> tuple[int, bytes] | None:
    """``(offset, check)`` of a token (checked against ``playlist_id`` when given), None when it is not one."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError):
        return None
    if len(raw) != 8:
        return None
    offset = struct.unpack(">I", raw[4:])[0]
    if playlist_id is not None and not hmac.compare_digest(raw[:4], _token_check(playlist_id, offset)):
        return None
    return offset, raw[:4]


# --- the API -------------------------------------------------------------------------------------

def _etag(value: Any) -> str:
    digest = hashlib.blake2b(json.dumps(value, sort_keys=True).encode(), digest_size=20).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _midnight(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


class YouTubeApiSimulator:
    """The HTTP face of :class:`YouTubeData`: key, parts, paging, the clock, the quota and faults."""

    def __init__(self, config: SimulatorConfig, clock: Callable[[], datetime] | None = None,
                 data: YouTubeData | None = None) -> None:
        self.config = config
        started = time.perf_counter()
        self.data = data or YouTubeData(config.datasets)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._started_on = self._clock().astimezone(UTC).date()
        self._quota_used: dict[date, int] = {}
        self._lock = threading.Lock()
        d = self.data
        trending = sum(1 for c in d.channels.values() if c.dataset == TRENDING_FILE)
        log.info("YouTube API simulator: as of %s (trending day %s is %s), %d videos, %d trending channels, "
                 "%d channels of 2023, %d unplaceable rows dropped (%.2fs), quota %d units/day, faults: %s",
                 config.as_of, LAST_TRENDING_DAY, config.as_of - timedelta(days=1), len(d.videos), trending,
                 len(d.channels) - trending, d.dropped_rows, time.perf_counter() - started, config.daily_quota,
                 config.faults.describe())
        api = _YouTubeJsonApi("youtube_api", faults=config.faults, seed=config.seed, logger=log,
                              fault_target=fault_target)
        api.route(r"/health", self.health, faults=False)
        api.route(r"/simulator/status", self.status, faults=False)
        api.route(r"/youtube/v3/channels", self._guarded("channels", self.channels))
        api.route(r"/youtube/v3/playlistItems", self._guarded("playlistItems", self.playlist_items))
        api.route(r"/youtube/v3/videos", self._guarded("videos", self.videos))
        self.api = api

    def banner(self) -> list[str]:
        first = FIRST_TRENDING_DAY + self.config.day_offset
        key = "the default, " + DEFAULT_API_KEY if self.config.api_key == DEFAULT_API_KEY else "as given"
        return [f"API key: --api-key ({key}): the youtube_api connection's password",
                f"trending days 2017-09-13..2017-10-22 are served as {first}..{self.config.as_of - timedelta(1)}",
                f"today: {self.today()}; a request's {DATE_HEADER} header answers it as on another day"]

    @contextmanager
    def serving(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Serve from a background thread; yields the base URL. Stopped on exit."""
        with running_server(self.api, host, port, _DateHeaderHandler) as base_url:
            yield base_url

    # the clock and the quota

    def today(self) -> date:
        """The simulator's day: ``as_of`` on the day it started, then one more with each UTC midnight."""
        return self.config.as_of + (self._clock().astimezone(UTC).date() - self._started_on)

    def request_day(self) -> date:
        text = _REQUEST_DAY.get()
        if text is None:
            return self.today()
        try:
            return date.fromisoformat(text.strip())
        except ValueError:
            raise Refusal(google_error(400, f"{DATE_HEADER} must be YYYY-MM-DD, not {text!r} (simulator only)",
                                       "invalidSimulatorDate")) from None

    def quota_used(self, day: date) -> int:
        with self._lock:
            return self._quota_used.get(day, 0)

    def _charge(self, day: date, units: int = 1) -> None:
        with self._lock:
            used = self._quota_used.get(day, 0)
            if used + units > self.config.daily_quota:
                raise Refusal(quota_exceeded())
            self._quota_used[day] = used + units

    def dataset_index(self, day: date) -> int:
        """The dataset day (days since 2017-09-13) that simulated ``day`` shows."""
        return (day - self.config.day_offset - FIRST_TRENDING_DAY).days

    # handlers

    def health(self, request: Request) -> dict:
        return {"status": "ok"}

    def status(self, request: Request) -> dict | Response:
        today = self.today()
        try:
            day = self.request_day()
        except Refusal as refusal:
            return refusal.response
        return {"today": today.isoformat(), "as_of": self.config.as_of.isoformat(), "day": day.isoformat(),
                "first_trending_day_served_on": (FIRST_TRENDING_DAY + self.config.day_offset).isoformat(),
                "last_trending_day_served_on": (LAST_TRENDING_DAY + self.config.day_offset).isoformat(),
                "quota": {"daily_limit": self.config.daily_quota, "used": self.quota_used(day)}}

    def _guarded(self, resource: str, handler: Callable[[Request, date, frozenset[str]], Response]
                 ) -> Callable[[Request], Response]:
        """Key, day, quota and parts, in the real API's order, before ``handler``."""

        def guarded(request: Request) -> Response:
            try:
                key = request.query.get("key")
                if key is None:
                    key = _REQUEST_KEY.get()
                if key is None:
                    return google_error(403, "The request is missing a valid API key.", "forbidden",
                                        status="PERMISSION_DENIED")
                if not hmac.compare_digest(key.encode(), self.config.api_key.encode()):
                    return key_invalid()
                day = self.request_day()
                self._charge(day)
                parts = self._parts(request, resource)
                return handler(request, day, parts)
            except Refusal as refusal:
                return refusal.response

        return guarded

    @staticmethod
    def _parts(request: Request, resource: str) -> frozenset[str]:
        text = request.query.get("part")
        if not text:
            raise Refusal(google_error(400, "Required parameter: part", "required", location="part"))
        parts = [p.strip() for p in text.split(",")]
        for part in parts:
            if part not in RESOURCE_PARTS[resource]:
                raise Refusal(google_error(400, f"'{part}'", "unknownPart", "youtube.part", location="part"))
        return frozenset(parts)

    @staticmethod
    def _ids(request: Request, filters: str) -> list[str]:
        text = request.query.get("id")
        if text is None:
            raise Refusal(google_error(400, f"No filter selected. Expected one of: {filters}",
                                       "missingRequiredParameter", "youtube.parameter"))
        ids = list(dict.fromkeys(i.strip() for i in text.split(",") if i.strip()))
        if len(ids) > MAX_IDS:
            raise _bad_parameter("invalidParameter", f"The id parameter takes at most {MAX_IDS} ids, "
                                 f"not {len(ids)}.", "id")
        return ids

    @staticmethod
    def _max_results(request: Request) -> int:
        text = request.query.get("maxResults")
        if text is None or text == "":
            return DEFAULT_MAX_RESULTS
        try:
            value = int(text)
        except ValueError:
            value = -1
        if not 0 <= value <= MAX_RESULTS:
            raise _bad_parameter("invalidParameter", f"Invalid value '{text}'. Values must be within the range: "
                                 f"[0, {MAX_RESULTS}]", "maxResults")
        return value

    @staticmethod
    def _list(kind: str, items: list[dict], total: int, per_page: int, **tokens: str) -> Response:
        body: dict[str, Any] = {"kind": f"youtube#{kind}ListResponse", "etag": _etag([i["etag"] for i in items])}
        body.update(tokens)
        body["pageInfo"] = {"totalResults": total, "resultsPerPage": per_page}
        body["items"] = items
        return Response(json.dumps(body, ensure_ascii=False).encode(), note=f"{len(items)} items")

    def channels(self, request: Request, day: date, parts: frozenset[str]) -> Response:
        ids = self._ids(request, "categoryId,forHandle,forUsername,id,managedByMe,mine,mySubscribers")
        found = [self.channel_resource(self.data.channels[i], day, parts) for i in ids if i in self.data.channels]
        return self._list("channel", found, len(found), DEFAULT_MAX_RESULTS)

    def videos(self, request: Request, day: date, parts: frozenset[str]) -> Response:
        ids = self._ids(request, "chart,id,myRating")
        index = self.dataset_index(day)
        found = []
        for video_id in ids:
            video = self.data.videos.get(video_id)
            counters = self.data.counters_on(video, index) if video else None
            if counters is not None:
                found.append(self.video_resource(video, counters, parts))
        return self._list("video", found, len(found), len(found))

    def playlist_items(self, request: Request, day: date, parts: frozenset[str]) -> Response:
        playlist_id = request.query.get("playlistId")
        if not playlist_id:
            raise Refusal(google_error(400, "No filter selected. Expected one of: id, playlistId",
                                       "missingRequiredParameter", "youtube.parameter"))
        max_results = self._max_results(request)
        channel_id = self.data.uploads.get(playlist_id)
        if channel_id is None:
            raise Refusal(google_error(404, PLAYLIST_NOT_FOUND, "playlistNotFound", "youtube.playlistItem",
                                       location="playlistId"))
        offset = 0
        if request.query.get("pageToken"):
            decoded = decode_page_token(request.query["pageToken"], playlist_id)
            if decoded is None:
                raise _bad_parameter("invalidPageToken", "The request specifies an invalid page token.",
                                     "pageToken")
            offset = decoded[0]
        channel = self.data.channels[channel_id]
        index = self.dataset_index(day)
        listed = [v for v in (self.data.videos[i] for i in channel.video_ids) if v.first_day <= index]
        page = listed[offset:offset + max_results]
        items = [self.playlist_item_resource(channel, playlist_id, video, offset + n, parts)
                 for n, video in enumerate(page)]
        tokens = {}
        if offset + max_results < len(listed):
            tokens["nextPageToken"] = page_token(playlist_id, offset + max_results)
        if offset > 0:
            tokens["prevPageToken"] = page_token(playlist_id, max(0, offset - max_results))
        return self._list("playlistItem", items, len(channel.video_ids), max_results, **tokens)

    # resources

    def published_on(self, video: Video) -> date:
        return FIRST_TRENDING_DAY + timedelta(days=video.first_day) + self.config.day_offset

    @staticmethod
    def _thumbnails(video: Video) -> dict:
        base = video.thumbnail.rsplit("/", 1)[0]
        return {"default": {"url": video.thumbnail, "width": 120, "height": 90},
                "medium": {"url": f"{base}/mqdefault.jpg", "width": 320, "height": 180},
                "high": {"url": f"{base}/hqdefault.jpg", "width": 480, "height": 360}}

    @staticmethod
    def _resource(kind: str, resource_id: str, parts: dict[str, Any]) -> dict:
        body = {"kind": f"youtube#{kind}", "etag": _etag([resource_id, parts]), "id": resource_id}
        body.update(parts)
        return body

    def channel_resource(self, channel: Channel, day: date, parts: frozenset[str]) -> dict:
        served: dict[str, Any] = {}
        if "snippet" in parts:
            snippet: dict[str, Any] = {"title": channel.title, "description": ""}
            if channel.created:
                snippet["publishedAt"] = _midnight(channel.created)
            snippet["localized"] = {"title": channel.title, "description": ""}
            if channel.country:
                snippet["country"] = channel.country
            served["snippet"] = snippet
        if "contentDetails" in parts:
            served["contentDetails"] = {"relatedPlaylists": {"likes": "", "uploads": uploads_playlist_of(channel.id)}}
        if "statistics" in parts:
            if channel.dataset == TRENDING_FILE:
                index = self.dataset_index(day)
                views = [self.data.counters_on(self.data.videos[v], index) for v in channel.video_ids]
                published = [c for c in views if c is not None]
                served["statistics"] = {"viewCount": str(sum(c[0] for c in published)),
                                        "hiddenSubscriberCount": True, "videoCount": str(len(published))}
            else:
                stats: dict[str, Any] = {"viewCount": str(channel.views or 0)}
                if channel.subscribers is not None:
                    stats["subscriberCount"] = str(three_significant_figures(channel.subscribers))
                stats["hiddenSubscriberCount"] = channel.subscribers is None
                stats["videoCount"] = str(channel.uploads or 0)
                served["statistics"] = stats
        return self._resource("channel", channel.id, served)

    def video_resource(self, video: Video, counters: tuple[int, int, int], parts: frozenset[str]) -> dict:
        served: dict[str, Any] = {}
        if "snippet" in parts:
            snippet: dict[str, Any] = {"publishedAt": _midnight(self.published_on(video)),
                                       "channelId": video.channel_id, "title": video.title, "description": "",
                                       "thumbnails": self._thumbnails(video), "channelTitle": video.channel_title}
            if video.tags:
                snippet["tags"] = list(video.tags)
            snippet.update(categoryId=video.category_id, liveBroadcastContent="none",
                           localized={"title": video.title, "description": ""})
            served["snippet"] = snippet
        if "contentDetails" in parts:
            served["contentDetails"] = {}  # no duration, definition or caption in the dataset: none made up
        if "statistics" in parts:
            views, likes, comments = counters
            served["statistics"] = {"viewCount": str(views), "likeCount": str(likes), "favoriteCount": "0",
                                    "commentCount": str(comments)}
        return self._resource("video", video.id, served)

    def playlist_item_resource(self, channel: Channel, playlist_id: str, video: Video, position: int,
                               parts: frozenset[str]) -> dict:
        item_id = base64.b64encode(f"{playlist_id}.{_etag(video.id)[:16].upper()}".encode()).decode()
        published = _midnight(self.published_on(video))
        served: dict[str, Any] = {}
        if "snippet" in parts:
            served["snippet"] = {
                "publishedAt": published, "channelId": channel.id, "title": video.title, "description": "",
                "thumbnails": self._thumbnails(video), "channelTitle": channel.title, "playlistId": playlist_id,
                "position": position, "resourceId": {"kind": "youtube#video", "videoId": video.id},
                "videoOwnerChannelTitle": channel.title, "videoOwnerChannelId": channel.id}
        if "contentDetails" in parts:
            served["contentDetails"] = {"videoId": video.id, "videoPublishedAt": published}
        return self._resource("playlistItem", item_id, served)


@contextmanager
def running_simulator(config: SimulatorConfig | None = None, host: str = "127.0.0.1",
                      port: int = 0) -> Iterator[str]:
    """Serve the simulator from a background thread on ``host:port`` (0: a free port); yields the base URL
    (the API is under ``/youtube/v3``). The server stops on exit."""
    with YouTubeApiSimulator(config or SimulatorConfig()).serving(host, port) as base_url:
        yield base_url


# --- command line --------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, SimulatorConfig]:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.simulators.youtube_api",
        description="Serve the YouTube Data API v3 simulator (real 2017 trending and 2023 channel data) until "
                    "SIGTERM or SIGINT.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--as-of", type=date.fromisoformat, default=None,
                        help=f"today at start, YYYY-MM-DD (default ${AS_OF_ENV}, else today UTC); the dataset's "
                             "last trending day is served as the day before")
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS,
                        help="the folder of youtube_trending_US_2017.csv and global_youtube_statistics_2023.csv")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--daily-quota", type=int, default=10_000, help="units a day (each list call costs 1)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the request-level faults")
    add_fault_arguments(parser, FAULT_RESOURCES, "records (not simulated here)", late_updates=False)
    return parse_simulator_args(parser, argv, lambda args, faults: SimulatorConfig(
        as_of=args.as_of or default_as_of(), datasets=args.datasets, api_key=args.api_key,
        daily_quota=args.daily_quota, seed=args.seed, faults=faults))


def main(argv: list[str] | None = None) -> None:
    args, config = parse_args(argv)
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(message)s")
    try:
        simulator = YouTubeApiSimulator(config)
    except FileNotFoundError as exc:
        sys.exit(str(exc))
    serve_until_stopped(simulator.api, args.host, args.port, simulator.banner(), _DateHeaderHandler)


if __name__ == "__main__":
    main()
