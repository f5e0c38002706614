"""Creator gold for the cross-platform model: channels (ours and competitors'), video snapshots and their daily
gains, export posts, and the channel benchmark.

Pure functions of the cross-platform silver datasets (:mod:`spark_jobs.creator.cross_platform`); the creator
gold job (:mod:`spark_jobs.creator.gold`) calls :func:`channel_tables` and writes each table whole every run
(they summarise history: a gain needs the day before, a percentile every channel of the niche). Every formula,
with a worked example, is in ``docs/creator_metrics.md``, "Channels, videos and exports".

Numbers of different view definitions are never added without saying so: a view gain is only computed between
two snapshots of the same definition, and a channel's week that adds views of several definitions says
``youtube_views_mixed``.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from spark_jobs.common.gold import RATIO_DECIMALS, first_per_key, named, ratio, sum_or_null, week_start
from spark_jobs.common.silver import latest_versions
from spark_jobs.creator.cross_platform import OURS, YOUTUBE_CATEGORIES
from spark_jobs.creator.definitions import YOUTUBE_VIEWS_MIXED
from spark_jobs.creator.gold_cross_facts import platform_name

CHANNEL_TABLES = ("dim_channels", "fact_video_snapshots", "fact_posts", "benchmark_channels")
YOUTUBE_CATEGORY = "youtube_category"
CONFIGURED_SEGMENT = "configured_segment"
BENCHMARK_METRICS = ("subscribers", "subscriber_growth", "views_per_video", "engagement_per_view", "uploads")


def category_name(category_id: Column) -> Column:
    """The name of a YouTube category id (``"23"`` → ``Comedy``); the id itself when unknown."""
    return F.coalesce(named(category_id, YOUTUBE_CATEGORIES), category_id)


def fact_video_snapshots(video_snapshots: DataFrame) -> DataFrame:
    """One row per video and snapshot day; key ``platform, video_id, snapshot_date``.

    The snapshot's counters (lifetime ``views``, ``likes``, ``comments`` as the API showed them that day) and
    the day's gains from the snapshot of the **calendar day before**: ``views_gained = views − views of the
    day before`` when that snapshot exists and was measured under the same ``view_definition``;
    ``likes_gained`` and ``comments_gained`` when it exists. After a missing day (a gap) the gains are null:
    never spread over the gap, never invented. A gain may be negative (YouTube removes invalid views).
    ``engagement_per_view = (likes + comments) / views`` (null when a count is hidden or views are 0).
    """
    by_video = Window.partitionBy("platform", "video_id").orderBy("snapshot_date")
    previous = {c: F.lag(c).over(by_video) for c in ("snapshot_date", "views", "likes", "comments", "view_definition")}
    consecutive = F.date_diff(F.col("snapshot_date"), previous["snapshot_date"]) == 1
    same_definition = previous["view_definition"] == F.col("view_definition")
    return video_snapshots.select(
        "platform", "video_id", "channel_id", "snapshot_date", "title",
        F.to_date("published_at").alias("published_date"), "category_id", category_name(F.col("category_id"))
        .alias("category"), "duration_seconds", "is_short", "views", "likes", "comments", "view_definition",
        previous["snapshot_date"].alias("previous_snapshot_date"),
        F.when(consecutive & same_definition, F.col("views") - previous["views"]).alias("views_gained"),
        F.when(consecutive, F.col("likes") - previous["likes"]).alias("likes_gained"),
        F.when(consecutive, F.col("comments") - previous["comments"]).alias("comments_gained"),
        ratio(sum_or_null("likes", "comments"), "views").alias("engagement_per_view"),
        "source",
    )


def channel_niches(video_snapshots: DataFrame) -> DataFrame:
    """One row per channel with videos; key ``platform, channel_id``: its ``niche``, the category most of its
    videos are in (each video counted once, in the category of its latest snapshot; a tie goes to the name
    first in alphabetical order), and ``videos_tracked``."""
    videos = latest_versions(video_snapshots, ("platform", "video_id"), ("snapshot_date",))
    named = videos.select("platform", "channel_id", category_name(F.col("category_id")).alias("niche"))
    counts = named.where(F.col("niche").isNotNull()).groupBy("platform", "channel_id", "niche").agg(
        F.count(F.lit(1)).alias("videos"))
    niche = first_per_key(counts, ["platform", "channel_id"], [F.desc("videos"), F.asc("niche")]).select(
        "platform", "channel_id", "niche")
    tracked = videos.groupBy("platform", "channel_id").agg(F.count(F.lit(1)).alias("videos_tracked"))
    return tracked.join(niche, ["platform", "channel_id"], how="left")


def crawled_account_channels(export_posts: DataFrame, video_snapshots: DataFrame) -> DataFrame:
    """One row per YouTube export account whose exported videos the crawl saw; key ``platform, account``: the
    crawled channel most of them belong to (``same_as_channel_id``; a tie goes to the first id). A Studio export's
    content id is the video id, so a creator who crawls their own channel and drops its Studio exports has the
    account matched to the channel."""
    videos = latest_versions(video_snapshots, ("platform", "video_id"), ("snapshot_date",)).select(
        "platform", F.col("video_id").alias("content_id"), "channel_id")
    exported = export_posts.where(F.col("platform") == "youtube").select(
        "platform", "account", F.trim("content_id").alias("content_id")).distinct()
    counts = exported.join(videos, ["platform", "content_id"]).groupBy("platform", "account", "channel_id").agg(
        F.count(F.lit(1)).alias("videos"))
    return (first_per_key(counts, ["platform", "account"], [F.desc("videos"), F.asc("channel_id")])
            .select("platform", "account", F.col("channel_id").alias("same_as_channel_id")))


def configured_segments(spark: SparkSession, segments: dict[str, dict[str, str]] | None) -> DataFrame:
    """The segments a user gave channels and accounts (``settings.ACCOUNT_SEGMENTS_VARIABLE``), one row per
    ``platform, channel_id`` with its ``segment``."""
    rows = [(platform, account, segment) for platform, accounts in (segments or {}).items()
            for account, segment in accounts.items()]
    return spark.createDataFrame(rows, "platform string, channel_id string, segment string")


def with_configured_segment(channels: DataFrame, segments: DataFrame) -> DataFrame:
    """``channels`` with the configured segment, where there is one, as their ``niche`` (``niche_source``
    ``configured_segment``): a user's segment wins over a YouTube category."""
    return (channels.join(segments, ["platform", "channel_id"], how="left")
            .withColumn("niche_source", F.when(F.col("segment").isNotNull(), F.lit(CONFIGURED_SEGMENT))
                        .otherwise(F.col("niche_source")))
            .withColumn("niche", F.coalesce("segment", "niche")).drop("segment"))


def dim_channels(channel_snapshots: DataFrame, video_snapshots: DataFrame, export_posts: DataFrame,
                 export_account_days: DataFrame, segments: dict[str, dict[str, str]] | None = None) -> DataFrame:
    """One row per channel or account; key ``platform, channel_id``.

    - A YouTube channel the crawl saw (in ``channel_snapshots`` or as a video's channel): its latest snapshot's
      title, country, ``role`` (``ours``/``competitor``, from the crawl's connection), subscribers, total views
      and video count; ``niche`` (:func:`channel_niches`, ``niche_source`` ``youtube_category``); the first
      and last snapshot days; ``source`` ``youtube_api``.
    - An export account (the inbox folder, per platform): ``channel_id`` = the account, ``role`` ``ours``
      (a creator drops their own exports), ``source`` ``export``. Exports carry no category: a YouTube account
      whose exported videos the crawl saw (:func:`crawled_account_channels`) takes the niche of that channel
      (``same_as_channel_id``; that channel's ``niche_source``); any other has none.
    - ``segments`` (platform → channel id or account → segment, from the user's configuration) gives a row
      its niche, ``niche_source`` ``configured_segment``, over any other (:func:`with_configured_segment`);
      a matched account takes its channel's segment unless it has one of its own.

    ``is_ours = role = 'ours'`` (null when the crawl's manifest did not say); ``platform_name`` is the platform's
    name in the creator facts (``YouTube``), which hold the channel's posts and days with ``creator_id`` = its
    ``channel_id``."""
    configured = configured_segments(channel_snapshots.sparkSession, segments)
    latest = latest_versions(channel_snapshots, ("platform", "channel_id"), ("snapshot_date",))
    seen = channel_snapshots.groupBy("platform", "channel_id").agg(
        F.min("snapshot_date").alias("first_snapshot_date"), F.max("snapshot_date").alias("last_snapshot_date"))
    crawled = (latest.select("platform", "channel_id", "title", "country", F.to_date("published_at")
                             .alias("published_date"), "role", "subscribers", "total_views", "video_count", "source")
               .join(seen, ["platform", "channel_id"]))
    from_videos = video_snapshots.select("platform", "channel_id", "source").distinct().join(
        crawled, ["platform", "channel_id"], how="left_anti")
    youtube = with_configured_segment(
        crawled.unionByName(from_videos, allowMissingColumns=True)
        .join(channel_niches(video_snapshots), ["platform", "channel_id"], how="left")
        .withColumn("niche_source", F.when(F.col("niche").isNotNull(), F.lit(YOUTUBE_CATEGORY))),
        configured)
    niches = youtube.select("platform", F.col("channel_id").alias("same_as_channel_id"), "niche", "niche_source")
    matched = crawled_account_channels(export_posts, video_snapshots).join(
        niches, ["platform", "same_as_channel_id"], how="left")
    accounts = with_configured_segment(
        export_posts.select("platform", "account", "source")
        .unionByName(export_account_days.select("platform", "account", "source")).distinct()
        .join(matched, ["platform", "account"], how="left")
        .select("platform", F.col("account").alias("channel_id"), F.lit(OURS).alias("role"), "source",
                "same_as_channel_id", "niche", "niche_source"),
        configured)
    channels = youtube.unionByName(accounts, allowMissingColumns=True)
    return channels.select(
        "platform", platform_name(F.col("platform")).alias("platform_name"), "channel_id", "title", "role",
        (F.col("role") == OURS).alias("is_ours"), "niche",
        "niche_source", "country", "published_date", "subscribers", "total_views", "video_count",
        F.coalesce("videos_tracked", F.lit(0).cast("long")).alias("videos_tracked"), "first_snapshot_date",
        "last_snapshot_date", "same_as_channel_id", "source",
    )


def fact_posts(export_posts: DataFrame) -> DataFrame:
    """One row per exported post and measurement; key ``platform, account, content_id, measurement``.

    The export's counts, as the latest export of the post had them, with ``engagement = likes + comments +
    shares`` (null when the format lacks one), ``engagement_per_view = engagement / views`` and
    ``engagement_per_impression = engagement / impressions`` (null without that count: Instagram's exports
    before 2025 have impressions, after it views; ``metric_definition`` says which)."""
    engagement = sum_or_null("likes", "comments", "shares")
    return export_posts.select(
        "platform", "account", "content_id", "measurement", "format", "title", "published_date", "date",
        "period_start", "period_end", "as_of", "duration_seconds", "views", "impressions", "reach", "likes",
        "comments", "shares", "saves", "watch_time_hours", "metric_definition",
        engagement.alias("engagement"), ratio(engagement, "views").alias("engagement_per_view"),
        ratio(engagement, "impressions").alias("engagement_per_impression"), "source",
    )


def _channel_weeks(channel_snapshots: DataFrame) -> DataFrame:
    """Per channel and ISO week with a visible subscriber count: the week's last count, the growth from its
    first snapshot to its last (null with one snapshot) and that growth over the first count."""
    weeks = channel_snapshots.where(F.col("subscribers").isNotNull()).groupBy(
        "platform", "channel_id", week_start(F.col("snapshot_date")).alias("period_start"))
    ends = weeks.agg(F.min_by("subscribers", "snapshot_date").alias("first"),
                     F.max_by("subscribers", "snapshot_date").alias("last"),
                     F.count(F.lit(1)).alias("subscriber_snapshots"))
    growth = F.when(F.col("subscriber_snapshots") > 1, F.col("last") - F.col("first"))
    return ends.select(
        "platform", "channel_id", "period_start", F.col("last").alias("subscribers"),
        growth.alias("subscriber_growth"), ratio(growth, "first").alias("subscriber_growth_rate"),
        "subscriber_snapshots")


def _video_weeks(facts: DataFrame) -> DataFrame:
    """Per channel and ISO week with video snapshots: gains, views per video, engagement per view, uploads."""
    week = week_start(F.col("snapshot_date"))
    snapshots = facts.withColumn("period_start", week)
    latest = first_per_key(snapshots, ["platform", "video_id", "period_start"], [F.desc("snapshot_date")])
    engaged = F.col("likes").isNotNull() & F.col("comments").isNotNull()
    per_video = latest.groupBy("platform", "channel_id", "period_start").agg(
        F.count(F.lit(1)).alias("videos"),
        F.sum("views").alias("_views"),
        F.sum(F.when(engaged, F.col("likes") + F.col("comments"))).alias("_engagement"),
        F.sum(F.when(engaged, F.col("views"))).alias("_engaged_views"),
        F.count_if((F.col("published_date") >= F.col("period_start"))
                   & (F.col("published_date") < F.date_add(F.col("period_start"), 7))).alias("uploads"))
    gains = snapshots.groupBy("platform", "channel_id", "period_start").agg(
        F.sum("views_gained").alias("views_gained"),
        F.count("views_gained").alias("gain_days"),
        F.collect_set("view_definition").alias("_definitions"))
    joined = per_video.join(gains, ["platform", "channel_id", "period_start"])
    definition = F.when(F.size("_definitions") == 1, F.col("_definitions")[0]).when(
        F.size("_definitions") > 1, F.lit(YOUTUBE_VIEWS_MIXED))
    return joined.select(
        "platform", "channel_id", "period_start", "videos", "views_gained", "gain_days",
        ratio("_views", "videos").alias("views_per_video"),
        ratio("_engagement", "_engaged_views").alias("engagement_per_view"),
        "uploads", definition.alias("view_definition"))


def niche_percentile(metric: str) -> Column:
    """The share of the niche's channels, that week, whose ``metric`` is at or below this channel's
    (``cume_dist``: the highest is 1.0, a channel alone in its niche 1.0); null without a value. Channels
    without a niche form one group of their own."""
    peers = Window.partitionBy("niche", "period_start", F.col(metric).isNull()).orderBy(metric)
    return F.when(F.col(metric).isNotNull(), F.round(F.cume_dist().over(peers), RATIO_DECIMALS))


def benchmark_channels(dim_channels: DataFrame, channel_snapshots: DataFrame,
                       fact_video_snapshots: DataFrame) -> DataFrame:
    """One row per YouTube channel and ISO week (Monday ``period_start`` to Sunday ``period_end``) with
    snapshots; key ``platform, channel_id, period_start``.

    - ``subscribers``: the week's last snapshot; ``subscriber_growth``: last − first snapshot of the week
      (null with one snapshot; counts are public to 3 significant figures, so growth moves in steps), and
      ``subscriber_growth_rate = subscriber_growth / first``;
    - ``views_gained``: the sum of the week's daily view gains of its videos (:func:`fact_video_snapshots`;
      ``gain_days`` of them), ``view_definition`` the one definition they were measured under, or
      ``youtube_views_mixed`` when the week adds several;
    - ``views_per_video``: lifetime views of the videos snapshotted that week (each at its last snapshot of the
      week) / ``videos``; ``engagement_per_view``: their likes + comments / their views (videos with both
      counts visible); ``uploads``: those of them published that week (the upload cadence, per week);
    - ``<metric>_percentile`` for each of subscribers, subscriber_growth, views_per_video,
      engagement_per_view and uploads: :func:`niche_percentile` among the channels of the same niche that
      week; with the channel's ``role``, ``is_ours`` and ``niche``.
    """
    channels = _channel_weeks(channel_snapshots)
    videos = _video_weeks(fact_video_snapshots)
    weeks = channels.join(videos, ["platform", "channel_id", "period_start"], how="full")
    attributes = dim_channels.select("platform", "channel_id", "title", "role", "is_ours", "niche")
    joined = weeks.join(attributes, ["platform", "channel_id"], how="left")
    return joined.select(
        "platform", "channel_id", "period_start", F.date_add("period_start", 6).alias("period_end"), "title",
        "role", "is_ours", "niche", "subscribers", "subscriber_growth", "subscriber_growth_rate",
        F.coalesce("subscriber_snapshots", F.lit(0).cast("long")).alias("subscriber_snapshots"),
        F.coalesce("videos", F.lit(0).cast("long")).alias("videos"), "views_gained",
        F.coalesce("gain_days", F.lit(0).cast("long")).alias("gain_days"), "view_definition",
        "views_per_video", "engagement_per_view", F.coalesce("uploads", F.lit(0).cast("long")).alias("uploads"),
        *(niche_percentile(m).alias(f"{m}_percentile") for m in BENCHMARK_METRICS),
    )


def channel_tables(channel_snapshots: DataFrame, video_snapshots: DataFrame, export_posts: DataFrame,
                   export_account_days: DataFrame, segments: dict[str, dict[str, str]] | None = None,
                   ) -> dict[str, DataFrame]:
    """The four tables from the cross-platform silver datasets (any of them may be empty) and the configured
    ``segments`` (:func:`dim_channels`)."""
    channels = dim_channels(channel_snapshots, video_snapshots, export_posts, export_account_days, segments).cache()
    snapshots = fact_video_snapshots(video_snapshots).cache()
    return {
        "dim_channels": channels,
        "fact_video_snapshots": snapshots,
        "fact_posts": fact_posts(export_posts),
        "benchmark_channels": benchmark_channels(channels, channel_snapshots, snapshots),
    }
