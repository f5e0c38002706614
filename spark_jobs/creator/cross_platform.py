"""The cross-platform silver model: the YouTube Data API's daily snapshots and the creator exports, as rows of
one shape with their ``platform``, ``source`` and the definition their views were measured under.

Pure ``DataFrame -> DataFrame`` functions; :mod:`spark_jobs.creator.silver` reads bronze, types it with the
declared payloads (``CROSS_PLATFORM_DATASETS`` in :mod:`spark_jobs.creator.schemas`) and writes. The mapping
field by field is ``docs/creator_metrics.md``, "The cross-platform model".

- ``channel_snapshots`` and ``video_snapshots`` (bronze ``youtube_channels`` / ``youtube_videos``, one row per
  resource per run date) are incremental like the API datasets: watermark, MERGE of the latest version per key.
- ``export_posts`` and ``export_account_days`` (the inbox's bronze, one table per export format, partitioned
  by account and export rather than by run date) are **rebuilt from all of their bronze every run**: the
  watermark's partitions are run dates, and these tables have none; they hold what a creator downloads by
  hand, small enough to read whole.
"""

from __future__ import annotations

from functools import reduce

import pyspark.sql.functions as F
from pyspark.sql import Column, DataFrame

from spark_jobs.common.silver import conform_with_versions, latest_versions
from spark_jobs.creator.definitions import iso_duration_seconds, youtube_is_short, youtube_view_definition
from spark_jobs.creator.schemas import EXPORT, EXPORT_ACCOUNT_DAYS, EXPORT_POSTS, YOUTUBE, YOUTUBE_API

VERSION_COLUMNS = ("run_date", "record_index")
OURS, COMPETITOR = "ours", "competitor"

YOUTUBE_CHANNEL_PATHS = {
    "channel_id": "$.id",
    "title": "$.snippet.title",
    "country": "$.snippet.country",
    "published_at": "$.snippet.publishedAt",
    "subscribers": "$.statistics.subscriberCount",
    "subscribers_hidden": "$.statistics.hiddenSubscriberCount",
    "total_views": "$.statistics.viewCount",
    "video_count": "$.statistics.videoCount",
}
"""Where each field of a ``youtube#channel`` resource is (the payload ``YOUTUBE_CHANNEL_PAYLOAD`` types)."""

YOUTUBE_VIDEO_PATHS = {
    "video_id": "$.id",
    "channel_id": "$.snippet.channelId",
    "title": "$.snippet.title",
    "published_at": "$.snippet.publishedAt",
    "category_id": "$.snippet.categoryId",
    "duration": "$.contentDetails.duration",
    "views": "$.statistics.viewCount",
    "likes": "$.statistics.likeCount",
    "comments": "$.statistics.commentCount",
}
"""Where each field of a ``youtube#video`` resource is (``YOUTUBE_VIDEO_PAYLOAD``). ``dislikeCount`` is
never read: the API no longer sends it to anyone but the owner."""

FLAT_PAYLOAD = "flat_payload"

YOUTUBE_CATEGORIES = {
    "1": "Film & Animation", "2": "Autos & Vehicles", "10": "Music", "15": "Pets & Animals", "17": "Sports",
    "18": "Short Movies", "19": "Travel & Events", "20": "Gaming", "21": "Videoblogging", "22": "People & Blogs",
    "23": "Comedy", "24": "Entertainment", "25": "News & Politics", "26": "Howto & Style", "27": "Education",
    "28": "Science & Technology", "29": "Nonprofits & Activism", "30": "Movies", "31": "Anime/Animation",
    "32": "Action/Adventure", "33": "Classics", "34": "Comedy", "35": "Documentary", "36": "Drama", "37": "Family",
    "38": "Foreign", "39": "Horror", "40": "Sci-Fi/Fantasy", "41": "Thriller", "42": "Shorts", "43": "Shows",
    "44": "Trailers",
}
"""YouTube's video categories (``videoCategories.list``, region US; the ids are the same in every region):
a channel's niche is the category of most of its videos. Checked against the real list in
``../shared/realdata/creator/datasets/youtube_US_category_id.json`` by the tests."""


def flattened_payload(bronze: DataFrame, paths: dict[str, str]) -> DataFrame:
    """Bronze rows with ``flat_payload``: the nested API resource's fields at ``paths`` as one flat JSON
    object (a field the resource lacks is left out, so it reads as missing). A payload that is not a JSON
    object is passed on as it is, so typing quarantines it as such.

    Grain unchanged: one row per bronze row."""
    is_object = F.get_json_object("payload", "$").isNotNull() & F.ltrim("payload").startswith("{")
    flat = F.to_json(F.struct(*[F.get_json_object("payload", path).alias(name) for name, path in paths.items()]))
    return bronze.withColumn(FLAT_PAYLOAD, F.when(is_object, flat).otherwise(F.col("payload")))


def channel_roles(manifests: list[tuple]) -> list[tuple]:
    """``(run_date, channel_id, role)`` rows from ``(run_date, manifest)`` pairs of ``youtube_channels``'
    partitions: the connection's ``channel_ids`` are ``ours``, its ``competitor_channel_ids``
    ``competitor`` (an id in both lists is ours)."""
    rows = []
    for run_date, manifest in manifests:
        ours = list(dict.fromkeys((manifest or {}).get("channel_ids") or []))
        theirs = [c for c in dict.fromkeys((manifest or {}).get("competitor_channel_ids") or []) if c not in ours]
        rows += [(run_date, c, OURS) for c in ours] + [(run_date, c, COMPETITOR) for c in theirs]
    return rows


def normalise_channel_snapshots(valid: DataFrame, roles: DataFrame) -> DataFrame:
    """Valid typed ``youtube#channel`` rows as channel snapshots: the run date is the ``snapshot_date``, the
    ``role`` (``ours``/``competitor``) is what the crawl's connection said that day (``roles``: ``run_date,
    channel_id, role``; null when the partition has no manifest), ``total_views`` labelled with the day's
    channel-total definition; plus ``run_date, record_index``.

    Grain: one row per valid bronze row; key ``platform, channel_id, snapshot_date`` (not yet unique)."""
    day = F.col("run_date")
    with_role = valid.join(F.broadcast(roles), ["run_date", "channel_id"], how="left")
    return with_role.select(
        F.lit(YOUTUBE).alias("platform"), "channel_id", day.alias("snapshot_date"), "title",
        F.upper("country").alias("country"), "published_at", "role",
        # A hidden subscriber count is absent, never 0.
        F.when(~F.coalesce("subscribers_hidden", F.lit(False)), F.col("subscribers")).alias("subscribers"),
        F.coalesce("subscribers_hidden", F.lit(False)).alias("subscribers_hidden"),
        "total_views", "video_count",
        youtube_view_definition(day, day, F.lit(None).cast("boolean"), channel_total=True).alias("view_definition"),
        F.lit(YOUTUBE_API).alias("source"),
        *VERSION_COLUMNS,
    )


def normalise_video_snapshots(valid: DataFrame) -> DataFrame:
    """Valid typed ``youtube#video`` rows as video snapshots: the run date is the ``snapshot_date``; the
    duration in seconds, whether it is a Short, and the definition the day's view count is measured under
    (:func:`~spark_jobs.creator.definitions.youtube_view_definition` of the snapshot day); plus ``run_date,
    record_index``.

    Grain: one row per valid bronze row; key ``platform, video_id, snapshot_date`` (not yet unique: a resumed
    crawl may list a video twice in one day)."""
    day = F.col("run_date")
    seconds = iso_duration_seconds(F.col("duration"))
    is_short = youtube_is_short(seconds, F.to_date("published_at"))
    return valid.select(
        F.lit(YOUTUBE).alias("platform"), "video_id", "channel_id", day.alias("snapshot_date"), "title",
        "published_at", "category_id", seconds.alias("duration_seconds"), is_short.alias("is_short"),
        "views", "likes", "comments",
        youtube_view_definition(day, day, is_short).alias("view_definition"),
        F.lit(YOUTUBE_API).alias("source"),
        *VERSION_COLUMNS,
    )


STUDIO_TABLE = "youtube_studio_table"


def measurement(date: Column, period_start: Column, period_end: Column, export_format: Column) -> Column:
    """What an export row's counts cover, as one key value: ``lifetime`` (no day, no period: Instagram's
    per-post exports), ``as of <day>`` (lifetime totals as of a day: TikTok's Content), ``<day>`` (one day:
    Studio's Chart data, a Meta export of one day), ``<start>..<end>`` (a Studio Table data's period), or
    ``period unknown`` (a Studio Table data dropped without its period: neither its folder's name nor a
    Totals file beside it said it)."""
    no_period = period_start.isNull() & period_end.isNull() & date.isNull()
    return (F.when(no_period & (export_format == STUDIO_TABLE), F.lit("period unknown"))
            .when(no_period, F.lit("lifetime"))
            .when(period_start.isNull() & period_end.isNotNull(), F.concat(F.lit("as of "), period_end.cast("string")))
            .when(period_start == period_end, period_start.cast("string"))
            .when(period_start.isNotNull(),
                  F.concat(period_start.cast("string"), F.lit(".."), F.coalesce(period_end.cast("string"), F.lit("?"))))
            .otherwise(date.cast("string")))


EXPORT_VERSION_COLUMNS = ("ingested_at", "record_index")


def normalise_export_posts(valid: DataFrame) -> DataFrame:
    """Valid typed rows of the per-post export formats as export posts: the inbox ``account`` (the folder the
    creator dropped it in), the :func:`measurement` the counts cover, and the format's counts (null where the
    format has no such count); plus ``ingested_at, record_index``, which with ``as_of`` order the versions.

    Grain: one row per valid bronze row; key ``platform, account, content_id, measurement`` (not yet unique:
    the same post in two exports)."""
    return valid.select(
        "platform", "account", "content_id",
        measurement(F.col("date"), F.col("period_start"), F.col("period_end"), F.col("format")).alias("measurement"),
        "format", "title", F.col("published").alias("published_date"), "date", "period_start", "period_end",
        "as_of", "duration_seconds", "views", "impressions", "reach", "likes", "comments", "shares", "saves",
        "watch_time_hours", "metric_definition", F.lit(EXPORT).alias("source"),
        *EXPORT_VERSION_COLUMNS,
    )


def normalise_export_account_days(valid: DataFrame) -> DataFrame:
    """Valid typed rows of the daily account formats (Studio's Totals, TikTok's Overview); plus
    ``ingested_at, record_index``.

    Grain: one row per valid bronze row; key ``platform, account, date`` (not yet unique: a Studio Totals
    file holds one metric, so a day has one row per metric downloaded)."""
    return valid.select(
        "platform", "account", "date", "format", "as_of", "views", "likes", "comments", "shares", "profile_visits",
        "subscribers_net", "watch_time_hours", "metric_definition", F.lit(EXPORT).alias("source"),
        *EXPORT_VERSION_COLUMNS,
    )


def latest_export_posts(normalised: DataFrame) -> DataFrame:
    """One row per export post key: the latest export's (``as_of``, then ``ingested_at``, then
    ``record_index``: the inbox's "latest export wins")."""
    return conform_with_versions(latest_versions(normalised, EXPORT_POSTS.key, EXPORT_POSTS.version_order),
                                 EXPORT_POSTS)


ACCOUNT_DAY_METRICS = ("views", "likes", "comments", "shares", "profile_visits", "subscribers_net",
                       "watch_time_hours")


def latest_account_days(normalised: DataFrame) -> DataFrame:
    """One row per ``platform, account, date``: each metric from the latest export that has it (a Studio
    Totals file carries one metric, so a later Totals of *Subscribers* must not blank the day's *Views*);
    ``format``, ``as_of`` and ``metric_definition`` from the latest export of the day.

    Grain: one row per key."""
    version = F.struct(*[F.col(c) for c in EXPORT_ACCOUNT_DAYS.version_order])
    latest = [F.max_by(F.col(c), version).alias(c) for c in ("format", "metric_definition", "source")]
    metrics = [F.max_by(F.col(m), F.when(F.col(m).isNotNull(), version)).alias(m) for m in ACCOUNT_DAY_METRICS]
    versions = [F.max(F.col(c)).alias(c) for c in EXPORT_ACCOUNT_DAYS.version_order]
    combined = normalised.groupBy(*EXPORT_ACCOUNT_DAYS.key).agg(*latest, *metrics, *versions)
    return conform_with_versions(combined, EXPORT_ACCOUNT_DAYS)


def export_bronze(frames: list[DataFrame]) -> DataFrame:
    """The union of an export dataset's bronze tables (each read whole), in the columns typing needs, with
    the day each row was ingested as its quarantine ``run_date``."""
    columns = ["payload", "record_index", "page", "request_url", "ingested_at", "source", "endpoint", "account"]
    unioned = reduce(DataFrame.unionByName, [f.select(*columns) for f in frames])
    return unioned.withColumn("run_date", F.to_date("ingested_at"))
