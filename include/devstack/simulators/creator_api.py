"""The creator API simulator: a stand-in for the original creator-platform media API, which is gone.

Serves the original's four resources with its field names (``../shared/realdata/creator/README.md``)
plus ``updated_at``, the version timestamp, on demographics, engagement and content. The contract is
``docs/architecture.md`` ("The creator API (and its simulator)"):

- ``GET /api/health`` → ``{"status": "ok"}``.
- ``GET /api/<resource>?start_date=YYYY-MM-DD&end_date=YYYY-MM-DD&page=N&limit=M`` (end exclusive,
  page from 1, limit ≤ 1000, default 500) or ``?days=N`` (the window ``[today-N, today)``, UTC) →
  ``{"data": [...], "meta": {"page", "limit", "total_records", "total_pages"}, "links": {"next"}}``.
- ``scale=F`` (simulator only; a real API has no such parameter): serve ``round(creators × F)`` creators
  instead of ``creators``. A creator's records are the same at every scale, so a smaller scale serves a
  subset of a larger one. ``links.next`` carries it. Pulse sends it only to a connection marked as a
  simulator (``X-Pulse-Simulator`` in its extra), from the DAG's ``simulator_scale`` param.

The data are a pure function of ``(seed, record key)``: one creator's record, or one engagement
record of a creator, platform and date, is the same in every window, process and day. Each creator
is active on 1–3 of the six platforms and has one engagement record per active platform and date
from the day they signed up; posts happen only on those (creator, platform, date) triples, so content
always joins engagement. Faults (:mod:`devstack.simulators.faults`) only add noise on top.

Run it: ``python -m devstack.simulators.creator_api --port 8765 --seed 42 --creators 1000``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import struct
import sys
import threading
import time
from bisect import bisect_right
from collections import Counter, OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from random import Random
from urllib.parse import urlencode

from devstack.simulators.faults import (
    FaultConfig,
    Noise,
    RecordShape,
    add_fault_arguments,
    noisy_records,
    parse_simulator_args,
    scaled,
)
from devstack.simulators.http_server import (
    ApiError,
    JsonApi,
    Request,
    Response,
    record_encoder,
    running_server,
    serve_until_stopped,
)

log = logging.getLogger("devstack.simulators.creator_api")

DEFAULT_LIMIT = 500
MAX_SCALE = 100.0
MAX_LIMIT = 1000
MAX_WINDOW_DAYS = 3660

PLATFORMS = ("Twitter", "Instagram", "YouTube", "TikTok", "Facebook", "LinkedIn")
CONTENT_TYPES = ("Image", "Story", "Carousel", "Audio", "Text", "Live Stream", "Video")
SEGMENTS = ("Music Production", "Education", "Digital Art", "Gaming", "Beauty", "Fitness", "Finance",
            "Writing", "Web Development", "Photography", "Fashion")
# (value, weight, ...): weights are the original dashboard's counts at ~1,000 creators; then the ages
AGE_GROUPS = (("10s", 177, 13, 19), ("20s", 443, 20, 29), ("30s", 183, 30, 39), ("40s", 81, 40, 49),
              ("50s", 73, 50, 59), ("60s", 43, 60, 69))
# weights of devices and statuses are assumptions (the README lists their values only)
TIERS = (("Free", 274), ("Basic", 249), ("Premium", 238), ("Enterprise", 239))
DEVICES = (("Mobile iOS", 30), ("Mobile Android", 28), ("Desktop", 20), ("Tablet", 13), ("Smart TV", 9))
STATUSES = (("Active", 60), ("Inactive", 25), ("Dormant", 15))
PLATFORM_COUNTS = ((1, 30), (2, 40), (3, 30))  # each creator is active on 1-3 platforms, 2 on average
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# relative chance of a post in each hour of the day (UTC)
POST_HOURS = (1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 8, 9, 9, 8, 8, 8, 9, 10, 11, 11, 9, 6, 3)

SIGNUP_START = datetime(2023, 1, 1, tzinfo=UTC)
SIGNUP_SECONDS = int((datetime(2025, 7, 1, tzinfo=UTC) - SIGNUP_START).total_seconds())

# Magnitudes (see README.md "Orders of magnitude"): reach is log-normal around a median of 8k, with
# a per-creator, a per-platform and a daily factor whose log-spreads add up to ~1.35, so that ~20% of
# rows reach 25k and ~3% reach 100k.
REACH_MEDIAN = 8000.0
REACH_SIGMA_CREATOR, REACH_SIGMA_PLATFORM, REACH_SIGMA_DAY = 1.05, 0.3, 0.8
ENGAGEMENT_RATE = 0.12  # (likes + comments + shares) / impressions, on average
VIEW_SECONDS = 48.0  # mean average_view_duration
CLICK_THROUGH = 0.035
MONETIZED_SHARE = 0.54
# median revenue per 1,000 views; a log-spread of 1.0 makes the heavy tail: ~$0.9M at 1,000 creators x 90 days
REVENUE_PER_1000_VIEWS = 1.3
VIEW_TIME_BY_TYPE = {"Image": 20.0, "Story": 18.0, "Carousel": 45.0, "Audio": 110.0, "Text": 40.0,
                     "Live Stream": 900.0, "Video": 140.0}

TITLE_WORDS = (
    ("Total", "Balanced", "Robust", "Customer-focused", "Devolved", "Distributed", "Proactive", "Virtual",
     "Future-proofed", "Optimized", "Synergized", "Object-based", "Realigned", "Universal",
     "Fully-configurable", "Self-enabling", "Operative", "Streamlined", "Visionary", "Integrated",
     "Innovative", "Focused", "Managed", "Reactive", "Seamless", "Smart", "Persistent", "Progressive",
     "Open-source", "User-friendly", "Ergonomic", "Adaptive"),
    ("full-range", "static", "systematic", "fourth-generation", "methodical", "executive", "holistic",
     "value-added", "logistical", "interactive", "responsive", "eco-centric", "human-resource", "tangible",
     "reciprocal", "dynamic", "global", "mobile", "modular", "optimizing", "radical", "scalable", "stable",
     "tertiary", "transitional", "uniform", "zero-defect", "bottom-line", "client-driven", "content-based",
     "dedicated", "exuberant"),
    ("benchmark", "neural-net", "approach", "architecture", "capability", "challenge", "concept", "database",
     "encoding", "framework", "function", "hierarchy", "initiative", "interface", "matrix", "methodology",
     "middleware", "migration", "model", "moderator", "paradigm", "portal", "process", "product", "project",
     "solution", "strategy", "synergy", "system", "task-force", "toolset", "workforce"),
)
DESCRIPTION_WORDS = (
    "form", "move", "score", "remain", "year", "player", "generation", "shake", "physical", "experience",
    "someone", "picture", "hope", "outside", "them", "with", "traditional", "teacher", "remember", "agree",
    "care", "before", "newspaper", "owner", "total", "deal", "future", "close", "occur", "church", "point",
    "pain", "back", "pressure", "analysis", "effort", "strategy", "measure", "provide", "foreign", "art",
    "enter", "create", "company", "suffer", "art", "story", "music", "light", "travel", "build", "learn",
    "share", "simple", "daily", "plan", "result", "season", "growth", "sound", "camera", "community", "new",
    "idea",
)

# The original's competitor table, whole (seed_api_samples/sample_competitors_show.csv; the two
# locations Spark's show() cut are completed). The same for every seed.
COMPETITORS = tuple(
    dict(zip(("competitor_id", "platform_name", "founding_year", "headquarter_location",
              "commission_percentage", "supported_countries", "market_share_percentage", "sentiment_score",
              "app_store_rating", "google_play_rating"), row, strict=True))
    for row in (
        ("qbkStHDYF4Ztwjh", "Patreon", 2020, "Reneeborough, Germany", 7, 20, 29.65, 4.1, 3.5, 4.2),
        ("jCoZnYTsdEZ1aJJ", "Ko-fi", 2017, "Kennethville, Canada", 15, 74, 29.09, 4.2, 4.6, 4.8),
        ("a5sdfzbWXVYbVFK", "Gumroad", 2011, "Melaniemouth, USA", 12, 64, 23.3, 3.9, 4.9, 3.3),
        ("0nWvqYHpIDoTic5", "Buy Me a Coffee", 2022, "Edwardfort, Germany", 0, 173, 3.62, 3.9, 3.8, 3.5),
        ("LoCOx0TlxjkAEtC", "Teachable", 2020, "Lambertview, Germany", 0, 46, 24.8, 3.2, 4.2, 4.5),
        ("y7XPA4bmCYNLoL2", "Podia", 2019, "North Ronald, Germany", 15, 79, 8.91, 4.9, 4.8, 3.2),
        ("8uyQNdZmlehqkMW", "Kajabi", 2014, "Nicholasfurt, USA", 0, 70, 27.83, 3.7, 2.6, 3.4),
    )
)

# Field kinds, in serving order: the README's fields, then the version timestamp.
DEMOGRAPHICS_FIELDS = {
    "user_id": "str", "age": "int", "age_group": "str", "device": "str", "creator_segment": "str",
    "signup_date": "timestamp", "active_status": "str", "subscription_tier": "str", "updated_at": "timestamp",
}
ENGAGEMENT_FIELDS = {
    "creator_id": "str", "platform": "str", "date": "date", "total_likes": "int", "total_comments": "int",
    "total_shares": "int", "average_view_duration": "float", "impressions": "int", "reach": "int",
    "click_through_rate": "float", "updated_at": "timestamp",
}
CONTENT_FIELDS = {
    "content_id": "str", "creator_id": "str", "platform": "str", "content_type": "str", "title": "str",
    "description": "str", "published_date": "timestamp", "day_of_week": "str", "time_of_day": "str",
    "likes": "int", "comments": "int", "shares": "int", "views": "int", "impressions": "int",
    "average_view_time": "float", "completion_rate": "float", "creator_segment": "str",
    "monetization_enabled": "bool", "revenue_generated": "float", "updated_at": "timestamp",
}
COMPETITOR_FIELDS = {
    "competitor_id": "str", "platform_name": "str", "founding_year": "int", "headquarter_location": "str",
    "commission_percentage": "int", "supported_countries": "int", "market_share_percentage": "float",
    "sentiment_score": "float", "app_store_rating": "float", "google_play_rating": "float",
}


# --- configuration -------------------------------------------------------------------------------

@dataclass(frozen=True)
class SimulatorConfig:
    """What the simulator serves: its seed and scale, an optional history limit, and its faults.

    ``history_days`` with ``as_of``: engagement and content exist only on dates in
    ``[as_of - history_days, as_of)``; by default history is unlimited."""

    seed: int = 42
    creators: int = 1000
    posts_per_day: float = 0.35
    """Mean posts per creator, active platform and day."""
    history_days: int | None = None
    as_of: date | None = None
    faults: FaultConfig = field(default_factory=FaultConfig)

    def __post_init__(self) -> None:
        if self.creators < 1:
            raise ValueError(f"SimulatorConfig.creators must be at least 1, not {self.creators}")
        if not 0 <= self.posts_per_day <= 20:
            raise ValueError(f"SimulatorConfig.posts_per_day must be in [0, 20], not {self.posts_per_day!r}")
        if isinstance(self.as_of, str):
            object.__setattr__(self, "as_of", date.fromisoformat(self.as_of))
        if (self.history_days is None) != (self.as_of is None):
            raise ValueError("SimulatorConfig.history_days and as_of go together: give both or neither")
        if self.history_days is not None and self.history_days < 1:
            raise ValueError(f"SimulatorConfig.history_days must be at least 1, not {self.history_days}")

    @property
    def history(self) -> tuple[date, date] | None:
        """The dates that have engagement and content, ``[first, end)``, or None when unlimited."""
        if self.as_of is None or self.history_days is None:
            return None
        return self.as_of - timedelta(days=self.history_days), self.as_of


# --- deterministic randomness --------------------------------------------------------------------

_U32 = 1.0 / 2**32
_UNPACK = {n: struct.Struct(f"<{n}I").unpack_from for n in (9, 12, 16)}
_ALPHANUMERIC = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_CHARS = bytes(_ALPHANUMERIC[i % 62] for i in range(256))  # a byte to one of 62 characters


def _uint32s(key: bytes, n: int) -> tuple[int, ...]:
    """``n`` (9, 12 or 16) pseudo-random 32-bit integers that depend on ``key`` alone."""
    return _UNPACK[n](hashlib.blake2b(key, digest_size=4 * n).digest())


def _uniforms(key: bytes, n: int) -> list[float]:
    return [v * _U32 for v in _uint32s(key, n)]


def _normals(u1: float, u2: float) -> tuple[float, float]:
    """Two independent standard normal numbers from two uniforms in [0, 1) (Box-Muller)."""
    radius = math.sqrt(-2.0 * math.log(1.0 - u1))
    return radius * math.cos(math.tau * u2), radius * math.sin(math.tau * u2)


def _lognormal_mean_one(z: float, sigma: float) -> float:
    return math.exp(sigma * z - sigma * sigma / 2)


def _alphanumeric_id(key: bytes, length: int = 15) -> str:
    """An id like the original's (15 letters and digits), from ``key``."""
    return hashlib.blake2b(b"id|" + key, digest_size=length).digest().translate(_ID_CHARS).decode()


class _Weighted:
    """Picks a value with probability proportional to its weight, from one uniform number."""

    def __init__(self, pairs: tuple[tuple, ...]) -> None:
        total = sum(p[1] for p in pairs)
        self.values = [p[0] for p in pairs]
        self.bounds = [w / total for w in accumulate(p[1] for p in pairs)]

    def index(self, u: float) -> int:
        return min(bisect_right(self.bounds, u), len(self.values) - 1)

    def pick(self, u: float):
        return self.values[self.index(u)]


_AGE_GROUPS, _TIERS = _Weighted(AGE_GROUPS), _Weighted(TIERS)
_DEVICES, _STATUSES = _Weighted(DEVICES), _Weighted(STATUSES)
_PLATFORM_COUNTS = _Weighted(PLATFORM_COUNTS)
_POST_HOURS = _Weighted(tuple(enumerate(POST_HOURS)))


def _iso_z(moment: datetime) -> str:
    return f"{moment.date().isoformat()}T{_clock(moment.hour * 3600 + moment.minute * 60 + moment.second)}Z"


def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


# --- the data set --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Channel:
    """A creator on one platform: the key prefix of their daily records and their typical reach."""

    platform: str
    key_prefix: bytes
    reach_median: float


@dataclass(frozen=True, slots=True)
class Creator:
    index: int
    record: dict
    """The demographics record."""
    signup_day: int
    """Ordinal of the signup date: the first date with engagement."""
    channels: tuple[Channel, ...]
    engagement_rate: float
    click_through: float
    view_seconds: float
    posts_per_day: float


def make_creator(seed: int, index: int, posts_per_day: float) -> Creator:
    """Creator ``index`` of ``seed``: demographics, platforms and the scales of their metrics."""
    u = _uniforms(b"%d|creator|%d" % (seed, index), 16)
    group, _, youngest, oldest = AGE_GROUPS[_AGE_GROUPS.index(u[0])]
    signup = SIGNUP_START + timedelta(seconds=int(u[4] * SIGNUP_SECONDS))
    updated = signup + timedelta(seconds=int(6 * 3600 + u[5] * 66 * 3600))
    user_id = _alphanumeric_id(b"%d|creator-id|%d" % (seed, index))
    record = {
        "user_id": user_id,
        "age": youngest + int(u[1] * (oldest - youngest + 1)),
        "age_group": group,
        "device": _DEVICES.pick(u[2]),
        "creator_segment": SEGMENTS[int(u[3] * len(SEGMENTS))],
        "signup_date": _iso_z(signup),
        "active_status": _STATUSES.pick(u[6]),
        "subscription_tier": _TIERS.pick(u[7]),
        "updated_at": _iso_z(updated),
    }
    # platforms: the first k of a seeded shuffle, in the fixed platform order
    order = sorted(range(len(PLATFORMS)),
                   key=lambda p: _uint32s(b"%d|platform|%d|%d" % (seed, index, p), 9)[0])
    chosen = sorted(order[: _PLATFORM_COUNTS.pick(u[8])])
    z_reach, z_rate = _normals(u[9], u[10])
    z_click, z_view = _normals(u[11], u[12])
    z_posts, _ = _normals(u[13], u[14])
    creator_reach = REACH_MEDIAN * math.exp(REACH_SIGMA_CREATOR * z_reach)
    channels = []
    for p in chosen:
        v = _uniforms(b"%d|channel|%d|%d" % (seed, index, p), 9)
        z_platform, _ = _normals(v[0], v[1])
        channels.append(Channel(PLATFORMS[p], b"%d|day|%d|%d|" % (seed, index, p),
                                creator_reach * math.exp(REACH_SIGMA_PLATFORM * z_platform)))
    return Creator(
        index=index,
        record=record,
        signup_day=signup.date().toordinal(),
        channels=tuple(channels),
        engagement_rate=ENGAGEMENT_RATE * _lognormal_mean_one(z_rate, 0.25),
        click_through=CLICK_THROUGH * _lognormal_mean_one(z_click, 0.3),
        view_seconds=VIEW_SECONDS * _lognormal_mean_one(z_view, 0.35),
        posts_per_day=posts_per_day * _lognormal_mean_one(z_posts, 0.5),
    )


def _poisson(mean: float, u: float) -> int:
    """The Poisson(``mean``) count at quantile ``u`` (inverse CDF)."""
    k, p = 0, math.exp(-mean)
    cdf = p
    while u > cdf and k < 100:
        k += 1
        p *= mean / k
        cdf += p
    return k


class CreatorData:
    """The simulator's true data set: every record a pure function of the seed and its key.

    The iterators yield records in serving order (engagement and content by date, then creator,
    platform and post). Callers must not change the records they get."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.seed = config.seed
        self.creators = [make_creator(config.seed, i, config.posts_per_day) for i in range(config.creators)]
        self._date_texts: dict[int, str] = {}

    def _days(self, start: date, end: date) -> range:
        """Ordinals of the window's dates that have data (inside the history, if there is one)."""
        history = self.config.history
        if history is not None:
            start, end = max(start, history[0]), min(end, history[1])
        return range(start.toordinal(), max(start.toordinal(), end.toordinal()))

    def demographics(self, end: date) -> Iterator[dict]:
        """Every creator who signed up before ``end``."""
        end_text = end.isoformat()
        return (c.record for c in self.creators if c.record["signup_date"] < end_text)

    def competitors(self) -> Iterator[dict]:
        return iter(COMPETITORS)

    def _date_text(self, day: int) -> str:
        text = self._date_texts.get(day)
        if text is None:
            text = self._date_texts[day] = date.fromordinal(day).isoformat()
        return text

    def _triples(self, start: date, end: date) -> Iterator[tuple[int, Creator, Channel, tuple[int, ...]]]:
        """``(day ordinal, creator, channel, random ints)`` for every engagement record of the window."""
        blake2b, unpack = hashlib.blake2b, _UNPACK[9]
        for day in self._days(start, end):
            day_key = b"%d" % day
            for creator in self.creators:
                if day < creator.signup_day:
                    continue
                for channel in creator.channels:
                    digest = blake2b(channel.key_prefix + day_key, digest_size=36).digest()
                    yield day, creator, channel, unpack(digest)

    def engagement(self, start: date, end: date) -> Iterator[dict]:
        """One record per creator, active platform and date in ``[start, end)`` from their signup on."""
        exp, log_, sqrt, cos, sin, tau = math.exp, math.log, math.sqrt, math.cos, math.sin, math.tau
        for day, creator, channel, ints in self._triples(start, end):
            u = [v * _U32 for v in ints]
            radius = sqrt(-2.0 * log_(1.0 - u[0]))
            z_reach, z_rate = radius * cos(tau * u[1]), radius * sin(tau * u[1])
            radius = sqrt(-2.0 * log_(1.0 - u[2]))
            z_click, z_view = radius * cos(tau * u[3]), radius * sin(tau * u[3])
            reach = max(1, int(channel.reach_median * exp(REACH_SIGMA_DAY * z_reach)))
            impressions = max(reach, int(reach * (1.1 + 0.5 * u[4])))
            rate = min(0.6, creator.engagement_rate * exp(0.35 * z_rate - 0.06125))
            interactions = int(impressions * rate)
            likes = int(interactions * (0.74 + 0.14 * u[5]))
            comments = int((interactions - likes) * (0.3 + 0.4 * u[6]))
            yield {
                "creator_id": creator.record["user_id"],
                "platform": channel.platform,
                "date": self._date_text(day),
                "total_likes": likes,
                "total_comments": comments,
                "total_shares": interactions - likes - comments,
                "average_view_duration": round(creator.view_seconds * exp(0.3 * z_view - 0.045), 2),
                "impressions": impressions,
                "reach": reach,
                "click_through_rate": round(min(0.15, creator.click_through * exp(0.4 * z_click - 0.08)), 4),
                # figures are final the morning after the day
                "updated_at": f"{self._date_text(day + 1)}T{_clock(int(u[7] * 6 * 3600))}Z",
            }

    def content(self, start: date, end: date) -> Iterator[dict]:
        """The posts published in ``[start, end)``: a Poisson number per engagement record's
        (creator, platform, date), with mean ``posts_per_day``."""
        for day, creator, channel, ints in self._triples(start, end):
            posts = _poisson(creator.posts_per_day, ints[8] * _U32)
            for n in range(posts):
                yield self._post(day, creator, channel, n)

    def _post(self, day: int, creator: Creator, channel: Channel, n: int) -> dict:
        key = channel.key_prefix + b"%d|post|%d" % (day, n)
        digest = hashlib.blake2b(key, digest_size=64).digest()
        u = [v * _U32 for v in _UNPACK[12](digest, 0)]  # 12 uniforms; bytes 48-63 pick words
        content_type = CONTENT_TYPES[int(u[0] * len(CONTENT_TYPES))]
        hour = _POST_HOURS.index(u[1])
        low = _POST_HOURS.bounds[hour - 1] if hour else 0.0
        at = hour * 3600 + min(3599, int((u[1] - low) / (_POST_HOURS.bounds[hour] - low) * 3600))
        clock = _clock(at)
        z_impressions, z_view = _normals(u[2], u[3])
        z_completion, z_revenue = _normals(u[4], u[5])
        impressions = max(1, int(channel.reach_median * 1.35 * math.exp(0.7 * z_impressions)))
        views = int(impressions * (0.3 + 0.45 * u[6]))
        monetized = u[10] < MONETIZED_SHARE
        revenue = round(views / 1000 * REVENUE_PER_1000_VIEWS * math.exp(z_revenue), 2) if monetized else 0.0
        first, second, third = TITLE_WORDS
        title = f"{first[digest[48] & 31]} {second[digest[49] & 31]} {third[digest[50] & 31]}"
        words = [DESCRIPTION_WORDS[b & 63] for b in digest[52:58 + digest[51] % 5]]
        updated = at + 6 * 3600 + int(u[11] * 30 * 3600)  # seconds after the day's midnight
        return {
            "content_id": _alphanumeric_id(key),
            "creator_id": creator.record["user_id"],
            "platform": channel.platform,
            "content_type": content_type,
            "title": title,
            "description": " ".join(words).capitalize() + ".",
            "published_date": f"{self._date_text(day)}T{clock}Z",
            "day_of_week": DAY_NAMES[(day - 1) % 7],  # ordinal 1 (0001-01-01) was a Monday
            "time_of_day": clock[:5],
            "likes": int(views * (0.05 + 0.25 * u[7])),
            "comments": int(views * (0.005 + 0.045 * u[8])),
            "shares": int(views * (0.002 + 0.023 * u[9])),
            "views": views,
            "impressions": impressions,
            "average_view_time": round(VIEW_TIME_BY_TYPE[content_type] * _lognormal_mean_one(z_view, 0.6), 2),
            "completion_rate": round(min(100.0, max(0.0, 68.0 + 17.0 * z_completion)), 2),
            "creator_segment": creator.record["creator_segment"],
            "monetization_enabled": monetized,
            "revenue_generated": revenue,
            "updated_at": f"{self._date_text(day + updated // 86400)}T{_clock(updated % 86400)}Z",
        }


# --- what noise may do to each resource -----------------------------------------------------------

def _stale_engagement(record: dict, rng: Random) -> dict:
    factor = 0.5 + 0.45 * rng.random()
    scaled(record, ("total_likes", "total_comments", "total_shares", "impressions", "reach",
                    "average_view_duration"), factor)
    return scaled(record, ("click_through_rate",), factor, digits=4)


def _stale_content(record: dict, rng: Random) -> dict:
    return scaled(record, ("likes", "comments", "shares", "views", "impressions", "average_view_time",
                           "completion_rate", "revenue_generated"), 0.5 + 0.45 * rng.random())


def _stale_demographics(record: dict, rng: Random) -> dict:
    record["subscription_tier"] = rng.choice([t for t, _ in TIERS if t != record["subscription_tier"]])
    record["active_status"] = rng.choice([s for s, _ in STATUSES if s != record["active_status"]])
    return record


SHAPES: dict[str, RecordShape] = {
    "demographics": RecordShape("demographics", ("user_id",), DEMOGRAPHICS_FIELDS, "updated_at",
                                _stale_demographics),
    "engagement": RecordShape("engagement", ("creator_id", "platform", "date"), ENGAGEMENT_FIELDS,
                              "updated_at", _stale_engagement),
    "content": RecordShape("content", ("content_id",), CONTENT_FIELDS, "updated_at", _stale_content),
    "competitors": RecordShape("competitors", ("competitor_id",), COMPETITOR_FIELDS),
}
RESOURCES = tuple(SHAPES)
_ENCODERS = {name: record_encoder(shape.fields) for name, shape in SHAPES.items()}


# --- serving -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ServedWindow:
    """A window's records as served, noise included: JSON texts and what each one is."""

    records: list[str]
    kinds: bytes
    """``Noise`` value of each record."""


class CreatorApiSimulator:
    """The HTTP face of :class:`CreatorData`: parameters, paging, noise, and a cache of windows."""

    cache_windows = 8
    cache_records = 3_000_000

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        started = time.perf_counter()
        self.data = CreatorData(config)
        self._scaled: dict[int, CreatorData] = {config.creators: self.data}
        history = "unlimited" if config.history is None else f"{config.history[0]}..{config.history[1]}"
        log.info("creator API simulator: seed %d, %d creators (%.2fs), posts/day %g, history %s, faults: %s",
                 config.seed, config.creators, time.perf_counter() - started, config.posts_per_day, history,
                 config.faults.describe())
        self.api = JsonApi("creator_api", faults=config.faults, seed=config.seed, logger=log)
        self.api.route(r"/api/health", self.health, faults=False)
        self.api.route(r"/api/(?P<resource>[^/]+)/?", self.resource)
        self._cache: OrderedDict[tuple, ServedWindow] = OrderedDict()
        self._lock = threading.Lock()

    def health(self, request: Request) -> dict:
        return {"status": "ok"}

    def resource(self, request: Request) -> Response:
        name = request.params["resource"]
        if name not in SHAPES:
            raise ApiError(404, f"unknown resource {name!r}: the creator API serves {', '.join(RESOURCES)}")
        query = request.query
        page = _int_param(query, "page", 1, 1, 10**9)
        limit = _int_param(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        window = _window(query, required=name != "competitors")
        creators = self.creators_at(query.get("scale"))
        served = self.served(name, window, creators)
        total = len(served.records)
        first = (page - 1) * limit
        records = served.records[first:first + limit]
        total_pages = -(-total // limit)
        next_link = None
        if page < total_pages:
            dates = {"start_date": window[0].isoformat(), "end_date": window[1].isoformat()} if window else {}
            scale = {"scale": query["scale"]} if "scale" in query else {}
            next_link = f"/api/{name}?" + urlencode({**dates, "page": page + 1, "limit": limit, **scale})
        meta = {"page": page, "limit": limit, "total_records": total, "total_pages": total_pages}
        body = (f'{{"data": [{", ".join(records)}], "meta": {json.dumps(meta)}, '
                f'"links": {json.dumps({"next": next_link})}}}')
        kinds = served.kinds[first:first + limit]
        extras = [f"{kinds.count(k)} {k.name.lower()}" for k in Noise if k and kinds.count(k)]
        note = f"{len(records)} records" + (f" ({', '.join(extras)})" if extras else "")
        return Response(body.encode(), note=note)

    def creators_at(self, scale_text: str | None) -> int:
        """How many creators a request's ``scale`` parameter asks for (``creators`` without one)."""
        if scale_text is None:
            return self.config.creators
        try:
            scale = float(scale_text)
        except ValueError:
            raise ApiError(400, f"scale must be a number, not {scale_text!r}") from None
        if not 0 < scale <= MAX_SCALE:
            raise ApiError(400, f"scale must be in (0, {MAX_SCALE:g}], not {scale_text}")
        return max(1, round(self.config.creators * scale))

    def data_for(self, creators: int) -> CreatorData:
        """The data set with ``creators`` creators (the first ``creators`` of the seed)."""
        with self._lock:
            if creators not in self._scaled:
                if len(self._scaled) >= 8:  # a few scales at a time are plenty
                    del self._scaled[next(n for n in self._scaled if n != self.config.creators)]
                self._scaled[creators] = CreatorData(replace(self.config, creators=creators))
            return self._scaled[creators]

    def served(self, name: str, window: tuple[date, date] | None, creators: int | None = None) -> ServedWindow:
        """The records of ``name`` in ``window`` (with ``creators`` creators, default the configured number),
        noise included, generated once and cached (LRU)."""
        creators = creators or self.config.creators
        data = self.data_for(creators)
        # demographics depend on the window's end only, competitors on nothing
        key = (name,) if window is None else (name, window[1]) if name == "demographics" else (name, *window)
        key = (creators, *key)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
            started = time.perf_counter()
            served = self._generate(data, name, window)
            self._cache[key] = served
            while len(self._cache) > 1 and (
                    len(self._cache) > self.cache_windows
                    or sum(len(w.records) for w in self._cache.values()) > self.cache_records):
                self._cache.popitem(last=False)
        counts = Counter(served.kinds)
        extras = ", ".join(f"{counts[k]} {k.name.lower()}" for k in Noise if k and counts[k])
        log.info("generated %s %s: %d records%s in %.2fs", name,
                 "" if window is None else f"{window[0]}..{window[1]}", counts[Noise.TRUE],
                 f" + {extras}" if extras else "", time.perf_counter() - started)
        return served

    def _generate(self, data: CreatorData, name: str, window: tuple[date, date] | None) -> ServedWindow:
        if name == "competitors":
            records = data.competitors()
        elif name == "demographics":
            records = data.demographics(window[1])
        else:
            records = getattr(data, name)(*window)
        shape = SHAPES[name]
        encode = _ENCODERS[name]
        on_noise = _log_noise if log.isEnabledFor(logging.DEBUG) else None
        # The fast encoder takes only the records the simulator generated; a changed type nests a value.
        fast = (Noise.TRUE, Noise.DUPLICATE) if not any(
            resource == name for resource, _ in self.config.faults.changed_types) else ()
        texts, kinds = [], bytearray()
        for kind, record in noisy_records(records, shape, self.config.faults, self.config.seed, on_noise):
            texts.append(encode(record) if kind in fast else json.dumps(record))
            kinds.append(kind)
        return ServedWindow(texts, bytes(kinds))


def _log_noise(kind: Noise, record: dict, detail: str) -> None:
    log.debug("noise: %s record %s (%s)", kind.name.lower(), json.dumps(record)[:160], detail)


def _int_param(query: dict, name: str, default: int, minimum: int, maximum: int) -> int:
    text = query.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer, not {text!r}") from None
    if not minimum <= value <= maximum:
        raise ApiError(400, f"{name} must be between {minimum} and {maximum}, not {value}")
    return value


def _date_param(query: dict, name: str) -> date:
    text = query[name]
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError(400, f"{name} must be a date written YYYY-MM-DD, not {text!r}") from None


def _window(query: dict, required: bool) -> tuple[date, date] | None:
    """``[start, end)`` from ``start_date``/``end_date``, or from ``days`` (ending today, UTC)."""
    has_dates = "start_date" in query or "end_date" in query
    if "days" in query:
        if has_dates:
            raise ApiError(400, "give either days or start_date and end_date, not both")
        days = _int_param(query, "days", 0, 1, MAX_WINDOW_DAYS)
        today = datetime.now(UTC).date()
        return today - timedelta(days=days), today
    if not has_dates:
        if required:
            raise ApiError(400, "a window is required: start_date and end_date (YYYY-MM-DD, end exclusive) "
                                "or days")
        return None
    if "start_date" not in query or "end_date" not in query:
        raise ApiError(400, "start_date and end_date go together (YYYY-MM-DD, end exclusive)")
    start, end = _date_param(query, "start_date"), _date_param(query, "end_date")
    if start >= end:
        raise ApiError(400, f"start_date {start} must be before end_date {end} (end_date is exclusive)")
    if (end - start).days > MAX_WINDOW_DAYS:
        raise ApiError(400, f"the window {start}..{end} is longer than {MAX_WINDOW_DAYS} days")
    return start, end


@contextmanager
def running_simulator(config: SimulatorConfig | None = None, host: str = "127.0.0.1",
                      port: int = 0) -> Iterator[str]:
    """Serve the simulator from a background thread on ``host:port`` (0: a free port).

    Yields the base URL, ``http://127.0.0.1:<port>``; the server stops on exit."""
    simulator = CreatorApiSimulator(config or SimulatorConfig())
    with running_server(simulator.api, host, port) as base_url:
        yield base_url


# --- command line --------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, SimulatorConfig]:
    parser = argparse.ArgumentParser(prog="python -m devstack.simulators.creator_api",
                                     description="Serve the creator API simulator until SIGTERM or SIGINT.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--creators", type=int, default=1000)
    parser.add_argument("--posts-per-day", type=float, default=0.35,
                        help="mean posts per creator, active platform and day")
    parser.add_argument("--history-days", type=int,
                        help="serve engagement and content only for this many days before --as-of")
    parser.add_argument("--as-of", type=date.fromisoformat,
                        help="the (exclusive) end of the history, YYYY-MM-DD")
    add_fault_arguments(parser, RESOURCES, "true records")
    return parse_simulator_args(parser, argv, lambda args, faults: SimulatorConfig(
        seed=args.seed, creators=args.creators, posts_per_day=args.posts_per_day, history_days=args.history_days,
        as_of=args.as_of, faults=faults))


def main(argv: list[str] | None = None) -> None:
    args, config = parse_args(argv)
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(message)s")
    simulator = CreatorApiSimulator(config)
    serve_until_stopped(simulator.api, args.host, args.port, [f"seed {config.seed}, {config.creators} creators"])


if __name__ == "__main__":
    main()
