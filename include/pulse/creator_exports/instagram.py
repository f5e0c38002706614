"""Instagram's per-post exports: the Insights export and Meta Business Suite's "Content" export.

- **Insights export** (the columns of ``datasets/instagram_post_performance.csv``): one row per post,
  ``Date`` (the post's day), ``Impressions`` and where they came from (``From Home``, ``From
  Hashtags``, ``From Explore``, ``From Other``), ``Saves``, ``Comments``, ``Shares``, ``Likes``,
  ``Profile Visits``, ``Follows``, ``Conversion Rate`` (Follows / Profile Visits × 100), ``Caption``
  and ``Hashtags`` (separated by no-break spaces). It has no post id: ``content_id`` is made from the
  day and the caption (``ig:<date>:<12 hex digits of the caption's sha256>``), so the same post in
  two exports is the same key.
- **Meta Business Suite per-post export**: ``Post ID``, ``Account ID``, ``Account username``,
  ``Account name``, ``Description``, ``Duration (sec)``, ``Publish time`` (``09/24/2026 15:30``),
  ``Permalink``, ``Post type``, ``Data comment``, ``Date`` (``Lifetime``: the counts are the post's
  lifetime totals), ``Views`` (``Impressions`` before 2025), ``Reach``, ``Likes``, ``Shares``,
  ``Follows``, ``Comments``, ``Saves``. The account's id, username and name are the export's facts,
  not row fields.

Meta's Facebook Page export (``Page ID``, ``Page name``, …) is told apart and refused: Pulse reads
Instagram's.
"""

from __future__ import annotations

import hashlib
from datetime import date

from pulse.creator_exports.definitions import INSTAGRAM_IMPRESSIONS, instagram_definition
from pulse.creator_exports.tables import ACCOUNT, COUNT, DECIMAL, RAW, TEXT, Layout
from pulse.creator_exports.values import BadValue, is_missing, parse_day_month, parse_slashed_date

PLATFORM = "instagram"
INSIGHTS, META_POSTS = "instagram_insights_posts", "instagram_meta_business_suite_posts"
FACEBOOK_POSTS = "facebook_meta_business_suite_posts"

INSIGHTS_COLUMNS = {
    "date": ("published", RAW),
    "impressions": ("impressions", COUNT),
    "from home": ("impressions_from_home", COUNT),
    "from hashtags": ("impressions_from_hashtags", COUNT),
    "from explore": ("impressions_from_explore", COUNT),
    "from other": ("impressions_from_other", COUNT),
    "saves": ("saves", COUNT),
    "comments": ("comments", COUNT),
    "shares": ("shares", COUNT),
    "likes": ("likes", COUNT),
    "profile visits": ("profile_visits", COUNT),
    "follows": ("follows", COUNT),
    "conversion rate": ("conversion_rate_percent", DECIMAL),
    "caption": ("title", TEXT),
    "hashtags": ("hashtags", TEXT),
}
INSIGHTS_KEYS = tuple(key for key, _ in INSIGHTS_COLUMNS.values())

META_COLUMNS = {
    "post id": ("content_id", RAW),
    "account id": ("account_id", ACCOUNT),
    "account username": ("account_username", ACCOUNT),
    "account name": ("account_name", ACCOUNT),
    "description": ("title", TEXT),
    "duration (sec)": ("duration_seconds", COUNT),
    "publish time": ("published", RAW),
    "permalink": ("permalink", TEXT),
    "post type": ("post_type", TEXT),
    "data comment": ("data_comment", TEXT),
    "date": ("date", RAW),
    "views": ("views", COUNT),
    "impressions": ("impressions", COUNT),
    "reach": ("reach", COUNT),
    "likes": ("likes", COUNT),
    "shares": ("shares", COUNT),
    "follows": ("follows", COUNT),
    "comments": ("comments", COUNT),
    "saves": ("saves", COUNT),
}
META_KEYS = tuple(key for key, kind in META_COLUMNS.values() if kind != ACCOUNT)


def insights_content_id(published: date, caption: str | None) -> str:
    digest = hashlib.sha256((caption or "").encode("utf-8")).hexdigest()[:12]
    return f"ig:{published.isoformat()}:{digest}"


def build_insights_row(values: dict, ctx) -> dict:
    day_month = parse_day_month(str(values.get("published") or ""))
    if day_month is None or day_month.year is None:
        raise BadValue(f"Date {values.get('published')!r} is not a date with a year")
    published = day_month.on(day_month.year)
    row = {key: values.get(key) for key in INSIGHTS_KEYS}
    tags = row["hashtags"]
    row.update({"published": published, "hashtags": tags.split() if tags else [],
                "content_id": insights_content_id(published, row["title"]), "date": None,
                "period_start": None, "period_end": None, "metric_definition": INSTAGRAM_IMPRESSIONS})
    return row


def build_meta_row(values: dict, ctx) -> dict:
    content_id = str(values.get("content_id") or "").strip()
    if not content_id:
        raise BadValue("a row without a Post ID")
    published = parse_slashed_date(str(values.get("published") or ""), ctx.day_first)
    period = str(values.get("date") or "").strip()
    if period.lower() == "lifetime" or is_missing(period):
        day = None
    else:
        day_month = parse_day_month(period)
        if day_month.year is None:
            raise BadValue(f"Date {period!r} has no year")
        day = day_month.on(day_month.year)
    row = {key: values.get(key) for key in META_KEYS}
    row.update({"content_id": content_id, "published": published, "date": day, "period_start": day,
                "period_end": day, "metric_definition": ctx.instagram_definition})
    return row


def meta_definition(headers: list[str]) -> str:
    """Views or impressions, by the column the export has (Meta renamed it in 2025)."""
    return instagram_definition("views" if "views" in headers else "impressions")


LAYOUTS = (
    Layout(INSIGHTS, PLATFORM, "Instagram Insights per-post export", INSIGHTS_COLUMNS,
           frozenset({"date", "impressions", "from home", "from hashtags", "from explore", "from other", "saves",
                      "comments", "shares", "likes", "profile visits", "follows"}), build_insights_row),
    Layout(META_POSTS, PLATFORM, "Meta Business Suite per-post export (Instagram)", META_COLUMNS,
           frozenset({"post id", "account id", "account username", "publish time", "post type", "likes"}),
           build_meta_row),
    Layout(FACEBOOK_POSTS, "facebook", "Meta Business Suite per-post export of a Facebook Page", {},
           frozenset({"post id", "page id", "page name"}),
           not_read="a Facebook Page's posts, not Instagram's: Pulse reads Instagram exports only"),
)
