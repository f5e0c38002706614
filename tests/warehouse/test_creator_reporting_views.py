"""The creator reporting views on a real Postgres, over gold that the real gold job wrote.

The gold job runs once on the tiny silver lake of ``tests/spark/test_creator_gold.py``; each test stages
that gold, passes it through the quality gate's own SQL, publishes it with the reporting views and
checks what BI would read against values computed by hand from the tiny lake:

- engagement days: c1 TikTok 18 Nov (score 125 / 1,000 impressions, reach 30,000), c1 TikTok 19 Nov
  (250 / 2,000, reach 120,000), c1 YouTube 19 Nov (50 / 500, reach 1,000), c2 TikTok 19 Nov (20 / 400,
  reach 5,000); c3 has no facts.
- posts (65 engagement each, 800 impressions): p1 c1 TikTok Video 18 Nov 120.50; p2 c1 TikTok Image
  19 Nov not monetized; p3 c1 YouTube Video 19 Nov 0.00; p4 c2 TikTok Video 19 Nov 600.00.

The lake also holds the cross-platform rows of ``tests/builders/creator.py`` (``TINY_CHANNEL_*``): our channel
UCours and the competitors UCrival and UCcook crawled from 29 March to 2 April 2025 (UCrival not on 1 April),
two exported posts and two days of a TikTok account export. The channel views are checked against the same
figures computed in Python from the published gold rows, and at a few points by hand.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from pulse.quality import failed_checks
from pulse.sources.creator import CREATOR
from pulse.warehouse import publish_gold, stage_gold
from tests.builders.creator import run_gold, write_tiny_channel_silver, write_tiny_silver

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def tiny_gold(spark, tmp_path_factory):
    lake = tmp_path_factory.mktemp("creator_lake")
    write_tiny_silver(spark, lake)
    write_tiny_channel_silver(spark, lake)
    run_gold(lake)
    return lake / "gold" / "creator"


def publish(conn, gold_root) -> None:
    stage_gold(conn, "creator", gold_root, [t.name for t in CREATOR.gold_tables])
    assert failed_checks(conn, "staging_creator", list(CREATOR.gold_tables)) == []
    publish_gold(conn, "creator", {t.name: t.key for t in CREATOR.gold_tables}, CREATOR.reporting_sql(),
                 {"run_id": "test", "run_date": dt.date(2026, 11, 20)})


def view(conn, name: str, order: str = "1") -> list[dict]:
    cur = conn.execute(f"SELECT * FROM reporting.{name} ORDER BY {order}")
    return [dict(zip([c.name for c in cur.description], row, strict=True)) for row in cur.fetchall()]


def test_creator_kpis_is_one_row_of_headline_figures_computed_by_hand(pg_conn, tiny_gold):
    publish(pg_conn, tiny_gold)
    assert view(pg_conn, "creator_kpis") == [{
        "total_reach": 30_000 + 120_000 + 1_000 + 5_000,
        "total_likes": 100 + 200 + 50 + 10,
        "total_revenue": Decimal("720.50"),
        "monetized_content_pct": 75.0,  # p1, p3, p4 of 4 posts
        "avg_engagement_rate": 0.1,  # mean of 0.125, 0.125, 0.1, 0.05
        "creators": 3,
        "active_creators": 2,
        "posts": 4,
        "total_impressions": 3_900,
        "total_engagement_score": 445,
        "overall_engagement_rate": 0.114103,  # 445 / 3,900
        "first_date": dt.date(2026, 11, 18),
        "last_date": dt.date(2026, 11, 19),
    }]


def test_trend_bands_and_tiers_views_match_the_tiny_lake(pg_conn, tiny_gold):
    publish(pg_conn, tiny_gold)
    trend = view(pg_conn, "creator_engagement_trend", "date")
    assert [(r["date"].day, r["active_creators"], r["engagement_score"], r["engagement_rate"],
             r["posts_published"], r["content_revenue"], r["day_of_week"]) for r in trend] == [
        (18, 1, 125, 0.125, 1, Decimal("120.50"), "Wednesday"),
        (19, 2, 320, 0.110345, 3, Decimal("600.00"), "Thursday"),  # 320 / 2,900
    ]
    bands = view(pg_conn, "creator_performance_bands", "band_order")
    assert [(r["band_order"], r["creator_days"], r["pct_of_creator_days"], r["reach"]) for r in bands] == [
        (1, 2, 50.0, 6_000), (2, 1, 25.0, 30_000), (3, 1, 25.0, 120_000)]
    assert [(b["band_code"], b["performance_band"]) for b in bands] == [
        ("moderate", "Moderate Reach"), ("trending", "Trending Reach"), ("viral", "Viral Reach")]
    by_creator = view(pg_conn, "creator_performance_bands_by_creator", "band_order")
    assert [(r["performance_band"], r["creators"]) for r in by_creator] == [
        ("No Activity", 1), ("Moderate Reach", 1), ("Trending Reach", 1)]  # c3; c2 5,000/day; c1 75,500/day
    tiers = view(pg_conn, "creator_subscription_tiers", "tier_order")
    assert [(r["subscription_tier"], r["creators"], r["active_creators"], r["revenue"],
             r["revenue_per_creator"]) for r in tiers] == [
        ("Free", 2, 1, Decimal("120.50"), Decimal("60.25")),
        ("Premium", 1, 1, Decimal("600.00"), Decimal("600.00"))]


def test_content_type_by_platform_differs_per_cell_because_posts_join_their_days(pg_conn, tiny_gold):
    publish(pg_conn, tiny_gold)
    cells = view(pg_conn, "creator_content_type_platform", "content_type, platform")
    assert [(r["content_type"], r["platform"], r["posts"], r["engagement_score"], r["engagement_rate"],
             r["revenue"], r["avg_day_reach"]) for r in cells] == [
        ("Image", "TikTok", 1, 65, 0.08125, Decimal("0.00"), 120_000.0),
        ("Video", "TikTok", 2, 130, 0.08125, Decimal("720.50"), 17_500.0),  # days of 30,000 and 5,000
        ("Video", "YouTube", 1, 65, 0.08125, Decimal("0.00"), 1_000.0),
    ]
    categories = view(pg_conn, "creator_monetization_categories", "category_order")
    assert [(r["monetization_category"], r["posts"]) for r in categories] == [
        ("Not Monetized", 1), ("Monetized, No Revenue", 1), ("Mid Earner", 1), ("Top Earner", 1)]


def test_benchmarks_put_our_platform_first_and_every_view_reads_after_a_refresh(pg_conn, tiny_gold):
    publish(pg_conn, tiny_gold)
    competitors = view(pg_conn, "creator_benchmark_competitors", "is_our_platform DESC, platform_name")
    assert len(competitors) == 8
    assert (competitors[0]["platform_name"], competitors[0]["commission_percentage_rank"],
            competitors[0]["revenue_per_creator"]) == ("Mainstack", 1, Decimal("240.17"))
    assert len(view(pg_conn, "creator_benchmark_niche")) == 3
    pg_conn.execute(CREATOR.reporting_sql())  # what refresh_reporting re-applies
    names = [r[0] for r in pg_conn.execute(
        "SELECT table_name FROM information_schema.views WHERE table_schema = 'reporting' ORDER BY 1")]
    assert names and all(n.startswith("creator_") for n in names)
    assert {"creator_kpis", "creator_engagement_trend", "creator_performance_bands",
            "creator_subscription_tiers", "creator_content_type_platform", "creator_benchmark_competitors",
            "creator_benchmark_niche", "creator_platform_names", "creator_channels", "creator_channel_days",
            "creator_channel_benchmark", "creator_top_videos"} <= set(names)
    for name in names:
        assert pg_conn.execute(f"SELECT count(*) FROM reporting.{name}").fetchone()[0] > 0, name


def test_the_date_grain_views_add_up_to_the_headline_and_cell_figures(pg_conn, tiny_gold):
    """What the dashboards' filters sum (date x platform rows) gives back every figure of the other views."""
    publish(pg_conn, tiny_gold)
    kpis = view(pg_conn, "creator_kpis")[0]
    days = view(pg_conn, "creator_engagement_trend_by_platform", "date, platform")
    assert [(r["date"].day, r["platform"], r["total_likes"], r["posts_published"], r["monetized_posts"])
            for r in days] == [(18, "TikTok", 100, 1, 1), (19, "TikTok", 210, 2, 1), (19, "YouTube", 50, 1, 1)]
    assert sum(r["reach"] for r in days) == kpis["total_reach"]
    assert sum(r["total_likes"] for r in days) == kpis["total_likes"]
    assert sum(r["content_revenue"] for r in days) == kpis["total_revenue"]
    assert round(100 * sum(r["monetized_posts"] for r in days) / sum(r["posts_published"] for r in days),
                 2) == kpis["monetized_content_pct"]

    bands = view(pg_conn, "creator_performance_bands", "band_order")
    by_date = view(pg_conn, "creator_performance_bands_by_date", "band_order")
    for band in bands:
        rows = [r for r in by_date if r["band_order"] == band["band_order"]]
        assert (sum(r["creator_days"] for r in rows), sum(r["reach"] for r in rows)) == (
            band["creator_days"], band["reach"])

    for cell in view(pg_conn, "creator_content_type_platform"):
        rows = [r for r in view(pg_conn, "creator_content_by_date")
                if (r["content_type"], r["platform"]) == (cell["content_type"], cell["platform"])]
        score, impressions = sum(r["engagement_score"] for r in rows), sum(r["impressions"] for r in rows)
        assert (sum(r["posts"] for r in rows), score, sum(r["revenue"] for r in rows),
                round(score / impressions, 6)) == (cell["posts"], cell["engagement_score"], cell["revenue"],
                                                   cell["engagement_rate"])


def test_refresh_reporting_runs_every_statement_of_its_task_and_returns_each_views_row_count(pg_conn, tiny_gold):
    """The statements of the DAG's ``refresh_reporting`` task, rendered as Airflow renders them, on the real
    server the dev stack runs (built without libxml: the count must not need query_to_xml)."""
    import jinja2
    from airflow.sdk import DAG

    from pulse.config import SQL_DIR
    from pulse.pipeline import refresh_bi

    publish(pg_conn, tiny_gold)
    with DAG("refresh_reporting_statements", schedule=None, template_searchpath=[str(SQL_DIR)]) as dag:
        refresh_bi(CREATOR)
    task = dag.get_task("refresh_reporting")
    templates = jinja2.Environment(loader=jinja2.FileSystemLoader(str(SQL_DIR)))
    params = task.params.dump()
    cur = None
    for statement in task.sql:
        template = templates.get_template(statement) if statement.endswith(".sql") else templates.from_string(statement)
        cur = pg_conn.execute(template.render(params=params))
    returned = cur.fetchall()

    views = [r[0] for r in pg_conn.execute(
        "SELECT table_name FROM information_schema.views WHERE table_schema = 'reporting' "
        "AND table_name LIKE 'creator%' ORDER BY 1")]
    assert [name for name, _ in returned] == views
    assert returned == [(name, pg_conn.execute(f"SELECT count(*) FROM reporting.{name}").fetchone()[0])
                        for name in views]
    assert any(count > 0 for _, count in returned)


# --- channels against competitors ----------------------------------------------------------------------

D = dt.date
PLATFORM_NAMES = {"youtube": "YouTube", "instagram": "Instagram", "tiktok": "TikTok"}


def gold(conn, table: str) -> list[dict]:
    cur = conn.execute(f"SELECT * FROM gold.{table}")
    return [dict(zip([c.name for c in cur.description], row, strict=True)) for row in cur.fetchall()]


def ratio(numerator, denominator, digits: int = 6):
    return None if not denominator else float(round(Decimal(numerator) / Decimal(denominator), digits))


def sum_or_none(values):
    """SQL's sum: None over no value."""
    values = [v for v in values if v is not None]
    return sum(values) if values else None


def test_channel_days_sum_each_channels_video_snapshots_per_day_and_view_definition(pg_conn, tiny_gold):
    publish(pg_conn, tiny_gold)
    channels = {(c["platform"], c["channel_id"]): c for c in gold(pg_conn, "dim_channels")}
    groups: dict[tuple, list[dict]] = {}
    for s in gold(pg_conn, "fact_video_snapshots"):
        groups.setdefault((s["snapshot_date"], s["platform"], s["channel_id"], s["view_definition"]), []).append(s)
    expected = []
    for (date, platform, channel_id, definition), snaps in sorted(groups.items()):
        channel = channels[(platform, channel_id)]
        engaged = [s for s in snaps if s["likes"] is not None and s["comments"] is not None]
        engagement = sum_or_none(s["likes"] + s["comments"] for s in engaged)
        engaged_views = sum_or_none(s["views"] for s in engaged)
        expected.append({
            "date": date, "platform": platform, "platform_name": PLATFORM_NAMES[platform], "channel_id": channel_id,
            "channel_title": channel["title"], "role": channel["role"], "is_ours": channel["is_ours"],
            "niche": channel["niche"], "view_definition": definition, "videos": len(snaps),
            "gain_videos": sum(s["views_gained"] is not None for s in snaps),
            "views_gained": sum_or_none(s["views_gained"] for s in snaps),
            "likes_gained": sum_or_none(s["likes_gained"] for s in snaps),
            "comments_gained": sum_or_none(s["comments_gained"] for s in snaps),
            "views": sum(s["views"] for s in snaps), "engagement": engagement, "engaged_views": engaged_views,
            "engagement_per_view": ratio(engagement, engaged_views),
        })
    days = view(pg_conn, "creator_channel_days", "date, platform, channel_id, view_definition")
    assert days == expected

    def at(date, channel):
        return [(r["view_definition"], r["videos"], r["gain_videos"], r["views_gained"], r["engagement"],
                 r["engaged_views"], r["engagement_per_view"]) for r in days
                if (r["date"], r["channel_id"]) == (date, channel)]

    # 31 March 2025: o1 (long-form, watch-gated) gained 150 views; the Short o2 counts every play from that day,
    # so its gain over 30 March is not computed, and its views stay on a row of their own.
    assert at(D(2025, 3, 31), "UCours") == [
        ("youtube_views_playback_start", 1, 0, None, 45, 500, 0.09),
        ("youtube_views_watch_gated", 1, 1, 150, 72, 1250, 0.0576)]
    # 2 April: UCrival was not crawled on 1 April, so no gain; 30 March: k1's likes are hidden.
    assert at(D(2025, 4, 2), "UCrival") == [("youtube_views_watch_gated", 2, 0, None, 238, 7700, 0.030909)]
    assert at(D(2025, 3, 30), "UCcook") == [("youtube_views_watch_gated", 1, 1, 100, None, None, None)]
    assert {(r["channel_id"], r["role"], r["niche"]) for r in days} == {
        ("UCours", "ours", "Gaming"), ("UCrival", "competitor", "Gaming"), ("UCcook", "competitor", "Howto & Style")}


def test_channel_benchmark_is_gold_benchmark_with_the_niche_size_and_each_channels_latest_week(pg_conn, tiny_gold):
    publish(pg_conn, tiny_gold)
    weeks = gold(pg_conn, "benchmark_channels")
    latest = {}
    for w in weeks:
        latest[(w["platform"], w["channel_id"])] = max(w["period_start"], latest.get((w["platform"], w["channel_id"]),
                                                                                      w["period_start"]))
    expected = sorted((
        {"period_start": w["period_start"], "period_end": w["period_end"], "platform": w["platform"],
         "platform_name": PLATFORM_NAMES[w["platform"]], "channel_id": w["channel_id"], "channel_title": w["title"],
         "role": w["role"], "is_ours": w["is_ours"], "niche": w["niche"],
         "niche_channels": sum((o["niche"], o["period_start"]) == (w["niche"], w["period_start"]) for o in weeks),
         **{c: w[c] for c in ("subscribers", "subscriber_growth", "subscriber_growth_rate", "subscriber_snapshots",
                              "videos", "views_gained", "gain_days", "view_definition")},
         "views_per_video": None if w["views_per_video"] is None else round(w["views_per_video"], 2),
         **{c: w[c] for c in ("engagement_per_view", "uploads", "subscribers_percentile",
                              "subscriber_growth_percentile", "views_per_video_percentile",
                              "engagement_per_view_percentile", "uploads_percentile")},
         "is_latest_week": w["period_start"] == latest[(w["platform"], w["channel_id"])]}
        for w in weeks), key=lambda r: (r["period_start"], r["channel_id"]))
    benchmark = view(pg_conn, "creator_channel_benchmark", "period_start, channel_id")
    assert benchmark == expected
    # The week of Monday 31 March 2025: UCours 1,030 → 1,060 subscribers, ranked among the two Gaming channels.
    ours = [(r["period_start"], r["subscribers"], r["subscriber_growth"], r["niche_channels"], r["is_latest_week"])
            for r in benchmark if r["channel_id"] == "UCours"]
    assert ours == [(D(2025, 3, 24), 1010, 10, 2, False), (D(2025, 3, 31), 1060, 30, 2, True)]


def test_top_videos_are_each_videos_latest_snapshot_ranked_by_views_overall_and_within_its_role(pg_conn, tiny_gold):
    publish(pg_conn, tiny_gold)
    channels = {(c["platform"], c["channel_id"]): c for c in gold(pg_conn, "dim_channels")}
    latest = {}
    for s in gold(pg_conn, "fact_video_snapshots"):
        key = (s["platform"], s["video_id"])
        if key not in latest or s["snapshot_date"] > latest[key]["snapshot_date"]:
            latest[key] = s
    ranked = sorted(latest.values(), key=lambda s: (s["platform"], -s["views"], s["video_id"]))
    expected, in_role = [], {}
    for rank, s in enumerate(ranked, 1):
        channel = channels[(s["platform"], s["channel_id"])]
        in_role[channel["role"]] = in_role.get(channel["role"], 0) + 1
        expected.append({
            "platform": s["platform"], "platform_name": PLATFORM_NAMES[s["platform"]], "video_id": s["video_id"],
            "title": s["title"], "channel_id": s["channel_id"], "channel_title": channel["title"],
            "role": channel["role"], "is_ours": channel["is_ours"], "niche": channel["niche"],
            **{c: s[c] for c in ("category", "published_date", "snapshot_date", "views", "likes", "comments",
                                 "engagement_per_view", "view_definition")},
            "views_rank": rank, "views_rank_in_role": in_role[channel["role"]]})
    videos = view(pg_conn, "creator_top_videos", "platform, views_rank")
    assert videos == expected
    assert [(v["video_id"], v["snapshot_date"].day, v["views"], v["views_rank"], v["views_rank_in_role"])
            for v in videos] == [("r1", 2, 6800, 1, 1), ("k1", 2, 3500, 2, 2), ("o1", 2, 1420, 3, 1),
                                 ("o2", 2, 900, 4, 2), ("r2", 2, 900, 5, 3)]


def test_channels_list_the_crawled_channels_and_the_export_accounts_with_their_posts(pg_conn, tiny_gold):
    publish(pg_conn, tiny_gold)
    channels = view(pg_conn, "creator_channels", "platform, channel_id")
    assert [(c["platform_name"], c["channel_id"], c["role"], c["niche"], c["source"], c["subscribers"],
             c["videos_tracked"], c["export_posts"]) for c in channels] == [
        ("Instagram", "pulse_plays", "ours", None, "export", None, 0, 1),
        ("TikTok", "pulse_plays", "ours", None, "export", None, 0, 1),
        ("YouTube", "UCcook", "competitor", "Howto & Style", "youtube_api", 20_200, 1, 0),
        ("YouTube", "UCours", "ours", "Gaming", "youtube_api", 1060, 2, 0),
        ("YouTube", "UCrival", "competitor", "Gaming", "youtube_api", 50_400, 2, 0)]
    assert len(channels) == pg_conn.execute("SELECT count(*) FROM gold.dim_channels").fetchone()[0]


def test_the_other_sources_posts_are_counted_per_definition_and_kept_out_of_the_creator_api_views(
        pg_conn, tiny_gold):
    """The facts' rows of the tiny crawl (each video's latest snapshot, 2 April 2025) and the two exported posts,
    by hand: o1 600 s (1,420 views, 70 likes, 15 comments), r1 1,200 s (6,800, 140, 30), r2 700 s (900, 60, 8),
    k1 800 s (3,500, 100, 12) are long-form, counted after some watching; o2 is a 45-second Short (900, 52, 6),
    counted from every play since 31 March. ig1: 400 views, 30 + 4 + 2; tt1: 2,000 views, 150 + 12 + 9."""
    publish(pg_conn, tiny_gold)
    rows = {(r["source"], r["platform"], r["content_type"], r["metric_definition"]):
            (r["posts"], r["accounts"], r["views"], r["likes"], r["comments"], r["shares"], r["scored_posts"],
             r["engagement_score"], r["engagement_rate_by_views"])
            for r in view(pg_conn, "creator_content_by_source")}
    assert rows == {
        ("youtube_api", "YouTube", "Video", "youtube_views_watch_gated"):
            (4, 3, 12_620, 370, 65, None, 0, None, None),  # the Data API has no shares: no engagement score
        ("youtube_api", "YouTube", "Short", "youtube_views_playback_start"): (1, 1, 900, 52, 6, None, 0, None, None),
        ("export", "Instagram", "Post", "instagram_views"): (1, 1, 400, 30, 4, 2, 1, 36, 0.09),
        ("export", "TikTok", "Video", "tiktok_views"): (1, 1, 2_000, 150, 12, 9, 1, 171, 0.0855),
    }
    days = [(r["source"], r["platform"], r["account"], r["date"], r["metric_definition"], r["views"], r["likes"],
             r["engagement_score"], r["posts_published"]) for r in view(pg_conn, "creator_account_days", "date")]
    # TikTok's Overview of pulse_plays: 200 + 20 + 10 and 180 + 15 + 8; tt1 has no publishing day
    assert days == [("export", "TikTok", "pulse_plays", dt.date(2025, 4, 1), "tiktok_views", 3000, 200, 230, 0),
                    ("export", "TikTok", "pulse_plays", dt.date(2025, 4, 2), "tiktok_views", 2500, 180, 203, 0)]
    # the star schema's views read the creator API's rows: four posts, as by hand above
    assert view(pg_conn, "creator_kpis")[0]["posts"] == 4
    assert sum(r["posts"] for r in view(pg_conn, "creator_content_type_platform")) == 4
