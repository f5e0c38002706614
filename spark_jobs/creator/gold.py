"""The creator source's gold job: silver → the star schema loaded into PostgreSQL ``gold``.

``main`` reads the four silver datasets of the creator API once, calls the pure functions below and writes
one Delta table per table to ``<lake>/gold/creator/<table>/``: whole on a rebuild, or by MERGE of the slices
silver's changes touched (:mod:`spark_jobs.common.gold_changes`). The facts also hold the rows of the YouTube
crawl and the exports (:mod:`spark_jobs.creator.gold_cross_facts`, ``source`` <> ``creator_api``), and the
cross-platform tables (:mod:`spark_jobs.creator.gold_channels`: ``dim_channels``, ``fact_video_snapshots``,
``fact_posts``, ``benchmark_channels``) are written whole beside them; both are made anew only when the
cross-platform silver or the configured account segments changed since they were written
(:func:`cross_tables_current`). Every formula,
threshold and grain is in ``docs/creator_metrics.md``; the quality gate's view of these tables is
``pulse.sources.creator``.

Gold is a pure function of silver and the job options: no clock, no randomness, money summed as
``decimal(18,2)``, every double ratio or average rounded to 6 decimals and percentiles exact, so a
rerun, or a run on the same data partitioned differently, writes the same rows.
"""

from __future__ import annotations

import logging
import sys

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark_jobs.common.gold import RATIO_DECIMALS, calendar, col, exact_mean, ratio, read_silver, write_gold
from spark_jobs.common.gold_changes import (
    changed_rows,
    ensure_change_feed,
    gold_plan,
    latest_images,
    merge_rows,
    read_at,
    record_gold_mark,
    replace_other_sources_rows,
    without_unchanged_updates,
)
from spark_jobs.common.incremental import commit_versions
from spark_jobs.common.job import JobArgs, fit_to_input, parse_args, read_json, spark_session, write_json
from spark_jobs.common.silver import conform
from spark_jobs.creator.gold_channels import CHANNEL_TABLES, channel_tables
from spark_jobs.creator.gold_cross_facts import CREATOR_API, PLATFORM_NAMES, cross_content, cross_engagement
from spark_jobs.creator.schemas import COMPETITORS, CONTENT, CROSS_PLATFORM_DATASETS, DEMOGRAPHICS, ENGAGEMENT
from spark_jobs.creator.settings import (
    ACCOUNT_SEGMENTS_OPTION,
    ACCOUNT_SEGMENTS_VARIABLE,
    GoldSettings,
    parse_account_segments,
)

MONEY = T.DecimalType(18, 2)

# Reach bands: gold stores a stable code and its order; the label people read is reporting's
# (reporting.creator_band_labels).
MODERATE_REACH, TRENDING_REACH, VIRAL_REACH = "moderate", "trending", "viral"
BAND_ORDER = {MODERATE_REACH: 1, TRENDING_REACH: 2, VIRAL_REACH: 3}
NOT_MONETIZED, NO_REVENUE = "Not Monetized", "Monetized, No Revenue"
LOW_EARNER, MID_EARNER, TOP_EARNER = "Low Earner", "Mid Earner", "Top Earner"
PERCENTILES = (25, 50, 75, 90)

# Competitor metrics, and whether a higher value ranks better (for a creator choosing a platform).
COMPETITOR_METRICS: dict[str, bool] = {
    "commission_percentage": False,
    "supported_countries": True,
    "market_share_percentage": True,
    "sentiment_score": True,
    "app_store_rating": True,
    "google_play_rating": True,
}

log = logging.getLogger("pulse.creator.gold")

FACT_TABLES = ("fact_content", "fact_engagement")
GOLD_TABLES = ("fact_content", "fact_engagement", "dim_creators", "dim_platforms", "dim_time", "dim_content_types",
               "benchmark_competitors", "benchmark_niche")
SMALL_TABLES = ("dim_creators", "dim_platforms", "dim_time", "dim_content_types", "benchmark_competitors",
                "benchmark_niche")


# ---------------------------------------------------------------------------------------------------
# Column expressions


def money_sum(column: Column | str) -> Column:
    """The sum of a money column as ``decimal(18,2)`` (each value rounded to cents first)."""
    return F.sum(col(column).cast(MONEY)).cast(MONEY)


def performance_band(reach: Column, settings: GoldSettings) -> Column:
    """``viral`` (≥ viral), ``trending`` (≥ trending), else ``moderate``. A null reach has no band."""
    return (F.when(reach >= settings.viral_reach, F.lit(VIRAL_REACH))
            .when(reach >= settings.trending_reach, F.lit(TRENDING_REACH))
            .when(reach.isNotNull(), F.lit(MODERATE_REACH)))


def performance_band_columns(reach: Column, settings: GoldSettings) -> list[Column]:
    """``performance_band`` (the code) and ``performance_band_order`` (1 moderate … 3 viral; null with it)."""
    band = performance_band(reach, settings)
    order = F.lit(None).cast("int")
    for code, rank in BAND_ORDER.items():
        order = F.when(band == code, F.lit(rank)).otherwise(order)
    return [band.alias("performance_band"), order.alias("performance_band_order")]


def monetization_category(enabled: Column, revenue: Column, settings: GoldSettings) -> Column:
    """A post's earnings class from ``monetization_enabled`` and its revenue in cents (``decimal(18,2)``)."""
    return (F.when(enabled.isNull() | revenue.isNull(), F.lit(None).cast("string"))
            .when(~enabled, F.lit(NOT_MONETIZED))
            .when(revenue == 0, F.lit(NO_REVENUE))
            .when(revenue < F.lit(settings.mid_earner_revenue), F.lit(LOW_EARNER))
            .when(revenue < F.lit(settings.top_earner_revenue), F.lit(MID_EARNER))
            .otherwise(F.lit(TOP_EARNER)))


# ---------------------------------------------------------------------------------------------------
# Facts


def fact_content(content: DataFrame, settings: GoldSettings) -> DataFrame:
    """One row per post; key ``content_id``.

    The post's silver measures with ``engagement_score = likes + comments + shares``,
    ``engagement_rate = engagement_score / impressions``, ``engagement_rate_by_views =
    engagement_score / views``, revenue in ``decimal(18,2)`` and its ``monetization_category``.
    ``(creator_id, platform, published_date)`` is the post's day in ``fact_engagement``.
    """
    revenue = F.col("revenue_generated").cast(MONEY)
    score = F.col("likes") + F.col("comments") + F.col("shares")
    return content.select(
        "content_id", "creator_id", "platform", "content_type", "title", "published_at", "published_date",
        "likes", "comments", "shares", "views", "impressions", "average_view_time", "completion_rate",
        score.alias("engagement_score"),
        ratio(score, "impressions").alias("engagement_rate"),
        ratio(score, "views").alias("engagement_rate_by_views"),
        "monetization_enabled",
        revenue.alias("revenue_generated"),
        monetization_category(F.col("monetization_enabled"), revenue, settings)
        .alias("monetization_category"),
        F.lit(CREATOR_API).alias("source"), F.lit(CREATOR_API).alias("metric_definition"),
        F.lit(None).cast("string").alias("measurement"),
    )


def content_by_day(fact_content: DataFrame) -> DataFrame:
    """One row per creator, platform and day with posts; key ``creator_id, platform, date``.

    ``posts_published``, ``content_engagement_score`` (sum of the posts' engagement_score) and
    ``content_revenue`` (``decimal(18,2)``) of the posts published that day.
    """
    return (fact_content
            .groupBy("creator_id", "platform", F.col("published_date").alias("date"))
            .agg(F.count(F.lit(1)).alias("posts_published"),
                 F.sum("engagement_score").alias("content_engagement_score"),
                 money_sum("revenue_generated").alias("content_revenue")))


def fact_engagement(engagement: DataFrame, content_days: DataFrame, settings: GoldSettings) -> DataFrame:
    """One row per creator, platform and day; key ``creator_id, platform, date``.

    The silver measures with ``engagement_score = total_likes + total_comments + total_shares``,
    ``engagement_rate = engagement_score / impressions`` (the original's, a 0–1 ratio),
    ``engagement_rate_by_reach = engagement_score / reach``, the day's ``performance_band`` by reach,
    and the day's posts from ``content_days`` (:func:`content_by_day`; 0 when none).
    """
    score = F.col("total_likes") + F.col("total_comments") + F.col("total_shares")
    measures = engagement.select(
        "creator_id", "platform", "date", "total_likes", "total_comments", "total_shares", "impressions",
        "reach", score.alias("engagement_score"),
        ratio(score, "impressions").alias("engagement_rate"),
        ratio(score, "reach").alias("engagement_rate_by_reach"),
        "click_through_rate", "average_view_duration",
        *performance_band_columns(F.col("reach"), settings),
    )
    joined = measures.join(content_days, ["creator_id", "platform", "date"], how="left")
    return joined.select(
        *measures.columns,
        F.coalesce("posts_published", F.lit(0).cast("long")).alias("posts_published"),
        F.coalesce("content_engagement_score", F.lit(0).cast("long")).alias("content_engagement_score"),
        F.coalesce("content_revenue", F.lit(0).cast(MONEY)).alias("content_revenue"),
        F.lit(None).cast("long").alias("views"), F.lit(CREATOR_API).alias("source"),
        F.lit(CREATOR_API).alias("metric_definition"),
    )


def creator_platform_summary(fact_engagement: DataFrame) -> DataFrame:
    """One row per creator and platform with engagement days; key ``creator_id, platform``.

    Over the whole window: ``days_active``, ``impressions``, ``reach``, ``engagement_score``, ``posts``
    and ``revenue`` (``decimal(18,2)``), the creator's ``engagement_rate = engagement_score /
    impressions`` and ``revenue_per_post = revenue / posts`` (null without posts). Posts and revenue
    are those of the days (``posts_published``, ``content_revenue``): every post has its day, which
    the quality gate checks (fact_content → fact_engagement).
    """
    summary = fact_engagement.groupBy("creator_id", "platform").agg(
        F.count(F.lit(1)).alias("days_active"), F.sum("impressions").alias("impressions"),
        F.sum("reach").alias("reach"), F.sum("engagement_score").alias("engagement_score"),
        F.sum("posts_published").alias("posts"), money_sum("content_revenue").alias("revenue"))
    return summary.select(
        "*",
        ratio("engagement_score", "impressions").alias("engagement_rate"),
        F.when(F.col("posts") > 0, F.round(F.col("revenue") / F.col("posts"), RATIO_DECIMALS).cast("double"))
        .alias("revenue_per_post"),
    )


# ---------------------------------------------------------------------------------------------------
# Dimensions


def dim_creators(demographics: DataFrame, creator_platforms: DataFrame, fact_engagement: DataFrame,
                 settings: GoldSettings) -> DataFrame:
    """One row per creator in demographics (with or without facts); key ``creator_id``.

    Attributes from demographics (``user_id`` renamed ``creator_id``) and, over the window:
    ``platforms_active``, ``days_active`` (distinct dates with engagement), ``total_reach``,
    ``avg_daily_reach = total_reach / days_active``, ``engagement_score``, ``impressions``,
    ``engagement_rate = engagement_score / impressions``, ``posts``, ``revenue`` and a creator-level
    ``performance_band`` of ``avg_daily_reach``. Sums are 0 and ratios/band null without facts.
    """
    totals = creator_platforms.groupBy("creator_id").agg(
        F.count(F.lit(1)).alias("platforms_active"), F.sum("reach").alias("total_reach"),
        F.sum("engagement_score").alias("engagement_score"), F.sum("impressions").alias("impressions"),
        F.sum("posts").alias("posts"), money_sum("revenue").alias("revenue"))
    days = fact_engagement.groupBy("creator_id").agg(F.countDistinct("date").alias("days_active"))
    creators = demographics.select(
        F.col("user_id").alias("creator_id"), "age", "age_group", "device", "creator_segment",
        "active_status", "subscription_tier", "signup_at", F.to_date("signup_at").alias("signup_date"))
    joined = creators.join(totals, "creator_id", how="left").join(days, "creator_id", how="left")
    zero = F.lit(0).cast("long")
    filled = joined.select(
        *creators.columns,
        *(F.coalesce(c, zero).alias(c) for c in ("platforms_active", "days_active", "total_reach",
                                                 "engagement_score", "impressions", "posts")),
        F.coalesce("revenue", F.lit(0).cast(MONEY)).alias("revenue"),
    )
    avg_daily_reach = ratio("total_reach", "days_active")
    return filled.select(
        *creators.columns, "platforms_active", "days_active", "total_reach",
        avg_daily_reach.alias("avg_daily_reach"), "engagement_score", "impressions",
        ratio("engagement_score", "impressions").alias("engagement_rate"), "posts", "revenue",
        *performance_band_columns(avg_daily_reach, settings),
    )


def dim_platforms(fact_engagement: DataFrame, fact_content: DataFrame) -> DataFrame:
    """One row per social platform seen in engagement or content; key ``platform``."""
    return fact_engagement.select("platform").union(fact_content.select("platform")).distinct()


def dim_content_types(fact_content: DataFrame) -> DataFrame:
    """One row per content type seen in content; key ``content_type``."""
    return fact_content.select("content_type").distinct()


def dim_time(fact_engagement: DataFrame, fact_content: DataFrame) -> DataFrame:
    """One row per date in ``fact_engagement.date`` or ``fact_content.published_date``, with its calendar
    attributes (:func:`~spark_jobs.common.gold.calendar`); key ``date``. (An exported post may have no
    published date.)"""
    dates = fact_engagement.select("date").union(fact_content.select(F.col("published_date").alias("date")))
    return calendar(dates.where(F.col("date").isNotNull()))


# ---------------------------------------------------------------------------------------------------
# Benchmarks


def our_platform_stats(dim_creators: DataFrame, fact_content: DataFrame) -> DataFrame:
    """One row: what our own data knows about our platform.

    ``creators`` (all in demographics), ``active_creators`` (with at least one engagement day),
    ``monetized_content_share`` (posts with monetization enabled / posts, 0–1), ``total_revenue`` and
    ``revenue_per_creator = total_revenue / creators`` (``decimal(18,2)``).
    """
    creators = dim_creators.agg(F.count(F.lit(1)).alias("creators"),
                                F.count_if(F.col("days_active") > 0).alias("active_creators"))
    content = fact_content.agg(F.count(F.lit(1)).alias("posts"),
                               F.count_if(F.col("monetization_enabled")).alias("monetized_posts"),
                               money_sum("revenue_generated").alias("total_revenue"))
    both = creators.crossJoin(content)
    total_revenue = F.coalesce("total_revenue", F.lit(0).cast(MONEY))
    return both.select(
        "creators", "active_creators",
        ratio("monetized_posts", "posts").alias("monetized_content_share"),
        total_revenue.alias("total_revenue"),
        F.when(F.col("creators") > 0, F.round(total_revenue / F.col("creators"), 2)).cast(MONEY)
        .alias("revenue_per_creator"),
    )


def benchmark_competitors(competitors: DataFrame, our_stats: DataFrame, settings: GoldSettings) -> DataFrame:
    """One row per competitor platform plus one for ours; key ``platform_name``.

    For each competitor metric: its value, ``<metric>_rank`` among the competitors (1 = best for a
    creator: lowest commission, highest everything else; ties share a rank, i.e. 1 + the number of
    competitors strictly better) and ``<metric>_vs_median`` (value − the competitors' median). Our row
    (``is_our_platform``) takes its name and commission from ``settings`` (configuration, not API
    data), ranks its commission among the competitors' and carries ``our_stats``
    (:func:`our_platform_stats`); those columns are null on competitor rows.
    """
    metrics = list(COMPETITOR_METRICS)
    theirs = competitors.select(
        "platform_name", F.lit(False).alias("is_our_platform"), "competitor_id", "founding_year",
        "headquarter_city", "headquarter_country", *metrics)
    ours = our_stats.select(
        F.lit(settings.our_platform).alias("platform_name"), F.lit(True).alias("is_our_platform"),
        F.lit(settings.our_commission_percentage).cast("int").alias("commission_percentage"), "*")
    rows = theirs.unionByName(ours, allowMissingColumns=True)

    # A handful of rows: every window runs over one partition. Ordering by is_our_platform first puts
    # our row after every competitor, so it never shifts a competitor's rank.
    everyone = Window.partitionBy()
    competitor = ~F.col("is_our_platform")

    def rank(metric: str) -> Column:
        order = F.desc(metric) if COMPETITOR_METRICS[metric] else F.asc(metric)
        among_them = F.rank().over(Window.orderBy("is_our_platform", order))
        if metric != "commission_percentage":
            return F.when(competitor, among_them)
        cheaper = F.count_if(competitor & (F.col(metric) < settings.our_commission_percentage)).over(everyone)
        return F.when(competitor, among_them).otherwise(cheaper + 1).cast("int")

    def vs_median(metric: str) -> Column:
        median = F.percentile(F.when(competitor, F.col(metric)), 0.5).over(everyone)
        return F.round(F.col(metric) - median, RATIO_DECIMALS)

    return rows.select(
        "platform_name", "is_our_platform", "competitor_id", "founding_year", "headquarter_city",
        "headquarter_country",
        *(c for m in metrics
          for c in (F.col(m), rank(m).alias(f"{m}_rank"), vs_median(m).alias(f"{m}_vs_median"))),
        *our_stats.columns,
    )


def benchmark_niche(dim_creators: DataFrame, creator_platforms: DataFrame) -> DataFrame:
    """One row per creator segment × platform × subscription tier; key ``creator_segment, platform,
    subscription_tier``.

    Over the creators active on the platform (:func:`creator_platform_summary`), by their demographic
    segment and tier: ``creators``, ``posts``, ``total_reach``, ``total_revenue``,
    ``engagement_rate_mean`` and exact 25/50/75/90th percentiles of the creators' engagement rate on
    the platform, and of their revenue per post (creators with posts only; ``decimal(18,2)``).
    """
    attributes = F.broadcast(dim_creators.select("creator_id", "creator_segment", "subscription_tier"))
    fractions = [p / 100 for p in PERCENTILES]
    cells = (creator_platforms.join(attributes, "creator_id", how="inner")
             .groupBy("creator_segment", "platform", "subscription_tier")
             .agg(F.count(F.lit(1)).alias("creators"), F.sum("posts").alias("posts"),
                  F.sum("reach").alias("total_reach"), money_sum("revenue").alias("total_revenue"),
                  exact_mean("engagement_rate").alias("engagement_rate_mean"),
                  F.percentile("engagement_rate", fractions).alias("rate_percentiles"),
                  F.percentile("revenue_per_post", fractions).alias("revenue_percentiles")))
    return cells.select(
        "creator_segment", "platform", "subscription_tier", "creators", "posts", "total_reach",
        "total_revenue", "engagement_rate_mean",
        *(F.round(F.col("rate_percentiles")[i], RATIO_DECIMALS).alias(f"engagement_rate_p{p}")
          for i, p in enumerate(PERCENTILES)),
        *(F.round(F.col("revenue_percentiles")[i], 2).cast(MONEY).alias(f"revenue_per_post_p{p}")
          for i, p in enumerate(PERCENTILES)),
    )


# ---------------------------------------------------------------------------------------------------
# The application


def small_tables(demographics: DataFrame, competitors: DataFrame, posts: DataFrame, days: DataFrame,
                 settings: GoldSettings) -> dict[str, DataFrame]:
    """The dimensions and benchmarks, from silver's demographics and competitors and the two facts. They
    summarise the whole history (a creator's totals, a niche's percentiles), so every run computes them
    from the whole facts: a scan of ``fact_engagement`` and ``fact_content``'s few columns they read.

    The creators, the niche benchmark and our platform's figures are the creator API's (its rows of the facts:
    the creators of our platform, with revenue); the platforms, content types and days are every source's."""
    api_posts, api_days = (frame.where(F.col("source") == CREATOR_API) for frame in (posts, days))
    summary = creator_platform_summary(api_days).cache()
    creators = dim_creators(demographics, summary, api_days, settings).cache()
    return {
        "dim_creators": creators,
        "dim_platforms": dim_platforms(days, posts),
        "dim_content_types": dim_content_types(posts),
        "dim_time": dim_time(days, posts),
        "benchmark_competitors": benchmark_competitors(competitors, our_platform_stats(creators, api_posts),
                                                       settings),
        "benchmark_niche": benchmark_niche(creators, summary),
    }


def changed_slices(content_changes: DataFrame | None, engagement_changes: DataFrame | None) -> DataFrame:
    """The ``fact_engagement`` slices (``creator_id, platform, date``) a change touches: the engagement
    rows that changed, and the days changed posts were published on, before and after the change (a post
    that moved day changes both).

    Grain: one row per slice."""
    parts = []
    if engagement_changes is not None:
        parts.append(engagement_changes.select("creator_id", "platform", "date"))
    if content_changes is not None:
        parts.append(content_changes.select("creator_id", "platform", F.col("published_date").alias("date")))
    if not parts:
        return None
    slices = parts[0]
    for part in parts[1:]:
        slices = slices.unionByName(part)
    return slices.where(F.col("date").isNotNull()).distinct()


def in_slices(frame: DataFrame, slices: DataFrame, dates: list, date_column: str = "date") -> DataFrame:
    """The rows of ``frame`` in ``slices``. The filter on the slices' dates comes first, so Delta skips
    the files whose dates are all elsewhere (a daily run's slices are a few recent dates)."""
    keys = slices.select("creator_id", "platform", F.col("date").alias(date_column))
    return (frame.where(F.col(date_column).isin(dates))
            .join(F.broadcast(keys), ["creator_id", "platform", date_column], how="left_semi"))


FACTS_LAYOUT = "2"
"""The facts' columns' layout (2: every source's rows, with ``source`` and ``metric_definition``), recorded with
the job's settings: a lake whose last gold run wrote another layout is rebuilt, not merged into."""
CHANNEL_MARK = "_channel_tables.json"
CROSS_LAYOUT = 2
"""The layout of what gold makes of the cross-platform silver (the channel tables and the facts' rows of other
sources): recorded in the channel mark, so that a lake written by an earlier layout has them rewritten."""


def cross_silver_versions(spark: SparkSession, args: JobArgs) -> dict[str, int]:
    """The current version of each cross-platform silver dataset (-1 when it does not exist)."""
    return {name: (commit_versions(spark, args.zone("silver", name)) or [-1])[-1] for name in CROSS_PLATFORM_DATASETS}


def _channel_mark(spark: SparkSession, args: JobArgs, silver_versions: dict[str, int],
                  segments: dict[str, dict[str, str]]) -> dict:
    gold = {table: (commit_versions(spark, args.zone("gold", table)) or [-1])[-1] for table in CHANNEL_TABLES}
    return {"silver_versions": silver_versions, "gold_versions": gold, "layout": CROSS_LAYOUT, "segments": segments}


def cross_tables_current(spark: SparkSession, args: JobArgs, silver_versions: dict[str, int],
                         segments: dict[str, dict[str, str]] | None = None) -> bool:
    """Whether gold already holds what the cross-platform silver at ``silver_versions`` and the configured
    ``segments`` make: the channel mark (``<gold>/_channel_tables.json``: the silver versions the last write
    read, the segments it applied, the channel tables' versions it left and its layout) is this one, so
    neither silver, the segments nor those tables moved since."""
    mark = read_json(spark, f"{args.zone('gold')}/{CHANNEL_MARK}")
    return mark == _channel_mark(spark, args, silver_versions, segments or {})


def write_channel_tables(spark: SparkSession, args: JobArgs, cross: dict[str, DataFrame],
                         silver_versions: dict[str, int], segments: dict[str, dict[str, str]] | None = None) -> None:
    """Write the cross-platform tables (:func:`~spark_jobs.creator.gold_channels.channel_tables`) whole, then the
    channel mark that says they (and the facts' rows of other sources, written before) are current. A segment
    configured for a channel or account no input has is named in a warning: it applies to nothing yet."""
    segments = segments or {}
    tables = channel_tables(**cross, segments=segments)
    for table, frame in tables.items():
        write_gold(frame, args, table, CHANNEL_TABLES)
    known = {(r["platform"], r["channel_id"])
             for r in tables["dim_channels"].select("platform", "channel_id").collect()}  # cached: no second read
    unknown = sorted(f"{platform}/{account}" for platform, accounts in segments.items() for account in accounts
                     if (platform, account) not in known)
    if unknown:
        log.warning("gold: %s configures a segment for %s, which no input has (yet): it applies to nothing",
                    ACCOUNT_SEGMENTS_VARIABLE, ", ".join(unknown))
    write_json(spark, f"{args.zone('gold')}/{CHANNEL_MARK}", _channel_mark(spark, args, silver_versions, segments))


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv, "Creator gold: silver → star schema and benchmarks",
                      options={**GoldSettings().options(), ACCOUNT_SEGMENTS_OPTION: "{}"})
    settings = GoldSettings.from_options(args.extra)
    segments = parse_account_segments(args.extra[ACCOUNT_SEGMENTS_OPTION], tuple(PLATFORM_NAMES))
    spark = spark_session(f"pulse-{args.source}-gold")
    fit_to_input(spark, [args.zone("silver"), args.zone("gold")])
    datasets = {d.name: d for d in (DEMOGRAPHICS, COMPETITORS, CONTENT, ENGAGEMENT)}
    silver_uris = {name: args.zone("silver", name) for name in datasets}
    gold_uris = {table: args.zone("gold", table) for table in GOLD_TABLES}
    plan = gold_plan(spark, args.zone("gold"), silver_uris, gold_uris, args.full_refresh,
                     {**settings.options(), "facts-layout": FACTS_LAYOUT})
    log.info("gold: %s", plan.describe())
    silver = {name: read_at(spark, silver_uris[name], plan.silver_versions[name])
              .select(*(F.col(f.name).cast(f.dataType) for f in d.schema)) for name, d in datasets.items()}
    counts = {"mode": plan.mode, "reason": plan.reason, "silver_versions": plan.silver_versions}

    cross_versions = cross_silver_versions(spark, args)
    cross_current = not args.full_refresh and cross_tables_current(spark, args, cross_versions, segments)
    cross = {name: read_silver(spark, args, dataset, required=False)
             for name, dataset in CROSS_PLATFORM_DATASETS.items()}
    cross_posts = cross_content(cross["export_posts"], cross["video_snapshots"])
    cross_days = cross_engagement(cross["export_account_days"], cross_posts)
    counts["cross_platform"] = "unchanged" if cross_current else "written"

    if plan.incremental:
        changes = {}
        for name in ("content", "engagement"):
            feed = changed_rows(spark, silver_uris[name], plan.since[name], plan.silver_versions[name])
            changes[name] = (without_unchanged_updates(feed, datasets[name].key, datasets[name].columns).cache()
                             if feed is not None else None)
        slices = changed_slices(changes["content"], changes["engagement"])
        slices = slices.cache() if slices is not None else None
        dates = sorted(r["date"] for r in slices.select("date").distinct().collect()) if slices is not None else []
        changed_posts = (fact_content(latest_images(changes["content"], CONTENT.key), settings)
                         if changes["content"] is not None else None)
        posts_merged = changed_posts.count() if changed_posts is not None else 0
        if posts_merged:
            merge_rows(spark, changed_posts, gold_uris["fact_content"], ["content_id", "source"])
        slice_count = slices.count() if slices is not None else 0
        if slice_count:
            posts_now = (spark.read.format("delta").load(gold_uris["fact_content"])
                         .where(F.col("source") == CREATOR_API))
            slice_days = fact_engagement(in_slices(silver["engagement"], slices, dates),
                                         content_by_day(in_slices(posts_now, slices, dates, "published_date")),
                                         settings)
            merge_rows(spark, slice_days, gold_uris["fact_engagement"], ["creator_id", "platform", "date", "source"])
        counts["slices"] = {"fact_content": posts_merged, "fact_engagement": slice_count,
                            "dates": [d.isoformat() for d in dates]}
        log.info("gold: merged %d posts into fact_content and %d creator-platform-days (slices) of %d dates into "
                 "fact_engagement", posts_merged, slice_count, len(dates))
        replaced = {}
        if not cross_current:  # the other sources' rows, made anew: at most one MERGE per fact
            for table, rows, key in (("fact_content", cross_posts, ["content_id"]),
                                     ("fact_engagement", cross_days, ["creator_id", "platform", "date"])):
                schema = spark.read.format("delta").load(gold_uris[table]).schema
                replaced[table] = replace_other_sources_rows(spark, conform(rows, schema), gold_uris[table], key,
                                                             CREATOR_API)
            counts["cross_platform_rows_changed"] = replaced
            log.info("gold: the facts' rows of the YouTube crawl and the exports brought up to date (cross-platform "
                     "silver changed): %s rows upserted or deleted", replaced)
        if slices is not None:
            slices.unpersist()
        # The dimensions and benchmarks are a function of the facts, demographics and competitors (and the
        # settings, which did not change: the plan would rebuild): when none of them moved, they would come
        # out as they are, so they are not computed from the whole facts again nor written as a new version.
        facts_changed = posts_merged or slice_count or any(replaced.values())
        dims_moved = any(plan.since[name] != plan.silver_versions[name] for name in ("demographics", "competitors"))
        if facts_changed or dims_moved:
            posts = spark.read.format("delta").load(gold_uris["fact_content"])
            days = spark.read.format("delta").load(gold_uris["fact_engagement"])
            tables = small_tables(silver["demographics"], silver["competitors"], posts, days, settings)
        else:
            tables = {}
            log.info("gold: the facts, demographics and competitors are as the last gold run left them: %s stay "
                     "at their versions", ", ".join(SMALL_TABLES))
        counts["small_tables"] = "written" if tables else "unchanged"
    else:
        api_posts = fact_content(silver["content"], settings).cache()
        api_days = fact_engagement(silver["engagement"], content_by_day(api_posts), settings)
        posts = api_posts.unionByName(conform(cross_posts, api_posts.schema)).cache()
        days = api_days.unionByName(conform(cross_days, api_days.schema)).cache()
        tables = {"fact_content": posts, "fact_engagement": days,
                  **small_tables(silver["demographics"], silver["competitors"], posts, days, settings)}
        counts["small_tables"] = "written"
    for table, frame in tables.items():
        write_gold(frame, args, table, SMALL_TABLES)
    if not cross_current:
        write_channel_tables(spark, args, cross, cross_versions, segments)
    counts["channel_tables"] = "unchanged" if cross_current else "written"
    for table in FACT_TABLES:  # the warehouse load reads what each MERGE changed from it
        ensure_change_feed(spark, gold_uris[table])
    record_gold_mark(spark, args.zone("gold"), plan, gold_uris, args.run_date)
    write_json(spark, f"{args.zone('gold')}/_counts.json", counts)
    spark.catalog.clearCache()


if __name__ == "__main__":
    main(sys.argv[1:])
