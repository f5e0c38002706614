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
