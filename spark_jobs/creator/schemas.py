"""The creator source's silver schemas, declared once.

The silver job types bronze payloads into these, the gold job and its tests build on them, and
``docs/architecture.md`` lists them. Each dataset has a natural key; the version kept for a key is the
one with the greatest ``(updated_at, run_date, record_index)`` (competitors: ``(run_date, record_index)``).

Each dataset also declares its ``payload``: the API record's fields as silver reads them (type, required,
range) and the rules across them; a bronze row that breaks them is quarantined with the reason.
Required are all the fields of ``../shared/realdata/creator/README.md`` except:

- ``updated_at`` (demographics, content, engagement): the original API did not send it; without it the
  later ingest of a key wins (``run_date``, then ``record_index``). When present it must be a timestamp.
- content ``title`` and ``description``: free text that many posts lack (a tweet has no title) and that
  no metric uses; quarantining a post for it would drop its likes and revenue from gold. Between two
  versions of a post with the same ``updated_at``, the one with more of them wins.
"""

from __future__ import annotations

from spark_jobs.common.schemas import DT, TS, B, D, I, L, S, SilverDataset, fields
from spark_jobs.common.silver import Field, PayloadSchema, RowCheck

# The platforms' canonical spellings: silver matches them case-insensitively; others are kept as sent.
PLATFORMS = ("Twitter", "Instagram", "YouTube", "TikTok", "Facebook", "LinkedIn")
DAYS_OF_WEEK = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _count(name: str) -> Field:
    return Field(name, L, minimum=0)


def _at_least_zero(name: str) -> Field:
    return Field(name, D, minimum=0)


_UPDATED_AT = Field("updated_at", TS, required=False)

DEMOGRAPHICS_PAYLOAD = PayloadSchema(
    fields=(
        Field("user_id", S),
        Field("age", I, minimum=0, maximum=120),
        Field("age_group", S),
        Field("device", S),
        Field("creator_segment", S),
        Field("signup_date", TS),
        Field("active_status", S),
        Field("subscription_tier", S),
        _UPDATED_AT,
    ),
)

COMPETITORS_PAYLOAD = PayloadSchema(
    fields=(
        Field("competitor_id", S),
        Field("platform_name", S),
        Field("founding_year", I, minimum=1800, maximum=2100),
        Field("headquarter_location", S),
        Field("commission_percentage", I, minimum=0, maximum=100),
        Field("supported_countries", I, minimum=0),
        Field("market_share_percentage", D, minimum=0, maximum=100),
        Field("sentiment_score", D, minimum=0, maximum=5),
        Field("app_store_rating", D, minimum=0, maximum=5),
        Field("google_play_rating", D, minimum=0, maximum=5),
    ),
)

CONTENT_PAYLOAD = PayloadSchema(
    fields=(
        Field("content_id", S),
        Field("creator_id", S),
        Field("platform", S),
        Field("content_type", S),
        Field("title", S, required=False),
        Field("description", S, required=False),
        Field("published_date", TS),
        Field("day_of_week", S),
        Field("time_of_day", S),
        _count("likes"),
        _count("comments"),
        _count("shares"),
        _count("views"),
        _count("impressions"),
        _at_least_zero("average_view_time"),
        Field("completion_rate", D, minimum=0, maximum=100),
        Field("creator_segment", S),
        Field("monetization_enabled", B),
        _at_least_zero("revenue_generated"),
        _UPDATED_AT,
    ),
    checks=(
        RowCheck(
            "likes + comments + shares above impressions",
            holds="likes + comments + shares <= impressions",
            shows=("likes", "comments", "shares", "impressions"),
        ),
        RowCheck(
            "revenue_generated on a post without monetization",
            holds="monetization_enabled OR revenue_generated = 0",
            shows=("monetization_enabled", "revenue_generated"),
        ),
    ),
)

ENGAGEMENT_PAYLOAD = PayloadSchema(
    fields=(
        Field("creator_id", S),
        Field("platform", S),
        Field("date", DT),
        _count("total_likes"),
        _count("total_comments"),
        _count("total_shares"),
        _at_least_zero("average_view_duration"),
        _count("impressions"),
        _count("reach"),
        Field("click_through_rate", D, minimum=0, maximum=1),
        _UPDATED_AT,
    ),
    checks=(
        RowCheck(
            "total_likes + total_comments + total_shares above impressions",
            holds="total_likes + total_comments + total_shares <= impressions",
            shows=("total_likes", "total_comments", "total_shares", "impressions"),
        ),
    ),
)

DEMOGRAPHICS = SilverDataset(
    "demographics",
    key=("user_id",),
    schema=fields(
        ("user_id", S), ("age", I), ("age_group", S), ("device", S), ("creator_segment", S),
        ("signup_at", TS), ("active_status", S), ("subscription_tier", S), ("updated_at", TS),
    ),
    payload=DEMOGRAPHICS_PAYLOAD,
)

COMPETITORS = SilverDataset(
    "competitors",
    key=("competitor_id",),
    schema=fields(
        ("competitor_id", S), ("platform_name", S), ("founding_year", I), ("headquarter_location", S),
        ("headquarter_city", S), ("headquarter_country", S), ("commission_percentage", I),
        ("supported_countries", I), ("market_share_percentage", D), ("sentiment_score", D),
        ("app_store_rating", D), ("google_play_rating", D),
    ),
    payload=COMPETITORS_PAYLOAD,
    version_order=("run_date", "record_index"),
)

CONTENT = SilverDataset(
    "content",
    key=("content_id",),
    schema=fields(
        ("content_id", S), ("creator_id", S), ("platform", S), ("content_type", S), ("title", S),
        ("description", S), ("published_at", TS), ("published_date", DT), ("day_of_week", S),
        ("time_of_day", S), ("likes", L), ("comments", L), ("shares", L), ("views", L), ("impressions", L),
        ("average_view_time", D), ("completion_rate", D), ("creator_segment", S),
        ("monetization_enabled", B), ("revenue_generated", D), ("updated_at", TS),
    ),
    payload=CONTENT_PAYLOAD,
    # Two versions with the same updated_at: the one with more of its optional text wins, so a copy that
    # lost its title in transit never replaces the whole record.
    version_order=("updated_at", "text_fields_present", "run_date", "record_index"),
)

ENGAGEMENT = SilverDataset(
    "engagement",
    key=("creator_id", "platform", "date"),
    schema=fields(
        ("creator_id", S), ("platform", S), ("date", DT), ("total_likes", L), ("total_comments", L),
        ("total_shares", L), ("average_view_duration", D), ("impressions", L), ("reach", L),
        ("click_through_rate", D), ("updated_at", TS),
    ),
    payload=ENGAGEMENT_PAYLOAD,
)

SILVER_DATASETS: dict[str, SilverDataset] = {
    d.name: d for d in (DEMOGRAPHICS, COMPETITORS, CONTENT, ENGAGEMENT)
}

QUARANTINE_SCHEMA = fields(
    ("dataset", S), ("run_date", DT), ("page", I), ("record_index", L), ("request_url", S),
    ("ingested_at", TS), ("payload", S), ("reason", S), ("run_id", S),
)


# ---------------------------------------------------------------------------------------------------
# The cross-platform model: the YouTube Data API's daily snapshots and the creator exports
# (docs/creator_metrics.md, "The cross-platform model"). Every metric row carries the definition its
# views were measured under (spark_jobs/creator/definitions.py); no personal data reaches these rows.

YOUTUBE_API, EXPORT = "youtube_api", "export"
"""The ``source`` of a cross-platform row: the YouTube Data API crawl, or a creator export."""
YOUTUBE = "youtube"


def _optional_count(name: str) -> Field:
    return Field(name, L, required=False, minimum=0)


# The API's resources are nested (snippet, statistics…); silver flattens each payload to these fields
# first (spark_jobs/creator/cross_platform.py, YOUTUBE_CHANNEL_PATHS / YOUTUBE_VIDEO_PATHS). Counts come
# as strings and may be absent (a hidden subscriber count, likes or comments turned off).
YOUTUBE_CHANNEL_PAYLOAD = PayloadSchema(
    fields=(
        Field("channel_id", S),
        Field("title", S, required=False),
        Field("country", S, required=False),
        Field("published_at", TS, required=False),
        _optional_count("subscribers"),
        Field("subscribers_hidden", B, required=False),
        _optional_count("total_views"),
        _optional_count("video_count"),
    ),
)

YOUTUBE_VIDEO_PAYLOAD = PayloadSchema(
    fields=(
        Field("video_id", S),
        Field("channel_id", S),
        Field("title", S, required=False),
        Field("published_at", TS, required=False),
        Field("category_id", S, required=False),
        Field("duration", S, required=False),
        _count("views"),
        _optional_count("likes"),
        _optional_count("comments"),
    ),
)

# An export's bronze payload is the reader's row (pulse.creator_exports): every key of its format, typed
# already, dates as YYYY-MM-DD, plus as_of. One payload per model: the formats' keys it reads.
EXPORT_POST_PAYLOAD = PayloadSchema(
    fields=(
        Field("platform", S),
        Field("format", S),
        Field("content_id", S),
        Field("title", S, required=False),
        Field("published", DT, required=False),
        Field("date", DT, required=False),
        Field("period_start", DT, required=False),
        Field("period_end", DT, required=False),
        Field("as_of", DT),
        _optional_count("duration_seconds"),
        *(_optional_count(c) for c in ("views", "impressions", "reach", "likes", "comments", "shares", "saves")),
        Field("watch_time_hours", D, required=False, minimum=0),
        Field("metric_definition", S),
    ),
)

EXPORT_ACCOUNT_DAY_PAYLOAD = PayloadSchema(
    fields=(
        Field("platform", S),
        Field("format", S),
        Field("date", DT),
        Field("as_of", DT),
        *(_optional_count(c) for c in ("views", "likes", "comments", "shares", "profile_visits")),
        Field("subscribers_net", L, required=False),
        Field("watch_time_hours", D, required=False, minimum=0),
        Field("metric_definition", S),
    ),
)

CHANNEL_SNAPSHOTS = SilverDataset(
    "channel_snapshots",
    key=("platform", "channel_id", "snapshot_date"),
    schema=fields(
        ("platform", S), ("channel_id", S), ("snapshot_date", DT), ("title", S), ("country", S),
        ("published_at", TS), ("role", S), ("subscribers", L), ("subscribers_hidden", B), ("total_views", L),
        ("video_count", L), ("view_definition", S), ("source", S),
    ),
    payload=YOUTUBE_CHANNEL_PAYLOAD,
    version_order=("run_date", "record_index"),
)

VIDEO_SNAPSHOTS = SilverDataset(
    "video_snapshots",
    key=("platform", "video_id", "snapshot_date"),
    schema=fields(
        ("platform", S), ("video_id", S), ("channel_id", S), ("snapshot_date", DT), ("title", S),
        ("published_at", TS), ("category_id", S), ("duration_seconds", L), ("is_short", B), ("views", L),
        ("likes", L), ("comments", L), ("view_definition", S), ("source", S),
    ),
    payload=YOUTUBE_VIDEO_PAYLOAD,
    version_order=("run_date", "record_index"),
)

EXPORT_POSTS = SilverDataset(
    "export_posts",
    key=("platform", "account", "content_id", "measurement"),
    schema=fields(
        ("platform", S), ("account", S), ("content_id", S), ("measurement", S), ("format", S), ("title", S),
        ("published_date", DT), ("date", DT), ("period_start", DT), ("period_end", DT), ("as_of", DT),
        ("duration_seconds", L), ("views", L), ("impressions", L), ("reach", L), ("likes", L), ("comments", L),
        ("shares", L), ("saves", L), ("watch_time_hours", D), ("metric_definition", S), ("source", S),
    ),
    payload=EXPORT_POST_PAYLOAD,
    # The inbox's "latest export wins" (pulse.creator_inbox.latest_rows): downloaded last, ingested last,
    # then the later row of the file.
    version_order=("as_of", "ingested_at", "record_index"),
)

EXPORT_ACCOUNT_DAYS = SilverDataset(
    "export_account_days",
    key=("platform", "account", "date"),
    schema=fields(
        ("platform", S), ("account", S), ("date", DT), ("format", S), ("as_of", DT), ("views", L), ("likes", L),
        ("comments", L), ("shares", L), ("profile_visits", L), ("subscribers_net", L), ("watch_time_hours", D),
        ("metric_definition", S), ("source", S),
    ),
    payload=EXPORT_ACCOUNT_DAY_PAYLOAD,
    version_order=("as_of", "ingested_at", "record_index"),
)

CROSS_PLATFORM_DATASETS: dict[str, SilverDataset] = {
    d.name: d for d in (CHANNEL_SNAPSHOTS, VIDEO_SNAPSHOTS, EXPORT_POSTS, EXPORT_ACCOUNT_DAYS)
}
"""The cross-platform silver datasets. Not in :data:`SILVER_DATASETS`: their inputs are optional (a
deployment without YouTube or exports builds none of them, and gold reads them as empty)."""

YOUTUBE_BRONZE = {"channel_snapshots": "youtube_channels", "video_snapshots": "youtube_videos"}
"""The bronze table each incremental YouTube dataset reads (one row per resource per run date)."""
EXPORT_BRONZE = {
    "export_posts": ("youtube_studio_table", "youtube_studio_chart", "instagram_insights_posts",
                     "instagram_meta_business_suite_posts", "tiktok_studio_content"),
    "export_account_days": ("youtube_studio_totals", "tiktok_studio_overview"),
}
"""The inbox's bronze tables (one per export format) each export dataset reads."""
