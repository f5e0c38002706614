"""TikTok Studio's "Download data": ``Content`` and ``Overview`` read, its audience files recognised.

The download is a zip of CSV files (or xlsx workbooks, the same names and columns), every field
quoted, headers in English (Pulse reads English headers; set TikTok Studio's language to English
before downloading):

- **Content**: ``Time`` (the day the figures were taken), ``Video title``, ``Video link``, ``Post
  time``, ``Total likes``, ``Total comments``, ``Total shares``, ``Total views``: one row per post.
- **Overview**: ``Date``, ``Video Views``, ``Profile Views``, ``Likes``, ``Comments``, ``Shares``: one
  row per day for the account.
- ``Viewers``, ``FollowerHistory``, ``FollowerActivity``, ``FollowerGender`` and
  ``FollowerTopTerritories`` are recognised and skipped: audience figures Pulse does not read yet.

Dates have no year and follow the UI's language ("August 31", "18 января", "9月13日"). A post's year
comes from its video id (its top 32 bits are the Unix time it was posted), the month and day from
the cell, which must agree with the id within a day (time zones). Any other date is the latest day
with that month and day on or before the day the export was downloaded (``as_of``): a download covers
at most the 365 days before it. Missing values are a literal ``undefined``.
"""

from __future__ import annotations

import re

from pulse.creator_exports.definitions import TIKTOK_VIEWS
from pulse.creator_exports.tables import COUNT, RAW, TEXT, Layout
from pulse.creator_exports.values import BadValue, latest_on_or_before, nearest_to, parse_day_month, tiktok_posted_at

PLATFORM = "tiktok"
CONTENT, OVERVIEW = "tiktok_studio_content", "tiktok_studio_overview"
_LINK = re.compile(r"https?://(?:www\.)?tiktok\.com/@([^/?#]+)/video/(\d+)")

CONTENT_COLUMNS = {
    "time": ("date", RAW),
    "video title": ("title", TEXT),
    "video link": ("permalink", TEXT),
    "post time": ("published", RAW),
    "total likes": ("likes", COUNT),
    "total comments": ("comments", COUNT),
    "total shares": ("shares", COUNT),
    "total views": ("views", COUNT),
}
OVERVIEW_COLUMNS = {
    "date": ("date", RAW),
    "video views": ("views", COUNT),
    "profile views": ("profile_visits", COUNT),
    "likes": ("likes", COUNT),
    "comments": ("comments", COUNT),
    "shares": ("shares", COUNT),
}


def _year_less(text, what: str, ctx):
    day_month = parse_day_month(str(text or ""))
    if day_month is None:
        raise BadValue(f"{what} is missing")
    if day_month.year is not None:
        return day_month.on(day_month.year)
    return latest_on_or_before(day_month, ctx.as_of)


def build_content_row(values: dict, ctx) -> dict:
    link = values.get("permalink") or ""
    m = _LINK.search(link)
    content_id = m[2] if m else None
    if m:
        ctx.accounts.add(m[1])
    posted_text = str(values.get("published") or "")
    day_month = parse_day_month(posted_text)
    if day_month is None:
        raise BadValue("Post time is missing")
    posted_at = tiktok_posted_at(content_id) if content_id else None
    if day_month.year is not None:
        published = day_month.on(day_month.year)
    elif posted_at is not None:
        published = nearest_to(day_month, posted_at.date())
        if abs((published - posted_at.date()).days) > 1:
            raise BadValue(f"Post time {posted_text!r} is not the day the video id {content_id} says it was "
                           f"posted ({posted_at.date()})")
    else:
        published = latest_on_or_before(day_month, ctx.as_of)
    taken = _year_less(values.get("date"), "Time", ctx)
    if taken < published:
        raise BadValue(f"Time {values.get('date')!r} falls before the post's day {published} when read as the "
                       f"latest such day up to {ctx.as_of} (the download day): pass the day it was downloaded")
    return {"content_id": content_id, "title": values.get("title"), "permalink": values.get("permalink"),
            "published": published, "date": taken, "period_start": None, "period_end": taken,
            "metric_definition": TIKTOK_VIEWS,
            **{key: values.get(key) for key in ("likes", "comments", "shares", "views")}}


def build_overview_row(values: dict, ctx) -> dict:
    day = _year_less(values.get("date"), "Date", ctx)
    return {"content_id": None, "date": day, "period_start": day, "period_end": day,
            "metric_definition": TIKTOK_VIEWS,
            **{key: values.get(key) for key in ("views", "profile_visits", "likes", "comments", "shares")}}


def row_day(values: dict, ctx):
    return _year_less(values.get("date"), "Date", ctx)


_AUDIENCE = "TikTok Studio's audience figures ({}): recognised, not read yet, skipped"
LAYOUTS = (
    Layout(CONTENT, PLATFORM, "TikTok Studio Content (one row per post)", CONTENT_COLUMNS,
           frozenset(CONTENT_COLUMNS), build_content_row),
    Layout(OVERVIEW, PLATFORM, "TikTok Studio Overview (the account's daily totals)", OVERVIEW_COLUMNS,
           frozenset(OVERVIEW_COLUMNS), build_overview_row),
    Layout("tiktok_studio_viewers", PLATFORM, "TikTok Studio Viewers", {},
           frozenset({"date", "total viewers", "new viewers", "returning viewers"}),
           not_read=_AUDIENCE.format("Viewers"), skip=True),
    Layout("tiktok_studio_follower_history", PLATFORM, "TikTok Studio FollowerHistory", {},
           frozenset({"date", "followers", "difference in followers from previous day"}),
           not_read=_AUDIENCE.format("FollowerHistory"), skip=True),
    Layout("tiktok_studio_follower_activity", PLATFORM, "TikTok Studio FollowerActivity", {},
           frozenset({"date", "hour", "active followers"}), not_read=_AUDIENCE.format("FollowerActivity"),
           skip=True),
    Layout("tiktok_studio_follower_gender", PLATFORM, "TikTok Studio FollowerGender", {},
           frozenset({"gender", "distribution"}), not_read=_AUDIENCE.format("FollowerGender"), skip=True),
    Layout("tiktok_studio_follower_territories", PLATFORM, "TikTok Studio FollowerTopTerritories", {},
           frozenset({"top territories", "distribution"}), not_read=_AUDIENCE.format("FollowerTopTerritories"),
           skip=True),
)
