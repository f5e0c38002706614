"""The creator gold job: each pure function on hand-made silver rows, then ``main`` on a tiny lake.

Expected values are computed by hand in each test, from the formulas in docs/creator_metrics.md.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from pulse.sources.creator import CREATOR
from spark_jobs.common.job import parse_args
from spark_jobs.creator import gold
from spark_jobs.creator.schemas import COMPETITORS, CONTENT, DEMOGRAPHICS, ENGAGEMENT
from tests.builders import written_gold
from tests.builders.creator import (
    NOV_18,
    TINY_CREATORS,
    TINY_DAYS,
    TINY_POSTS,
    D,
    competitor_rows,
    creator,
    day,
    frame,
    gold_rows,
    post,
    run_gold,
    write_tiny_silver,
)

pytestmark = pytest.mark.spark

SETTINGS = gold.GoldSettings()


# --- silver rows ---------------------------------------------------------------------------------------


def by_key(df, *key) -> dict:
    return {tuple(r[k] for k in key) if len(key) > 1 else r[key[0]]: r.asDict() for r in df.collect()}


def facts(spark, engagement: list[dict], content: list[dict], settings=SETTINGS):
    posts = gold.fact_content(frame(spark, CONTENT, content), settings)
    days = gold.fact_engagement(frame(spark, ENGAGEMENT, engagement), gold.content_by_day(posts), settings)
    return days, posts


# --- fact_engagement -----------------------------------------------------------------------------------

def test_a_days_engagement_score_is_likes_comments_and_shares_and_its_rates_are_ratios(spark):
    days, _ = facts(spark, [
        day("c1", "TikTok", D(2026, 11, 18), likes=100, comments=20, shares=5, impressions=1000, reach=500),
        day("c1", "TikTok", D(2026, 11, 19), likes=1, comments=0, shares=0, impressions=3, reach=7),
        day("c1", "YouTube", D(2026, 11, 19), likes=0, comments=0, shares=0, impressions=0, reach=0),
    ], [])
    rows = by_key(days, "platform", "date")
    first = rows[("TikTok", D(2026, 11, 18))]
    columns = ("engagement_score", "engagement_rate", "engagement_rate_by_reach")
    assert tuple(first[c] for c in columns) == (125, 0.125, 0.25)
    rounded = rows[("TikTok", D(2026, 11, 19))]
    assert tuple(rounded[c] for c in columns) == (1, 0.333333, 0.142857)  # 1/3, 1/7
    empty = rows[("YouTube", D(2026, 11, 19))]
    assert tuple(empty[c] for c in columns) == (0, None, None)
    assert (first["click_through_rate"], first["average_view_duration"]) == (0.05, 40.0)


# reach → band, at and around each default threshold (25,000 and 100,000)
BANDS = [(0, "moderate", 1), (24_999, "moderate", 1), (25_000, "trending", 2), (25_001, "trending", 2),
         (99_999, "trending", 2), (100_000, "viral", 3), (100_001, "viral", 3)]


def test_a_days_performance_band_is_set_by_its_reach_at_and_around_each_threshold(spark):
    engagement = [day("c1", "TikTok", D(2026, 11, i + 1), reach=reach) for i, (reach, *_) in enumerate(BANDS)]
    days, _ = facts(spark, engagement, [])
    assert [(r["reach"], r["performance_band"], r["performance_band_order"])
            for r in days.orderBy("date").collect()] == BANDS


def test_reach_thresholds_are_job_options(spark):
    settings = gold.GoldSettings.from_options({**gold.GoldSettings().options(), "trending-reach": "10",
                                               "viral-reach": "20"})
    engagement = [day("c1", "TikTok", D(2026, 11, d), reach=r) for d, r in ((1, 9), (2, 10), (3, 20))]
    days, _ = facts(spark, engagement, [], settings)
    assert [r["performance_band"] for r in days.orderBy("date").collect()] == ["moderate", "trending", "viral"]
    with pytest.raises(ValueError, match="--trending-reach"):
        gold.GoldSettings(trending_reach=100, viral_reach=100)


def test_a_day_carries_its_posts_and_a_day_without_posts_carries_zero(spark):
    days, _ = facts(spark, [day("c1", "TikTok", D(2026, 11, 18)), day("c1", "TikTok", D(2026, 11, 19))], [
        post("p1", date=D(2026, 11, 18), likes=50, comments=10, shares=5, revenue=10.5),
        post("p2", date=D(2026, 11, 18), likes=1, comments=2, shares=3, revenue=20.25),
    ])
    rows = by_key(days, "date")
    with_posts, without = rows[D(2026, 11, 18)], rows[D(2026, 11, 19)]
    assert (with_posts["posts_published"], with_posts["content_engagement_score"],
            with_posts["content_revenue"]) == (2, 65 + 6, Decimal("30.75"))
    assert (without["posts_published"], without["content_engagement_score"],
            without["content_revenue"]) == (0, 0, Decimal("0.00"))


# --- fact_content --------------------------------------------------------------------------------------

def test_a_posts_engagement_score_and_rates_use_its_own_measures(spark):
    _, posts = facts(spark, [], [
        post("p1", likes=30, comments=10, shares=10, views=200, impressions=400),
        post("p2", likes=0, comments=0, shares=0, views=0, impressions=0),
    ])
    rows = by_key(posts, "content_id")
    assert (rows["p1"]["engagement_score"], rows["p1"]["engagement_rate"],
            rows["p1"]["engagement_rate_by_views"]) == (50, 0.125, 0.25)
    assert (rows["p2"]["engagement_rate"], rows["p2"]["engagement_rate_by_views"]) == (None, None)
    assert rows["p1"]["published_at"] == dt.datetime(2026, 11, 18, 10, 0)  # UTC, as the session reads it


# (monetization_enabled, silver revenue) → (category, revenue in cents)
CATEGORIES = [
    ((False, 0.0), ("Not Monetized", "0.00")),
    ((False, 10.0), ("Not Monetized", "10.00")),  # disabled wins, whatever the revenue
    ((True, 0.0), ("Monetized, No Revenue", "0.00")),
    ((True, 0.01), ("Low Earner", "0.01")),
    ((True, 49.99), ("Low Earner", "49.99")),
    ((True, 49.999), ("Mid Earner", "50.00")),  # categories read the revenue in cents
    ((True, 50.0), ("Mid Earner", "50.00")),
    ((True, 499.99), ("Mid Earner", "499.99")),
    ((True, 500.0), ("Top Earner", "500.00")),
    ((True, 2179.92), ("Top Earner", "2179.92")),
]


def test_each_monetization_category_at_its_boundaries(spark):
    content = [post(f"p{i:02d}", monetized=monetized, revenue=revenue)
               for i, ((monetized, revenue), _) in enumerate(CATEGORIES)]
    _, posts = facts(spark, [], content)
    rows = posts.orderBy("content_id").collect()
    assert [(r["monetization_category"], r["revenue_generated"]) for r in rows] == [
        (category, Decimal(cents)) for _, (category, cents) in CATEGORIES]


# --- dimensions ----------------------------------------------------------------------------------------

def test_dim_time_has_every_fact_date_with_iso_weeks_across_a_year_boundary(spark):
    days, posts = facts(spark, [day("c1", "TikTok", D(2026, 12, 31)), day("c1", "TikTok", D(2027, 1, 1)),
                                day("c1", "YouTube", D(2027, 1, 1)), day("c1", "TikTok", D(2027, 1, 3))],
                        [post("p1", date=D(2027, 1, 4)), post("p2", date=D(2026, 1, 1))])
    rows = by_key(gold.dim_time(days, posts), "date")
    columns = ("year", "quarter", "month", "month_name", "iso_week", "iso_year", "day_of_month",
               "day_of_week", "day_of_week_number", "is_weekend", "week_start", "month_start")
    expected = {  # 1 Jan 2026 is a Thursday (ISO week 1); 1 Jan 2027 a Friday (week 53 of 2026)
        D(2026, 1, 1): (2026, 1, 1, "January", 1, 2026, 1, "Thursday", 4, False, D(2025, 12, 29),
                        D(2026, 1, 1)),
        D(2026, 12, 31): (2026, 4, 12, "December", 53, 2026, 31, "Thursday", 4, False, D(2026, 12, 28),
                          D(2026, 12, 1)),
        D(2027, 1, 1): (2027, 1, 1, "January", 53, 2026, 1, "Friday", 5, False, D(2026, 12, 28),
                        D(2027, 1, 1)),
        D(2027, 1, 3): (2027, 1, 1, "January", 53, 2026, 3, "Sunday", 7, True, D(2026, 12, 28),
                        D(2027, 1, 1)),
        D(2027, 1, 4): (2027, 1, 1, "January", 1, 2027, 4, "Monday", 1, False, D(2027, 1, 4),
                        D(2027, 1, 1)),
    }
    assert {d: tuple(r[c] for c in columns) for d, r in rows.items()} == expected


def test_dim_platforms_and_content_types_are_the_distinct_values_of_the_facts(spark):
    days, posts = facts(spark, [day("c1", "TikTok", NOV_18), day("c2", "TikTok", NOV_18)],
                        [post("p1", platform="LinkedIn", content_type="Text"),
                         post("p2", content_type="Video"), post("p3", content_type="Video")])
    assert sorted(r["platform"] for r in gold.dim_platforms(days, posts).collect()) == ["LinkedIn", "TikTok"]
    assert sorted(r["content_type"] for r in gold.dim_content_types(posts).collect()) == ["Text", "Video"]


def creators_and_facts(spark):
    demographics = frame(spark, DEMOGRAPHICS, TINY_CREATORS)
    days, posts = facts(spark, TINY_DAYS, TINY_POSTS)
    summary = gold.creator_platform_summary(days)
    return demographics, days, posts, summary, gold.dim_creators(demographics, summary, days, SETTINGS)


def test_dim_creators_sums_each_creators_facts_and_keeps_creators_without_facts(spark):
    *_, creators = creators_and_facts(spark)
    rows = by_key(creators, "creator_id")
    c1, c2, c3 = rows["c1"], rows["c2"], rows["c3"]
    # c1: 2 distinct days (18th; 19th on two platforms), reach 30,000 + 120,000 + 1,000 = 151,000.
    assert (c1["platforms_active"], c1["days_active"], c1["total_reach"], c1["avg_daily_reach"]) == (
        2, 2, 151_000, 75_500.0)
    # score 125 + 250 + 50 = 425 over impressions 3,500 = 0.121429 (0.1214285…).
    assert (c1["engagement_score"], c1["impressions"], c1["engagement_rate"]) == (425, 3_500, 0.121429)
    assert (c1["posts"], c1["revenue"], c1["performance_band"]) == (3, Decimal("120.50"), "trending")
    assert (c2["avg_daily_reach"], c2["engagement_rate"], c2["revenue"], c2["performance_band"]) == (
        5_000.0, 0.05, Decimal("600.00"), "moderate")
    assert (c3["platforms_active"], c3["days_active"], c3["total_reach"], c3["posts"], c3["revenue"]) == (
        0, 0, 0, 0, Decimal("0.00"))
    assert (c3["avg_daily_reach"], c3["engagement_rate"], c3["performance_band"]) == (None, None, None)
    assert (c1["signup_date"], c3["creator_segment"], c2["subscription_tier"]) == (
        D(2025, 3, 1), "Beauty", "Premium")


def test_every_post_joins_its_days_engagement_row(spark):
    _, days, posts, *_ = creators_and_facts(spark)
    orphans = posts.join(days.withColumnRenamed("date", "published_date"),
                         ["creator_id", "platform", "published_date"], "left_anti")
    assert orphans.count() == 0
    assert sum(r["posts_published"] for r in days.collect()) == posts.count() == 4


# --- benchmarks ----------------------------------------------------------------------------------------

def test_competitors_are_ranked_against_each_other_and_their_median_and_our_platform_gets_one_row(spark):
    demographics, _, posts, _, creators = creators_and_facts(spark)
    ours = gold.our_platform_stats(creators, posts)
    bench = by_key(gold.benchmark_competitors(frame(spark, COMPETITORS, competitor_rows()), ours, SETTINGS),
                   "platform_name")
    assert len(bench) == 8
    # Commissions 0, 0, 0, 7, 12, 15, 15: median 7; the lowest ranks first and ties share a rank.
    assert {n: (r["commission_percentage_rank"], r["commission_percentage_vs_median"])
            for n, r in bench.items() if not r["is_our_platform"]} == {
        "Buy Me a Coffee": (1, -7.0), "Teachable": (1, -7.0), "Kajabi": (1, -7.0), "Patreon": (4, 0.0),
        "Gumroad": (5, 5.0), "Ko-fi": (6, 8.0), "Podia": (6, 8.0)}
    # Countries 20, 46, 64, 70, 74, 79, 173: median 70; the most ranks first.
    assert [(n, bench[n]["supported_countries_rank"], bench[n]["supported_countries_vs_median"])
            for n in ("Buy Me a Coffee", "Kajabi", "Patreon")] == [
        ("Buy Me a Coffee", 1, 103.0), ("Kajabi", 4, 0.0), ("Patreon", 7, -50.0)]
    # Market shares' median is 24.8 (Teachable); Patreon's 29.65 is the largest.
    patreon = bench["Patreon"]
    assert (patreon["market_share_percentage_rank"], patreon["market_share_percentage_vs_median"]) == (
        1, 4.85)
    # Google Play 3.2, 3.3, 3.4, 3.5, 4.2, 4.5, 4.8: Patreon's 4.2 is third, 0.7 above the median.
    assert (patreon["google_play_rating_rank"], patreon["google_play_rating_vs_median"]) == (3, 0.7)
    assert patreon["creators"] is None and patreon["is_our_platform"] is False
    mainstack = bench["Mainstack"]
    assert mainstack["is_our_platform"] is True and mainstack["competitor_id"] is None
    assert (mainstack["commission_percentage"], mainstack["commission_percentage_rank"],
            mainstack["commission_percentage_vs_median"]) == (0, 1, -7.0)
    # 3 creators, 2 with engagement days; 3 of 4 posts monetized; 120.50 + 600.00 revenue; 720.50 / 3.
    assert (mainstack["creators"], mainstack["active_creators"], mainstack["monetized_content_share"],
            mainstack["total_revenue"], mainstack["revenue_per_creator"]) == (
        3, 2, 0.75, Decimal("720.50"), Decimal("240.17"))
    assert mainstack["market_share_percentage"] is None and mainstack["sentiment_score_rank"] is None


def test_our_platform_name_and_commission_are_configuration(spark):
    _, _, posts, _, creators = creators_and_facts(spark)
    settings = gold.GoldSettings(our_platform="Pulse Creators", our_commission_percentage=10)
    ours = gold.our_platform_stats(creators, posts)
    competitors = frame(spark, COMPETITORS, competitor_rows())
    bench = by_key(gold.benchmark_competitors(competitors, ours, settings), "platform_name")
    ours = bench["Pulse Creators"]
    # Four competitors charge less than 10 % (0, 0, 0, 7), so 10 % ranks fifth; median 7.
    assert (ours["commission_percentage"], ours["commission_percentage_rank"],
            ours["commission_percentage_vs_median"]) == (10, 5, 3.0)


def test_niche_benchmark_gives_exact_percentiles_of_creator_rates_and_revenue_per_post(spark):
    # Five Gaming/Free creators on TikTok with engagement rates 0.1 … 0.5 (score 100 … 500 per 1,000
    # impressions); three of them posted: revenue per post 10.00 / 1, 30.00 / 2 = 15.00 and 0.00 / 1.
    demographics = frame(spark, DEMOGRAPHICS, [creator(f"g{i}") for i in range(1, 6)] +
                         [creator("b1", segment="Beauty", tier="Premium")])
    engagement = [day(f"g{i}", "TikTok", NOV_18, likes=100 * i, comments=0, shares=0, impressions=1000,
                      reach=1000 * i) for i in range(1, 6)]
    engagement.append(day("b1", "TikTok", NOV_18, likes=60, comments=0, shares=0, impressions=200))
    days, posts = facts(spark, engagement, [
        post("p1", "g1", revenue=10.0), post("p2", "g2", revenue=10.0), post("p3", "g2", revenue=20.0),
        post("p4", "g3", monetized=False)])
    summary = gold.creator_platform_summary(days)
    niche = by_key(gold.benchmark_niche(gold.dim_creators(demographics, summary, days, SETTINGS), summary),
                   "creator_segment", "platform", "subscription_tier")
    gaming = niche[("Gaming", "TikTok", "Free")]
    assert (gaming["creators"], gaming["posts"], gaming["total_reach"], gaming["total_revenue"]) == (
        5, 4, 15_000, Decimal("40.00"))
    # Rates sorted 0.1, 0.2, 0.3, 0.4, 0.5: p25 at position 1, p90 at 3.6 → 0.4 + 0.6 × 0.1.
    assert (gaming["engagement_rate_mean"], gaming["engagement_rate_p25"], gaming["engagement_rate_p50"],
            gaming["engagement_rate_p75"], gaming["engagement_rate_p90"]) == (0.3, 0.2, 0.3, 0.4, 0.46)
    # Revenue per post sorted 0, 10, 15: p25 at 0.5 → 5, p75 at 1.5 → 12.5, p90 at 1.8 → 10 + 0.8 × 5.
    assert tuple(gaming[f"revenue_per_post_p{p}"] for p in (25, 50, 75, 90)) == (
        Decimal("5.00"), Decimal("10.00"), Decimal("12.50"), Decimal("14.00"))
    beauty = niche[("Beauty", "TikTok", "Premium")]
    assert (beauty["creators"], beauty["posts"], beauty["engagement_rate_p50"],
            beauty["revenue_per_post_p50"]) == (1, 0, 0.3, None)
    assert len(niche) == 2


# --- the application -----------------------------------------------------------------------------------


@pytest.mark.parametrize("settings", [gold.GoldSettings(), gold.GoldSettings(
    trending_reach=10, viral_reach=20, mid_earner_revenue=Decimal("0.5"), top_earner_revenue=Decimal("7.25"),
    our_platform="Pulse Creators", our_commission_percentage=12)], ids=["defaults", "changed"])
def test_the_settings_the_dag_passes_are_what_the_job_reads_back(settings):
    argv = ["--lake-root", "/lake", "--run-date", "2026-11-21", "--source", "creator", *settings.job_args()]
    args = parse_args(argv, "gold", options=gold.GoldSettings().options())
    assert gold.GoldSettings.from_options(args.extra) == settings
    assert CREATOR.gold_job_args == gold.GoldSettings().job_args()


@pytest.fixture(scope="module")
def tiny_lake(spark, tmp_path_factory) -> Path:
    """The tiny silver lake, in one file per dataset, and the gold ``main`` wrote from it."""
    lake = tmp_path_factory.mktemp("tiny_lake")
    write_tiny_silver(spark, lake)
    run_gold(lake)
    return lake


def test_main_writes_every_declared_gold_table_with_a_unique_key_and_flat_columns(tiny_lake):
    schemas, counts = written_gold.check_written_tables(tiny_lake / "gold" / "creator", CREATOR.gold_tables,
                                                        gold.SMALL_TABLES)
    assert str(schemas["fact_content"].field("published_at").type) == "timestamp[us, tz=UTC]"
    assert str(schemas["fact_content"].field("revenue_generated").type) == "decimal128(18, 2)"
    assert counts == {"dim_creators": 3, "dim_platforms": 2, "dim_time": 2, "dim_content_types": 2,
                      "fact_engagement": 4, "fact_content": 4, "benchmark_competitors": 8,
                      "benchmark_niche": 3,
                      # No YouTube crawl or export in the tiny lake: the cross-platform tables are written, empty.
                      "dim_channels": 0, "fact_video_snapshots": 0, "fact_posts": 0, "benchmark_channels": 0}


def test_gold_does_not_depend_on_silver_partitioning_or_reruns(spark, tiny_lake, tmp_path):
    reference = gold_rows(spark, tiny_lake)
    write_tiny_silver(spark, tmp_path, partitions=3)
    run_gold(tmp_path)
    assert gold_rows(spark, tmp_path) == reference
    run_gold(tmp_path)  # a rerun overwrites every table in place, but the channel tables: their silver is unchanged
    assert gold_rows(spark, tmp_path) == reference
    assert json.loads((tmp_path / "gold" / "creator" / "_counts.json").read_text())["channel_tables"] == "unchanged"
