"""The rows the YouTube Data API crawl and the creator exports add to the creator facts, ``fact_content`` and
``fact_engagement``, beside the creator API's.

Pure functions of the cross-platform silver datasets (:mod:`spark_jobs.creator.cross_platform`). The rows have the
facts' columns, so one table holds every source; three columns tell them apart and keep incomparable numbers apart:

- ``source``: ``creator_api``, ``youtube_api`` or ``export``;
- ``metric_definition``: what the row's views (or impressions) were counted under (``creator_api`` for the
  original API's rows; :mod:`spark_jobs.creator.definitions` for the others);
- ``measurement`` (``fact_content``): what period a post's counts cover (``lifetime``, ``as of <day>``, ``<day>``,
  ``<start>..<end>``; null for the API's rows).

``creator_id`` is the channel id (YouTube) or the inbox account (exports), a row of ``dim_channels`` by its
``platform_name``; ``platform`` is the platform's name as the creator API writes it (``YouTube``, ``Instagram``,
``TikTok``). What these rows do not know stays null: revenue and monetization (no source gives them),
impressions and reach where the source has none, and a reach band without reach. The formulas, with a worked
example, are in ``docs/creator_metrics.md``, "The facts across sources".
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spark_jobs.common.gold import first_per_key, named, ratio, sum_or_null
from spark_jobs.common.silver import latest_versions
from spark_jobs.creator.definitions import youtube_is_short
from spark_jobs.creator.schemas import EXPORT

CREATOR_API = "creator_api"
"""The ``source`` (and ``metric_definition``) of the creator API's rows."""
PLATFORM_NAMES = {"youtube": "YouTube", "instagram": "Instagram", "tiktok": "TikTok"}
"""The platform codes of the cross-platform model → the names the creator API uses (``fact_*.platform``)."""
CONTENT_TYPE_OF_PLATFORM = {"instagram": "Post", "tiktok": "Video"}
"""An exported post's content type where the export does not say more (YouTube's: Short or Video by duration)."""


def platform_name(code: Column) -> Column:
    """The platform name of a cross-platform code (``youtube`` → ``YouTube``); the code itself when unknown."""
    return F.coalesce(named(code, PLATFORM_NAMES), code)


def _video_or_short(is_short: Column) -> Column:
    return F.when(is_short, F.lit("Short")).otherwise(F.lit("Video"))


def widest_measurements(export_posts: DataFrame) -> DataFrame:
    """One row per exported post (``platform, account, content_id``): the measurement covering the most of its
    life. In order: ``lifetime``; ``as of <day>`` (the latest day); a period ``<start>..<end>`` (the longest, then
    the latest); one day (the latest); ``period unknown``. Ties go to the latest export (``as_of``)."""
    kind = (F.when(F.col("measurement") == "lifetime", 0)
            .when(F.col("measurement").startswith("as of "), 1)
            .when(F.col("period_start").isNotNull() & (F.col("period_start") != F.col("period_end")), 2)
            .when(F.col("measurement") == "period unknown", 4)
            .otherwise(3))
    span = F.date_diff(F.col("period_end"), F.col("period_start"))
    return first_per_key(export_posts, ["platform", "account", "content_id"], [
        kind.asc(), span.desc_nulls_last(), F.coalesce("period_end", "date").desc_nulls_last(),
        F.col("as_of").desc(), F.col("measurement").asc()])


def export_content(export_posts: DataFrame) -> DataFrame:
    """``fact_content`` rows of the exported posts: one per post, its :func:`widest_measurements` counts.
    ``content_id`` = ``export:<platform>:<account>:<the export's id>``."""
    posts = widest_measurements(export_posts)
    is_short = youtube_is_short(F.col("duration_seconds"), F.col("published_date"))
    content_type = F.when(F.col("platform") == "youtube", _video_or_short(is_short)).otherwise(
        F.coalesce(named(F.col("platform"), CONTENT_TYPE_OF_PLATFORM), F.lit("Post")))
    watch_seconds = F.col("watch_time_hours") * 3600
    return posts.select(
        F.concat_ws(":", F.lit(EXPORT), "platform", "account", "content_id").alias("content_id"),
        F.col("account").alias("creator_id"), platform_name(F.col("platform")).alias("platform"),
        content_type.alias("content_type"), "title", F.col("published_date").cast("timestamp").alias("published_at"),
        "published_date", "likes", "comments", "shares", "views", "impressions",
        F.when(F.col("views") > 0, F.round(watch_seconds / F.col("views"), 6)).alias("average_view_time"),
        "measurement", "metric_definition", "source",
    )


def youtube_content(video_snapshots: DataFrame) -> DataFrame:
    """``fact_content`` rows of the videos the YouTube crawl saw: one per video, its latest snapshot's counters
    (lifetime counts ``as of`` that day; the Data API gives no shares and no impressions).
    ``content_id`` = ``youtube_api:<video id>``."""
    latest = latest_versions(video_snapshots, ("platform", "video_id"), ("snapshot_date",))
    return latest.select(
        F.concat_ws(":", F.col("source"), "video_id").alias("content_id"), F.col("channel_id").alias("creator_id"),
        platform_name(F.col("platform")).alias("platform"), _video_or_short(F.col("is_short")).alias("content_type"),
        "title", "published_at", F.to_date("published_at").alias("published_date"), "likes", "comments",
        F.lit(None).cast("long").alias("shares"), "views", F.lit(None).cast("long").alias("impressions"),
        F.lit(None).cast("double").alias("average_view_time"),
        F.concat(F.lit("as of "), F.col("snapshot_date").cast("string")).alias("measurement"),
        F.col("view_definition").alias("metric_definition"), "source",
    )


def cross_content(export_posts: DataFrame, video_snapshots: DataFrame) -> DataFrame:
    """The ``fact_content`` rows of the exports and the YouTube crawl (:func:`export_content`,
    :func:`youtube_content`), with ``engagement_score = likes + comments + shares`` (null when the source lacks
    one of them: YouTube's API has no shares), ``engagement_rate = engagement_score / impressions``,
    ``engagement_rate_by_views = engagement_score / views``; completion rate, monetization and revenue null.

    Grain: one row per post or video; key ``content_id``."""
    rows = export_content(export_posts).unionByName(youtube_content(video_snapshots))
    score = sum_or_null("likes", "comments", "shares")
    return rows.select(
        "content_id", "creator_id", "platform", "content_type", "title", "published_at", "published_date",
        "likes", "comments", "shares", "views", "impressions", "average_view_time",
        F.lit(None).cast("double").alias("completion_rate"), score.alias("engagement_score"),
        ratio(score, "impressions").alias("engagement_rate"), ratio(score, "views").alias("engagement_rate_by_views"),
        F.lit(None).cast("boolean").alias("monetization_enabled"),
        F.lit(None).cast("decimal(18,2)").alias("revenue_generated"),
        F.lit(None).cast("string").alias("monetization_category"),
        "source", "metric_definition", "measurement",
    )


def cross_engagement(export_account_days: DataFrame, cross_posts: DataFrame) -> DataFrame:
    """The ``fact_engagement`` rows of the exports' account-days (YouTube Studio's Totals, TikTok's Overview):
    the day's ``views``, likes, comments and shares as the export counted them, ``engagement_score = likes +
    comments + shares`` (null when the export lacks one), and the account's exported posts published that day
    (``posts_published``; ``content_engagement_score``, null when a post's score is). No impressions, reach,
    click-through rate or view duration (the exports give none), so no rates by them and no reach band.

    Grain: one row per account (``creator_id``), platform and day; key ``creator_id, platform, date``."""
    exported = cross_posts.where(F.col("source") == EXPORT)
    posts_by_day = exported.groupBy("creator_id", "platform", F.col("published_date").alias("date")).agg(
        F.count(F.lit(1)).alias("posts_published"),
        F.when(F.count("engagement_score") == F.count(F.lit(1)), F.sum("engagement_score"))
        .alias("content_engagement_score"))
    days = export_account_days.select(
        F.col("account").alias("creator_id"), platform_name(F.col("platform")).alias("platform"), "date",
        F.col("likes").alias("total_likes"), F.col("comments").alias("total_comments"),
        F.col("shares").alias("total_shares"), "views", "metric_definition", "source")
    joined = days.join(posts_by_day, ["creator_id", "platform", "date"], how="left")
    return joined.select(
        "creator_id", "platform", "date", "total_likes", "total_comments", "total_shares",
        F.lit(None).cast("long").alias("impressions"), F.lit(None).cast("long").alias("reach"),
        sum_or_null("total_likes", "total_comments", "total_shares").alias("engagement_score"),
        *(F.lit(None).cast("double").alias(c) for c in ("engagement_rate", "engagement_rate_by_reach",
                                                         "click_through_rate", "average_view_duration")),
        F.lit(None).cast("string").alias("performance_band"), F.lit(None).cast("int").alias("performance_band_order"),
        F.coalesce("posts_published", F.lit(0).cast("long")).alias("posts_published"),
        F.when(F.col("posts_published").isNull(), F.lit(0).cast("long"))
        .otherwise(F.col("content_engagement_score")).alias("content_engagement_score"),
        F.lit(None).cast("decimal(18,2)").alias("content_revenue"),
        "views", "source", "metric_definition",
    )
