"""The YouTube crawl's and the exports' rows in the creator facts (``spark_jobs/creator/gold_cross_facts.py``):
each on hand-computed rows, then the gold job's facts with and without them.

The expected values are worked out by hand here, from the rows written in each test, not by the code under test.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from deltalake import DeltaTable

from spark_jobs.creator import gold_cross_facts as xf
from spark_jobs.creator.schemas import EXPORT_ACCOUNT_DAYS, EXPORT_POSTS, VIDEO_SNAPSHOTS
from tests.builders.creator import (
    TINY_CREATORS,
    TINY_EXPORT_POSTS,
    TINY_POSTS,
    export_post,
    frame,
    gold_rows,
    run_gold,
    video_snapshot,
    write_tiny_channel_silver,
    write_tiny_silver,
)

D = dt.date
WATCH_GATED = "youtube_views_watch_gated"


def studio_post(content_id: str, measurement: str, period: tuple[D, D] | None, likes: int, **kw) -> dict:
    start, end = period or (None, None)
    return export_post("youtube", "pulse_plays", content_id, measurement, D(2025, 4, 2), WATCH_GATED,
                       views=1000, likes=likes, comments=10, shares=5, published_date=D(2025, 3, 10),
                       period_start=start, period_end=end, **kw)


def test_an_exported_post_is_one_row_at_its_widest_measurement_and_a_video_at_its_latest_snapshot(spark):
    posts = [
        # Instagram: lifetime beats one day
        export_post("instagram", "pulse_plays", "ig1", "lifetime", D(2025, 4, 2), "instagram_views", views=400,
                    likes=30, comments=4, shares=2, published_date=D(2025, 3, 20)),
        export_post("instagram", "pulse_plays", "ig1", "2025-04-01", D(2025, 4, 2), "instagram_views", views=50,
                    likes=5, comments=1, shares=0, date=D(2025, 4, 1), published_date=D(2025, 3, 20)),
        # Studio: the 31-day period beats the 7-day one and a single day; a 45-second video is a Short
        studio_post("yt1", "2025-03-01..2025-03-31", (D(2025, 3, 1), D(2025, 3, 31)), likes=80,
                    duration_seconds=45, watch_time_hours=2.5),
        studio_post("yt1", "2025-03-25..2025-03-31", (D(2025, 3, 25), D(2025, 3, 31)), likes=20, duration_seconds=45),
        studio_post("yt1", "2025-03-31", (D(2025, 3, 31), D(2025, 3, 31)), likes=3, duration_seconds=45),
    ]
    videos = [video_snapshot("o1", "UCours", D(2025, 4, 1), 1300, 61, 12, published=D(2025, 1, 10)),
              video_snapshot("o1", "UCours", D(2025, 4, 2), 1420, 70, 15, published=D(2025, 1, 10))]
    rows = {r["content_id"]: r.asDict() for r in xf.cross_content(frame(spark, EXPORT_POSTS, posts),
                                                                  frame(spark, VIDEO_SNAPSHOTS, videos)).collect()}
    assert sorted(rows) == ["export:instagram:pulse_plays:ig1", "export:youtube:pulse_plays:yt1", "youtube_api:o1"]

    ig = rows["export:instagram:pulse_plays:ig1"]
    assert (ig["creator_id"], ig["platform"], ig["content_type"], ig["measurement"], ig["metric_definition"],
            ig["source"]) == ("pulse_plays", "Instagram", "Post", "lifetime", "instagram_views", "export")
    # 30 + 4 + 2 = 36 engagement; 36 / 400 views = 0.09; no impressions, so no rate by them
    assert (ig["likes"], ig["engagement_score"], ig["engagement_rate_by_views"], ig["engagement_rate"]) == (
        30, 36, 0.09, None)
    assert (ig["published_date"], ig["monetization_enabled"], ig["revenue_generated"],
            ig["monetization_category"]) == (D(2025, 3, 20), None, None, None)

    yt = rows["export:youtube:pulse_plays:yt1"]
    # the month: 80 + 10 + 5 = 95 over 1000 views; 2.5 h of watch time over 1000 views = 9 s a view
    assert (yt["platform"], yt["content_type"], yt["measurement"], yt["likes"], yt["engagement_score"],
            yt["engagement_rate_by_views"], yt["average_view_time"]) == (
        "YouTube", "Short", "2025-03-01..2025-03-31", 80, 95, 0.095, 9.0)

    video = rows["youtube_api:o1"]
    # the latest snapshot's counters; the Data API gives no shares, so no engagement score
    assert (video["creator_id"], video["platform"], video["content_type"], video["views"], video["likes"],
            video["comments"], video["shares"], video["engagement_score"], video["measurement"],
            video["metric_definition"], video["source"]) == (
        "UCours", "YouTube", "Video", 1420, 70, 15, None, None, "as of 2025-04-02", WATCH_GATED, "youtube_api")


def account_day(date: D, views: int, likes: int, comments: int, shares: int | None) -> dict:
    return {"platform": "youtube", "account": "pulse_plays", "date": date, "format": "youtube_studio_totals",
            "as_of": D(2025, 4, 2), "views": views, "likes": likes, "comments": comments, "shares": shares,
            "profile_visits": None, "subscribers_net": 4, "watch_time_hours": 1.5,
            "metric_definition": WATCH_GATED, "source": "export"}


def test_an_exported_account_day_carries_its_counts_and_the_posts_published_that_day(spark):
    posts = [studio_post("yt1", "2025-03-01..2025-03-31", (D(2025, 3, 1), D(2025, 3, 31)), likes=80),
             studio_post("yt2", "2025-03-01..2025-03-31", (D(2025, 3, 1), D(2025, 3, 31)), likes=40)]
    days = [account_day(D(2025, 3, 10), 500, 20, 3, 1), account_day(D(2025, 3, 11), 300, 9, 1, None)]
    content = xf.cross_content(frame(spark, EXPORT_POSTS, posts), frame(spark, VIDEO_SNAPSHOTS, []))
    rows = {r["date"]: r.asDict()
            for r in xf.cross_engagement(frame(spark, EXPORT_ACCOUNT_DAYS, days), content).collect()}

    first = rows[D(2025, 3, 10)]
    # 20 + 3 + 1 = 24; both posts were published on 10 March: (80 + 10 + 5) + (40 + 10 + 5) = 150
    assert (first["creator_id"], first["platform"], first["views"], first["engagement_score"],
            first["posts_published"], first["content_engagement_score"], first["source"],
            first["metric_definition"]) == ("pulse_plays", "YouTube", 500, 24, 2, 150, "export", WATCH_GATED)
    assert (first["impressions"], first["reach"], first["engagement_rate"], first["performance_band"],
            first["content_revenue"]) == (None, None, None, None, None)
    second = rows[D(2025, 3, 11)]
    # no shares in that export: no engagement score rather than one that leaves them out; no posts that day
    assert (second["engagement_score"], second["posts_published"], second["content_engagement_score"]) == (
        None, 0, 0)


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):
    """The tiny lake (creator API silver) with the tiny cross-platform silver (a YouTube crawl, two exported posts,
    two exported account-days), and the gold the job wrote from it. That the creator API's figures do not move
    with the other sources' rows beside them is tests/warehouse/test_creator_reporting_views.py's: its values
    by hand are of this lake."""
    lake = tmp_path_factory.mktemp("with_cross_platform")
    write_tiny_silver(spark, lake)
    write_tiny_channel_silver(spark, lake)
    run_gold(lake)
    return lake


def test_the_facts_hold_every_sources_rows_and_the_creator_apis_tables_only_its_own(spark, lake):
    gold = gold_rows(spark, lake)
    api_posts = [r for r in gold["fact_content"] if r["source"] == "creator_api"]
    assert len(api_posts) == len(TINY_POSTS) and {r["metric_definition"] for r in api_posts} == {"creator_api"}
    others = {(r["source"], r["content_id"]) for r in gold["fact_content"] if r["source"] != "creator_api"}
    # the tiny crawl's five videos and the two exported posts
    assert others == {("youtube_api", f"youtube_api:{v}") for v in ("o1", "o2", "r1", "r2", "k1")} | {
        ("export", "export:instagram:pulse_plays:ig1"), ("export", "export:tiktok:pulse_plays:tt1")}
    days = {(r["source"], r["creator_id"], r["platform"], r["date"]): r["engagement_score"]
            for r in gold["fact_engagement"] if r["source"] != "creator_api"}
    assert days == {("export", "pulse_plays", "TikTok", D(2025, 4, 1)): 230,  # 200 + 20 + 10
                    ("export", "pulse_plays", "TikTok", D(2025, 4, 2)): 203}  # 180 + 15 + 8
    # dim_creators is the creator API's creators; the platforms, content types and days are every source's
    assert {r["creator_id"] for r in gold["dim_creators"]} == {c["user_id"] for c in TINY_CREATORS}
    assert {r["platform"] for r in gold["dim_platforms"]} >= {"YouTube", "Instagram", "TikTok"}
    assert {"Short", "Post"} <= {r["content_type"] for r in gold["dim_content_types"]}
    assert {D(2025, 1, 10), D(2025, 4, 2)} <= {r["date"] for r in gold["dim_time"]}  # o1's upload, a TikTok day
    tiktok = next(r for r in gold["fact_content"] if r["content_id"] == "export:tiktok:pulse_plays:tt1")
    # 150 + 12 + 9 = 171 over 2000 views
    assert (tiktok["engagement_score"], tiktok["engagement_rate_by_views"], tiktok["revenue_generated"]) == (
        171, 0.0855, None)


def test_an_incremental_run_replaces_the_other_sources_rows_in_a_merge_and_equals_a_rebuild(
        spark, lake: Path, tmp_path):
    lake = shutil.copytree(lake, tmp_path / "lake")  # after its first gold run
    # The creator API's silver changes by MERGE, as silver's daily run writes it (an incremental gold run
    # follows) ...
    engagement = lake / "silver" / "creator" / "engagement"
    last_date = spark.read.format("delta").load(str(engagement)).agg({"date": "max"}).first()[0]
    spark.sql(f"MERGE INTO delta.`{engagement}` AS t USING (SELECT * FROM delta.`{engagement}` "
              f"WHERE date = DATE'{last_date}') AS s ON t.creator_id = s.creator_id AND t.platform = s.platform "
              f"AND t.date = s.date WHEN MATCHED THEN UPDATE SET t.total_likes = t.total_likes + 7")
    # ... and a new export: ig1's counts grew, ig2 is new, tt1 is no longer in any export.
    posts = [{**TINY_EXPORT_POSTS[0], "likes": 31},
             export_post("instagram", "pulse_plays", "ig2", "lifetime", D(2025, 4, 3), "instagram_views", views=100,
                         likes=10, comments=1, shares=1)]
    (frame(spark, EXPORT_POSTS, posts).coalesce(1).write.mode("overwrite").format("delta")
     .save(str(lake / "silver" / "creator" / "export_posts")))
    facts = {table: DeltaTable(str(lake / "gold" / "creator" / table)) for table in ("fact_content", "fact_engagement")}
    before = {table: delta.version() for table, delta in facts.items()}
    run_gold(lake)

    counts = json.loads((lake / "gold" / "creator" / "_counts.json").read_text())
    assert (counts["mode"], counts["cross_platform"]) == ("incremental", "written")
    # One MERGE each, so the warehouse's slice load applies: fact_content's of the exported posts that changed
    # (no API post did), fact_engagement's of the API's slices (no exported account-day changed: no commit)
    for table, delta in facts.items():
        delta.update_incremental()
        commits = [c for c in delta.history() if c["version"] > before[table]]
        assert [c["operation"] for c in commits] == ["MERGE"], (table, commits)
    metrics = facts["fact_content"].history(1)[0]["operationMetrics"]
    # ig1 updated, ig2 inserted, tt1 deleted: 3 of the fact's rows, the others copied only where they shared a file
    assert [int(metrics[f"numTargetRows{what}"]) for what in ("Updated", "Inserted", "Deleted")] == [1, 1, 1]
    assert counts["cross_platform_rows_changed"] == {"fact_content": 3, "fact_engagement": 0}
    exported = {r["content_id"]: r["likes"] for r in gold_rows(spark, lake)["fact_content"]
                if r["source"] == "export"}
    assert exported == {"export:instagram:pulse_plays:ig1": 31, "export:instagram:pulse_plays:ig2": 10}

    reference = tmp_path / "reference"  # a first gold run over a copy of the same silver: a rebuild
    shutil.copytree(lake / "silver", reference / "silver")
    run_gold(reference)
    assert gold_rows(spark, lake) == gold_rows(spark, reference)
