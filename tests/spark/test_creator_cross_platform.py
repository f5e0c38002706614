"""The cross-platform creator model: silver (YouTube snapshots, export posts and account days) and its gold
(dim_channels, fact_video_snapshots, fact_posts, benchmark_channels).

First each formula on hand-made rows, the expected values computed by hand as in docs/creator_metrics.md; then
the whole path on the real files (../shared/realdata/creator): the YouTube simulator crawled on real data and the
real exports dropped in the inbox, through the silver job's cross-platform step and the gold job's channel tables
in-process, against an independent reading of the same files in plain Python.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import shutil
from collections import Counter, defaultdict
from pathlib import Path

import pyspark.sql.functions as F
import pyspark.sql.types as T
import pytest

from pulse.creator_exports import definitions as export_definitions
from spark_jobs.common.silver import type_payloads, valid_rows
from spark_jobs.creator import cross_platform as xp
from spark_jobs.creator import gold_channels as gc
from spark_jobs.creator.definitions import iso_duration_seconds, youtube_is_short, youtube_view_definition
from spark_jobs.creator.schemas import (
    CHANNEL_SNAPSHOTS,
    CROSS_PLATFORM_DATASETS,
    EXPORT_ACCOUNT_DAYS,
    EXPORT_POSTS,
    VIDEO_SNAPSHOTS,
    YOUTUBE_CHANNEL_PAYLOAD,
    YOUTUBE_VIDEO_PAYLOAD,
)
from spark_jobs.creator.silver import ROLE_SCHEMA
from tests.builders.creator import frame
from tests.builders.logs import captured_messages
from tests.builders.trending_csv import last_trending_days

pytestmark = pytest.mark.spark

D = dt.date
PLAYBACK, GATED, UNKNOWN, MIXED = ("youtube_views_playback_start", "youtube_views_watch_gated",
                                   "youtube_views_unknown", "youtube_views_mixed")


def by_key(df, *key) -> dict:
    return {tuple(r[k] for k in key) if len(key) > 1 else r[key[0]]: r.asDict() for r in df.collect()}


# --- metric definitions --------------------------------------------------------------------------------


def test_the_view_definition_columns_follow_the_export_readers_rule_on_every_case(spark):
    days = [None, D(2024, 1, 1), D(2025, 3, 30), D(2025, 3, 31), D(2026, 8, 23), D(2026, 8, 24)]
    spans = [(s, e) for s in days for e in days if s is None or e is None or s <= e]
    cases = [(s, e, short, total) for s, e in spans for short in (True, False, None) for total in (False, True)]
    rows = spark.createDataFrame(cases, "s date, e date, short boolean, total boolean")
    labelled = rows.select("s", "e", "short", "total", F.when(
        F.col("total"), youtube_view_definition(F.col("s"), F.col("e"), F.col("short"), channel_total=True))
        .otherwise(youtube_view_definition(F.col("s"), F.col("e"), F.col("short"))).alias("definition"))
    got = {(r["s"], r["e"], r["short"], r["total"]): r["definition"] for r in labelled.collect()}
    assert got == {c: export_definitions.youtube_view_definition(*c) for c in cases}

    durations = [(seconds, published) for seconds in (None, 60, 61, 180, 181)
                 for published in (None, D(2024, 10, 14), D(2024, 10, 15))]
    shorts = spark.createDataFrame(durations, "seconds long, published date").select(
        "seconds", "published", youtube_is_short(F.col("seconds"), F.col("published")).alias("short")).collect()
    assert {(r["seconds"], r["published"]): r["short"] for r in shorts} == {
        c: export_definitions.youtube_is_short(*c) for c in durations}


def test_an_iso_duration_is_read_in_seconds_and_anything_else_is_null(spark):
    cases = {"PT21M7S": 1267, "PT1H2S": 3602, "P1DT2H": 93_600, "PT0S": 0, "P0D": 0, "PT45S": 45,
             "21:07": None, "P": None, "PT": None, None: None}
    got = spark.createDataFrame([(k,) for k in cases], "d string").select(
        "d", iso_duration_seconds(F.col("d")).alias("s")).collect()
    assert {r["d"]: r["s"] for r in got} == cases


# --- silver: YouTube resources -------------------------------------------------------------------------


def bronze(spark, records: list[tuple[dt.date, int, object]]):
    rows = [(r if isinstance(r, str) else json.dumps(r), i, 1, "https://yt/videos", dt.datetime(2026, 11, 2),
             "creator", "youtube_videos", d) for d, i, r in records]
    return spark.createDataFrame(rows, "payload string, record_index long, page int, request_url string, "
                                       "ingested_at timestamp, source string, endpoint string, run_date date")


def video(video_id: str, views="100", likes="10", comments="2", duration="PT40S", published="2025-01-05T10:00:00Z",
          channel="UCa", category="23") -> dict:
    statistics = {k: v for k, v in (("viewCount", views), ("likeCount", likes), ("commentCount", comments),
                                    ("favoriteCount", "0")) if v is not None}
    return {"kind": "youtube#video", "id": video_id,
            "snippet": {"channelId": channel, "title": f"t {video_id}", "publishedAt": published,
                        "categoryId": category},
            "contentDetails": {"duration": duration} if duration else {}, "statistics": statistics}


def test_youtube_video_resources_are_flattened_typed_and_labelled_with_their_days_definition(spark):
    typed = type_payloads(xp.flattened_payload(bronze(spark, [
        (D(2025, 3, 30), 0, video("short")),
        (D(2025, 4, 2), 1, video("short")),
        (D(2025, 4, 2), 2, video("long", duration="PT10M", likes=None)),  # likes hidden: absent, not 0
        (D(2025, 4, 2), 3, video("unknown", duration=None)),  # the simulator sends no duration
        (D(2025, 4, 2), 4, video("bad", views="lots")),
        (D(2025, 4, 2), 5, "[1, 2]"),
    ]), xp.YOUTUBE_VIDEO_PATHS), YOUTUBE_VIDEO_PAYLOAD, xp.FLAT_PAYLOAD).cache()
    reasons = sorted((r["record_index"], r["reason"]) for r in typed.where("reason IS NOT NULL").collect())
    assert reasons == [(4, "views is not an integer: 'lots'"), (5, "payload is not a JSON object")]
    rows = by_key(xp.normalise_video_snapshots(valid_rows(typed)), "video_id", "snapshot_date")
    columns = ("views", "likes", "comments", "duration_seconds", "is_short", "view_definition")
    assert {k: tuple(r[c] for c in columns) for k, r in rows.items()} == {
        ("short", D(2025, 3, 30)): (100, 10, 2, 40, True, GATED),  # before Shorts' change
        ("short", D(2025, 4, 2)): (100, 10, 2, 40, True, PLAYBACK),
        ("long", D(2025, 4, 2)): (100, None, 2, 600, False, GATED),  # long-form changes in 2026
        ("unknown", D(2025, 4, 2)): (100, 10, 2, None, None, UNKNOWN),
    }
    assert rows[("long", D(2025, 4, 2))]["published_at"] == dt.datetime(2025, 1, 5, 10, 0)
    assert {r["platform"] for r in rows.values()} == {"youtube"} and {r["source"] for r in rows.values()} == {
        "youtube_api"}


def test_a_channels_role_is_what_the_crawls_connection_said_that_day(spark):
    def channel(channel_id: str, subscribers: str | None = "1230", hidden=False) -> dict:
        statistics = {"viewCount": "999", "videoCount": "7", "hiddenSubscriberCount": hidden}
        if subscribers is not None:
            statistics["subscriberCount"] = subscribers
        return {"kind": "youtube#channel", "id": channel_id, "statistics": statistics,
                "snippet": {"title": channel_id.lower(), "publishedAt": "2012-01-01T00:00:00Z", "country": "us"}}

    day = D(2026, 11, 2)
    roles = spark.createDataFrame(xp.channel_roles([
        (day, {"channel_ids": ["UC1", "UC3"], "competitor_channel_ids": ["UC2", "UC3"]})]), ROLE_SCHEMA)
    typed = type_payloads(xp.flattened_payload(bronze(spark, [
        (day, 0, channel("UC1")), (day, 1, channel("UC2", None, hidden=True)), (day, 2, channel("UC3")),
        (day, 3, channel("UC4"))]), xp.YOUTUBE_CHANNEL_PATHS), YOUTUBE_CHANNEL_PAYLOAD, xp.FLAT_PAYLOAD)
    rows = by_key(xp.normalise_channel_snapshots(valid_rows(typed), roles), "channel_id")
    assert {c: (r["role"], r["subscribers"], r["subscribers_hidden"]) for c, r in rows.items()} == {
        "UC1": ("ours", 1230, False), "UC2": ("competitor", None, True), "UC3": ("ours", 1230, False),
        "UC4": (None, 1230, False)}
    assert (rows["UC1"]["country"], rows["UC1"]["total_views"], rows["UC1"]["view_definition"]) == ("US", 999, PLAYBACK)


# --- silver: exports -----------------------------------------------------------------------------------


def export_post(content_id: str, as_of: dt.date, ingested: int, **kw) -> dict:
    base = {"platform": "instagram", "account": "acme", "content_id": content_id, "format": "instagram_insights_posts",
            "title": "t", "published_date": D(2026, 1, 1), "date": None, "period_start": None, "period_end": None,
            "as_of": as_of, "likes": 10, "comments": 2, "shares": 3, "saves": 1, "impressions": 200, "views": None,
            "metric_definition": "instagram_impressions", "source": "export", "measurement": "lifetime",
            "ingested_at": dt.datetime(2026, 2, ingested), "record_index": 0}
    return {**base, **kw}


def test_an_export_posts_measurement_names_what_its_counts_cover(spark):
    cases = [(None, None, None, "instagram_insights_posts", "lifetime"),
             (D(2026, 5, 3), None, D(2026, 5, 3), "tiktok_studio_content", "as of 2026-05-03"),
             (D(2026, 5, 3), D(2026, 5, 3), D(2026, 5, 3), "youtube_studio_chart", "2026-05-03"),
             (None, D(2026, 4, 7), D(2026, 5, 4), "youtube_studio_table", "2026-04-07..2026-05-04"),
             (None, None, None, "youtube_studio_table", "period unknown")]
    rows = spark.createDataFrame([c[:4] for c in cases], "d date, s date, e date, f string").select(
        xp.measurement(F.col("d"), F.col("s"), F.col("e"), F.col("f")).alias("m")).collect()
    assert [r["m"] for r in rows] == [c[4] for c in cases]


def test_the_latest_export_of_a_post_wins_and_a_day_takes_each_metric_from_the_latest_export_that_has_it(spark):
    versions = T.StructType([*EXPORT_POSTS.schema.fields, T.StructField("ingested_at", T.TimestampType()),
                             T.StructField("record_index", T.LongType())])
    posts = spark.createDataFrame([tuple(r.get(f.name) for f in versions.fields) for r in [
        export_post("p1", D(2026, 3, 1), 9, likes=10),
        export_post("p1", D(2026, 3, 5), 1, likes=25),  # downloaded later, ingested earlier: it wins
        export_post("p2", D(2026, 3, 1), 1, likes=7),
    ]], versions)
    latest = by_key(xp.latest_export_posts(posts), "content_id")
    assert {k: (r["likes"], r["as_of"]) for k, r in latest.items()} == {"p1": (25, D(2026, 3, 5)),
                                                                       "p2": (7, D(2026, 3, 1))}

    day_versions = T.StructType([*EXPORT_ACCOUNT_DAYS.schema.fields, T.StructField("ingested_at", T.TimestampType()),
                                 T.StructField("record_index", T.LongType())])

    def totals(as_of: dt.date, **metrics) -> tuple:
        row = {"platform": "youtube", "account": "chan", "date": D(2026, 3, 1), "format": "youtube_studio_totals",
               "as_of": as_of, "metric_definition": MIXED, "source": "export",
               "ingested_at": dt.datetime(2026, 3, 9), "record_index": 0, **metrics}
        return tuple(row.get(f.name) for f in day_versions.fields)

    days = spark.createDataFrame([totals(D(2026, 3, 2), views=100), totals(D(2026, 3, 4), subscribers_net=5),
                                  totals(D(2026, 3, 3), views=90, subscribers_net=4)], day_versions)
    (day,) = xp.latest_account_days(days).collect()
    assert (day["views"], day["subscribers_net"], day["as_of"]) == (90, 5, D(2026, 3, 4))


# --- gold: video snapshots, channels, posts, benchmark --------------------------------------------------


NEW_YEAR = D(2026, 1, 1)


def snapshot(video_id: str, day: dt.date, views: int, likes: int | None = 10, comments: int | None = 1,
             definition: str = PLAYBACK, channel: str = "UCa", category: str = "23",
             published: dt.date = NEW_YEAR) -> dict:
    return {"platform": "youtube", "video_id": video_id, "channel_id": channel, "snapshot_date": day,
            "title": video_id, "published_at": dt.datetime.combine(published, dt.time(8, 0)),
            "category_id": category, "duration_seconds": 30, "is_short": True, "views": views, "likes": likes,
            "comments": comments, "view_definition": definition, "source": "youtube_api"}


def test_a_gain_is_only_computed_between_consecutive_days_of_one_definition(spark):
    facts = gc.fact_video_snapshots(frame(spark, VIDEO_SNAPSHOTS, [
        snapshot("v1", D(2025, 3, 29), 100, likes=10, comments=1, definition=GATED),
        snapshot("v1", D(2025, 3, 30), 150, likes=12, comments=1, definition=GATED),
        snapshot("v1", D(2025, 3, 31), 400, likes=15, comments=1),  # Shorts now count every play
        snapshot("v1", D(2025, 4, 2), 500, likes=16, comments=2),  # 1 April is missing: a gap
        snapshot("v1", D(2025, 4, 3), 490, likes=None, comments=2),  # invalid views removed; likes hidden
    ]))
    rows = facts.orderBy("snapshot_date").collect()
    assert [(r["previous_snapshot_date"], r["views_gained"], r["likes_gained"], r["comments_gained"])
            for r in rows] == [
        (None, None, None, None),
        (D(2025, 3, 29), 50, 2, 0),
        (D(2025, 3, 30), None, 3, 0),  # 400 and 150 are views of two definitions
        (D(2025, 3, 31), None, None, None),
        (D(2025, 4, 2), -10, None, 0),
    ]
    # (10 + 1) / 100; (12 + 1) / 150; (15 + 1) / 400; (16 + 2) / 500; hidden likes: no engagement.
    assert [r["engagement_per_view"] for r in rows] == [0.11, 0.086667, 0.04, 0.036, None]
    assert rows[0]["category"] == "Comedy" and rows[0]["published_date"] == D(2026, 1, 1)


def channel_snapshot(channel_id: str, day: dt.date, subscribers: int | None, role: str | None = "ours") -> dict:
    return {"platform": "youtube", "channel_id": channel_id, "snapshot_date": day, "title": channel_id.lower(),
            "country": "US", "published_at": dt.datetime(2015, 1, 1), "role": role, "subscribers": subscribers,
            "subscribers_hidden": subscribers is None, "total_views": 1000, "video_count": 3,
            "view_definition": MIXED, "source": "youtube_api"}


def empty(spark, dataset):
    return frame(spark, dataset, [])


def test_dim_channels_has_each_crawled_channel_with_its_role_and_niche_and_each_export_account(spark):
    channels = frame(spark, CHANNEL_SNAPSHOTS, [
        channel_snapshot("UC1", D(2026, 11, 1), 100), channel_snapshot("UC1", D(2026, 11, 2), 120),
        channel_snapshot("UC2", D(2026, 11, 2), 50, role="competitor")])
    videos = frame(spark, VIDEO_SNAPSHOTS, [
        # UC1: Comedy (23, 23 and 34, which YouTube also names Comedy) 3 videos, Music 2.
        *(snapshot(v, D(2026, 11, 2), 1, channel="UC1", category=c)
          for v, c in (("a", "23"), ("b", "23"), ("c", "34"), ("d", "10"), ("e", "10"))),
        # UC2: Gaming 1, Music 1: a tie goes to the first name.
        snapshot("f", D(2026, 11, 2), 1, channel="UC2", category="20"),
        snapshot("g", D(2026, 11, 1), 1, channel="UC2", category="23"),
        snapshot("g", D(2026, 11, 2), 1, channel="UC2", category="10"),  # its latest category counts
        snapshot("h", D(2026, 11, 2), 1, channel="UC3", category="27"),  # a channel not crawled itself
    ])
    # acme's Instagram post; mine's Studio export of UC2's videos f and g (and one the crawl never saw)
    studio = {"platform": "youtube", "account": "mine", "format": "youtube_studio_table", "measurement": "lifetime"}
    posts = frame(spark, EXPORT_POSTS, [export_post("p1", D(2026, 3, 1), 1),
                                        *(export_post(v, D(2026, 3, 1), 1, **studio) for v in ("f", " g", "zz"))])
    dim = by_key(gc.dim_channels(channels, videos, posts, empty(spark, EXPORT_ACCOUNT_DAYS)), "channel_id")
    columns = ("role", "is_ours", "niche", "niche_source", "subscribers", "videos_tracked", "first_snapshot_date",
               "source")
    assert {c: tuple(r[k] for k in columns) for c, r in dim.items()} == {
        "UC1": ("ours", True, "Comedy", "youtube_category", 120, 5, D(2026, 11, 1), "youtube_api"),
        "UC2": ("competitor", False, "Gaming", "youtube_category", 50, 2, D(2026, 11, 2), "youtube_api"),
        "UC3": (None, None, "Education", "youtube_category", None, 1, None, "youtube_api"),
        "acme": ("ours", True, None, None, None, 0, None, "export"),
        "mine": ("ours", True, "Gaming", "youtube_category", None, 0, None, "export"),  # UC2's niche
    }
    assert (dim["acme"]["platform"], dim["acme"]["same_as_channel_id"]) == ("instagram", None)
    assert (dim["mine"]["platform"], dim["mine"]["same_as_channel_id"]) == ("youtube", "UC2")


def test_a_configured_segment_is_the_niche_of_its_channel_or_account_and_of_an_account_matched_to_it(spark):
    channels = frame(spark, CHANNEL_SNAPSHOTS, [channel_snapshot("UC1", D(2026, 11, 2), 120),
                                                channel_snapshot("UC2", D(2026, 11, 2), 50, role="competitor")])
    videos = frame(spark, VIDEO_SNAPSHOTS, [snapshot("a", D(2026, 11, 2), 1, channel="UC1", category="23"),
                                            snapshot("f", D(2026, 11, 2), 1, channel="UC2", category="20")])
    studio = {"platform": "youtube", "format": "youtube_studio_table", "measurement": "lifetime"}
    posts = frame(spark, EXPORT_POSTS, [
        export_post("p1", D(2026, 3, 1), 1),  # acme, on Instagram
        export_post("t1", D(2026, 3, 1), 1, platform="tiktok", account="acme", format="tiktok_studio_content"),
        export_post("f", D(2026, 3, 1), 1, account="mine", **studio),  # matched to UC2
        export_post("f", D(2026, 3, 1), 1, account="own", **studio),  # matched to UC2, with a segment of its own
    ])
    segments = {"youtube": {"UC2": "Retro games", "own": "Speedruns", "UC9": "Nobody's"},
                "instagram": {"acme": "Fitness"}}
    dim = by_key(gc.dim_channels(channels, videos, posts, empty(spark, EXPORT_ACCOUNT_DAYS), segments),
                 "platform", "channel_id")
    assert {k: (r["niche"], r["niche_source"], r["same_as_channel_id"]) for k, r in dim.items()} == {
        ("youtube", "UC1"): ("Comedy", "youtube_category", None),  # no segment: its category
        ("youtube", "UC2"): ("Retro games", "configured_segment", None),  # the segment wins over Gaming
        ("youtube", "mine"): ("Retro games", "configured_segment", "UC2"),  # its channel's segment
        ("youtube", "own"): ("Speedruns", "configured_segment", "UC2"),  # its own wins
        ("instagram", "acme"): ("Fitness", "configured_segment", None),
        ("tiktok", "acme"): (None, None, None),  # a segment is per platform
    }


def test_a_posts_engagement_is_likes_comments_and_shares_per_view_or_impression(spark):
    posts = frame(spark, EXPORT_POSTS, [
        export_post("p1", D(2026, 3, 1), 1),
        export_post("p2", D(2026, 3, 1), 1, measurement="lifetime", impressions=None, views=300,
                    metric_definition="instagram_views"),
        export_post("p3", D(2026, 3, 1), 1, measurement="lifetime", shares=None)])
    rows = by_key(gc.fact_posts(posts), "content_id")
    assert {k: (r["engagement"], r["engagement_per_view"], r["engagement_per_impression"])
            for k, r in rows.items()} == {
        "p1": (15, None, 0.075),  # (10 + 2 + 3) / 200
        "p2": (15, 0.05, None),  # 15 / 300
        "p3": (None, None, None),  # a format without shares has no engagement, not a smaller one
    }


def test_the_channel_benchmark_of_a_week_and_its_percentiles_within_the_niche(spark):
    mon, tue, wed = D(2026, 11, 16), D(2026, 11, 17), D(2026, 11, 18)
    channels = frame(spark, CHANNEL_SNAPSHOTS, [
        channel_snapshot("UC1", mon, 1000), channel_snapshot("UC1", wed, 1100),
        channel_snapshot("UC2", wed, 500, role="competitor")])
    videos = frame(spark, VIDEO_SNAPSHOTS, [
        snapshot("v1", mon, 100, likes=8, comments=1, channel="UC1", published=D(2026, 11, 2)),
        snapshot("v1", tue, 160, likes=10, comments=2, channel="UC1", published=D(2026, 11, 2)),
        snapshot("v2", tue, 40, likes=4, comments=None, channel="UC1", published=tue, definition=UNKNOWN),
        snapshot("v3", wed, 300, likes=30, comments=0, channel="UC2", published=D(2026, 11, 1)),
    ])
    no_posts, no_days = empty(spark, EXPORT_POSTS), empty(spark, EXPORT_ACCOUNT_DAYS)
    tables = gc.channel_tables(channels, videos, no_posts, no_days)
    bench = by_key(tables["benchmark_channels"], "channel_id", "period_start")
    uc1, uc2 = bench[("UC1", mon)], bench[("UC2", mon)]
    assert len(bench) == 2 and uc1["period_end"] == D(2026, 11, 22) and uc1["niche"] == "Comedy"
    # Subscribers 1,000 on Monday → 1,100 on Wednesday: +100, a rate of 0.1; UC2 has one snapshot.
    assert (uc1["subscribers"], uc1["subscriber_growth"], uc1["subscriber_growth_rate"]) == (1100, 100, 0.1)
    assert (uc2["subscribers"], uc2["subscriber_growth"], uc2["subscriber_growth_rate"]) == (500, None, None)
    # UC1: v1 gained 60 on Tuesday; views per video (160 + 40) / 2; engagement (10 + 2) / 160 (v2's
    # comments are hidden); v2 was uploaded that week; v1 and v2 were measured under two definitions.
    assert (uc1["videos"], uc1["views_gained"], uc1["gain_days"], uc1["views_per_video"],
            uc1["engagement_per_view"], uc1["uploads"], uc1["view_definition"]) == (2, 60, 1, 100.0, 0.075, 1, MIXED)
    assert (uc2["videos"], uc2["views_gained"], uc2["gain_days"], uc2["views_per_video"],
            uc2["engagement_per_view"], uc2["uploads"], uc2["view_definition"]) == (1, None, 0, 300.0, 0.1, 0, PLAYBACK)
    # Two Comedy channels: the higher value has 2 of 2 at or below it (1.0), the lower 1 of 2 (0.5).
    percentiles = [f"{m}_percentile" for m in gc.BENCHMARK_METRICS]
    assert [uc1[p] for p in percentiles] == [1.0, 1.0, 0.5, 0.5, 1.0]
    assert [uc2[p] for p in percentiles] == [0.5, None, 1.0, 1.0, 0.5]
    assert (uc1["is_ours"], uc2["is_ours"]) == (True, False)


# --- the real files, end to end ------------------------------------------------------------------------

SIM_DAY = D(2026, 12, 4)  # the simulator maps the data's last day (2017-10-22) to the day before
CRAWL_DAYS = [SIM_DAY - dt.timedelta(days=n) for n in (9, 8, 7, 6, 4, 3, 2, 1)]  # day -5 not crawled: a gap
FIRST_BATCH = 4
OURS = ("CollegeHumor", "Cracked")
COMPETITORS = ("Jimmy Kimmel Live", "Good Mythical Morning")
KEY = "AIzaSy-pulse-test-key-cross-platform"
TIKTOK_SAMPLE = Path("sources/tiktok/tiktok_studio_exports/Content_sample_transcribed.csv")


def crawl_days(lake: Path, data, days: list[dt.date], **simulator_config) -> None:
    """The YouTube crawl of our 2 channels and 2 competitors on each of ``days``, against the simulator serving
    ``data`` (``YouTubeData``) as on that day (with ``simulator_config``: its faults and their seed)."""
    import requests

    from devstack.simulators.youtube_api import (
        TRENDING_FILE,
        SimulatorConfig,
        YouTubeApiSimulator,
        channel_id_of,
    )
    from pulse.http_ingest import RetryPolicy
    from pulse.youtube_ingest import YouTubeSettings, crawl

    class Clock:
        now = dt.datetime(2026, 12, 4, 12, tzinfo=dt.UTC)

        def __call__(self) -> dt.datetime:
            return self.now

    clock = Clock()
    settings = YouTubeSettings(api_key=KEY, channel_ids=tuple(channel_id_of(TRENDING_FILE, t) for t in OURS),
                               competitor_channel_ids=tuple(channel_id_of(TRENDING_FILE, t) for t in COMPETITORS),
                               policy=RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.05, timeout=10))
    sim = YouTubeApiSimulator(SimulatorConfig(as_of=SIM_DAY, api_key=KEY, **simulator_config), clock, data)
    with sim.serving() as base_url:
        for day in days:
            clock.now = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
            crawl(requests.Session(), base_url, settings, day, lake)


def drop_exports(lake: Path, realdata: Path, inbox: Path) -> None:
    from pulse.creator_inbox import ingest_exports

    creator = realdata / "creator"
    (inbox / "clever").mkdir(parents=True)
    shutil.copy(creator / "datasets" / "instagram_post_performance.csv", inbox / "clever")
    for account, folder in (("layla", "Layla-Damoyi_youtube-engagement-dashboard"),
                            ("suuz", "buildwithadi_youtube-analyis-of-my-sister-youtube-channel")):
        shutil.copytree(creator / "sources" / "youtube_studio_exports" / folder, inbox / account / "studio")
    (inbox / "andrewaltair").mkdir()
    # copy2 keeps the file's time: its day is the download day TikTok's year-less dates are read against.
    shutil.copy2(creator / TIKTOK_SAMPLE, inbox / "andrewaltair" / "Content.csv")
    ingest_exports(inbox, lake)


def silver_args(lake: Path, run_date: dt.date):
    from spark_jobs.common.job import parse_args

    return parse_args(["--lake-root", str(lake), "--run-date", run_date.isoformat(), "--source", "creator"], "test")


def run_cross_platform_silver(spark, lake: Path, run_date: dt.date,
                              names: tuple[str, ...] = tuple(CROSS_PLATFORM_DATASETS)) -> dict:
    """The creator silver job's cross-platform step, in-process (the job's ``main`` also needs the API's
    bronze, which these tests do not make)."""
    from spark_jobs.common.incremental import ensure_watermarks
    from spark_jobs.creator.silver import build_cross_platform

    args = silver_args(lake, run_date)
    ensure_watermarks(spark, args.zone("silver"))
    return {name: build_cross_platform(spark, args, name, 1_000_000) for name in names}


def silver_rows(spark, lake: Path, name: str) -> list[dict]:
    dataset = CROSS_PLATFORM_DATASETS[name]
    rows = spark.read.format("delta").load(str(lake / "silver" / "creator" / name)).select(*dataset.columns)
    return [r.asDict() for r in rows.collect()]


@pytest.fixture(scope="module")
def real_lake(spark, realdata, tmp_path_factory):
    """The simulator crawled on real data for 8 of 9 days (channel_snapshots built after the first 4 days, then
    every dataset after the rest: channel_snapshots incrementally), the real exports ingested from the inbox,
    and the gold job's channel tables written after each silver run (``write_channel_tables``, as ``main``
    calls it; ``main`` itself runs on the tiny lake in test_creator_gold.py), then once more with nothing
    changed, then twice with :data:`SEGMENTS` configured; the tables read back once. video_snapshots'
    incremental path is the API datasets' (test_incremental_lake.py)."""
    from devstack.simulators.youtube_api import YouTubeData

    lake = tmp_path_factory.mktemp("cross_platform_lake")
    data = YouTubeData(realdata / "creator" / "datasets")
    crawl_days(lake, data, CRAWL_DAYS[:FIRST_BATCH])
    first = run_cross_platform_silver(spark, lake, CRAWL_DAYS[FIRST_BATCH - 1], names=("channel_snapshots",))
    writes = [write_channel_tables(spark, silver_args(lake, CRAWL_DAYS[FIRST_BATCH - 1]))]
    crawl_days(lake, data, CRAWL_DAYS[FIRST_BATCH:])
    drop_exports(lake, realdata, tmp_path_factory.mktemp("inbox"))
    second = run_cross_platform_silver(spark, lake, CRAWL_DAYS[-1])
    incremental = {name: silver_rows(spark, lake, name) for name in ("channel_snapshots", "video_snapshots")}
    args = silver_args(lake, CRAWL_DAYS[-1])
    writes += [write_channel_tables(spark, args), write_channel_tables(spark, args)]
    with captured_messages("pulse.creator.gold", logging.WARNING) as warnings:
        writes += [write_channel_tables(spark, args, SEGMENTS), write_channel_tables(spark, args, SEGMENTS)]
    spark.catalog.clearCache()  # as main does after its writes
    gold = {t: [r.asDict() for r in spark.read.format("delta").load(args.zone("gold", t)).collect()]
            for t in gc.CHANNEL_TABLES}
    return {"lake": lake, "counts": (first, second), "incremental": incremental, "gold": gold, "writes": writes,
            "warnings": warnings}


# The niches a user configured (Airflow Variable creator_account_segments): the real Instagram and TikTok
# accounts', and one for an account no input has.
SEGMENTS = {"instagram": {"clever": "Science & Technology"}, "tiktok": {"andrewaltair": "Science & Technology",
                                                                        "nobody": "Comedy"}}


def write_channel_tables(spark, args, segments: dict | None = None) -> str:
    """The gold job's channel-table step alone (``main`` runs it between its facts and its watermark): write
    them when the cross-platform silver or the configured ``segments`` changed since the channel mark, as
    ``written``, else ``unchanged``."""
    from spark_jobs.common.gold import read_silver
    from spark_jobs.creator import gold

    versions = gold.cross_silver_versions(spark, args)
    if gold.cross_tables_current(spark, args, versions, segments):
        return "unchanged"
    cross = {name: read_silver(spark, args, dataset, required=False)
             for name, dataset in CROSS_PLATFORM_DATASETS.items()}
    gold.write_channel_tables(spark, args, cross, versions, segments)
    return "written"


def test_gold_writes_the_channel_tables_again_only_when_their_silver_or_the_segments_changed(real_lake):
    assert real_lake["writes"] == ["written", "written", "unchanged", "written", "unchanged"]


def test_the_configured_segments_are_the_niches_of_the_real_export_accounts(spark, real_lake):
    accounts = {(r["platform"], r["channel_id"]): (r["niche"], r["niche_source"])
                for r in gold_table(spark, real_lake, "dim_channels") if r["source"] == "export"}
    assert accounts == {("instagram", "clever"): ("Science & Technology", "configured_segment"),
                        ("tiktok", "andrewaltair"): ("Science & Technology", "configured_segment"),
                        ("youtube", "layla"): (None, None), ("youtube", "suuz"): (None, None)}
    assert real_lake["warnings"] == [
        "gold: creator_account_segments configures a segment for tiktok/nobody, which no input has (yet): it "
        "applies to nothing"]


def gold_table(spark, real_lake: dict, name: str) -> list[dict]:
    return real_lake["gold"][name]


@pytest.fixture(scope="module")
def csv_videos(realdata) -> dict[str, tuple[str, str, tuple[int, int, int]]]:
    """The real trending CSV's crawled videos (tests/builders/trending_csv.py): video id → (channel title, category
    id, (views, likes, comments) of its last trending day)."""
    videos = last_trending_days(realdata / "creator" / "datasets" / "youtube_trending_US_2017.csv",
                                (*OURS, *COMPETITORS))
    return {v: (video.channel_title, video.category_id, video.counters) for v, video in videos.items()}


def test_gold_has_each_real_videos_latest_counters_as_the_csv_has_them(spark, real_lake, csv_videos):
    facts = gold_table(spark, real_lake, "fact_video_snapshots")
    last_day = max(r["snapshot_date"] for r in facts)
    latest = {r["video_id"]: (r["views"], r["likes"], r["comments"]) for r in facts
              if r["snapshot_date"] == last_day}
    assert latest == {v: counters for v, (_, _, counters) in csv_videos.items()}
    assert last_day == CRAWL_DAYS[-1] and len(latest) >= 40


def test_gold_gains_are_the_differences_of_consecutive_crawled_days_and_null_after_the_gap(spark, real_lake):
    from pulse.lake import read_bronze

    # Independently, from what the crawl stored: each video's views per crawled day.
    views: dict[tuple[str, dt.date], int] = {}
    table = read_bronze(real_lake["lake"] / "bronze" / "creator" / "youtube_videos", ["payload", "run_date"])
    for record in table.to_pylist():
        payload = json.loads(record["payload"])
        views[(payload["id"], record["run_date"])] = int(payload["statistics"]["viewCount"])
    expected = {}
    for (video_id, day), count in views.items():
        before = views.get((video_id, day - dt.timedelta(days=1)))
        expected[(video_id, day)] = None if before is None else count - before
    facts = gold_table(spark, real_lake, "fact_video_snapshots")
    assert {(r["video_id"], r["snapshot_date"]): r["views_gained"] for r in facts} == expected
    after_gap = CRAWL_DAYS[FIRST_BATCH]
    assert all(r["views_gained"] is None for r in facts if r["snapshot_date"] == after_gap)
    assert any(r["views_gained"] for r in facts)  # the real counters do grow between trending days


def test_gold_channels_are_ours_and_competitors_in_the_niche_most_of_their_real_videos_are_in(
        spark, real_lake, csv_videos, realdata):
    from devstack.simulators.youtube_api import TRENDING_FILE, channel_id_of

    categories = json.loads((realdata / "creator" / "datasets" / "youtube_US_category_id.json").read_text())
    names = {item["id"]: item["snippet"]["title"] for item in categories["items"]}
    assert names == xp.YOUTUBE_CATEGORIES
    niches: dict[str, Counter] = defaultdict(Counter)
    for title, category, _ in csv_videos.values():
        niches[title][names[category]] += 1
    expected = {channel_id_of(TRENDING_FILE, title): (
        "ours" if title in OURS else "competitor",
        sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0], sum(counts.values()))
        for title, counts in niches.items()}
    channels = {r["channel_id"]: r for r in gold_table(spark, real_lake, "dim_channels")
                if r["source"] == "youtube_api"}
    assert {c: (r["role"], r["niche"], r["videos_tracked"]) for c, r in channels.items()} == expected
    bench = gold_table(spark, real_lake, "benchmark_channels")
    assert {r["channel_id"] for r in bench} == set(expected)
    assert all(0 < r["views_per_video_percentile"] <= 1 for r in bench)


def test_gold_posts_add_up_to_the_real_instagram_tiktok_and_studio_exports(spark, real_lake, realdata):
    posts = gold_table(spark, real_lake, "fact_posts")
    instagram = [r for r in posts if r["account"] == "clever"]
    with (realdata / "creator" / "datasets" / "instagram_post_performance.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(instagram) == len(rows) == 176
    for gold_column, column in (("likes", "Likes"), ("comments", "Comments"), ("shares", "Shares"),
                                ("saves", "Saves"), ("impressions", "Impressions")):
        assert sum(r[gold_column] for r in instagram) == sum(int(row[column]) for row in rows), gold_column
    assert {r["metric_definition"] for r in instagram} == {"instagram_impressions"}
    assert {r["measurement"] for r in instagram} == {"lifetime"}
    studio = realdata / "creator" / "sources" / "youtube_studio_exports"
    for account, folder in (("layla", "Layla-Damoyi_youtube-engagement-dashboard"),
                            ("suuz", "buildwithadi_youtube-analyis-of-my-sister-youtube-channel")):
        with (studio / folder / "Table data.csv").open(encoding="utf-8-sig") as f:
            table = [row for row in csv.DictReader(f) if row["Content"] != "Total"]
        videos = {r["content_id"].strip(): r for r in posts if r["account"] == account
                  and r["format"] == "youtube_studio_table"}
        assert len(videos) == len(table), account
        # Studio's Total row counts the channel's other videos too (the table lists its top ones): the sum
        # of the rows is the check, not the Total.
        assert sum(r["views"] for r in videos.values()) == sum(int(row["Views"]) for row in table), account
    with (realdata / "creator" / TIKTOK_SAMPLE).open(encoding="utf-8-sig") as f:
        tiktok_rows = list(csv.DictReader(f))
    tiktok = [r for r in posts if r["account"] == "andrewaltair"]
    assert len(tiktok) == len(tiktok_rows) > 0
    for gold_column, column in (("likes", "Total likes"), ("comments", "Total comments"),
                                ("shares", "Total shares"), ("views", "Total views")):
        assert sum(r[gold_column] for r in tiktok) == sum(int(row[column]) for row in tiktok_rows), gold_column
    assert {r["metric_definition"] for r in tiktok} == {"tiktok_views"}
    assert all(r["measurement"].startswith("as of 2026-") for r in tiktok)
    layla = {r["measurement"] for r in posts if r["account"] == "layla"}
    suuz = {r["measurement"] for r in posts if r["account"] == "suuz"}
    assert len(layla) == 1 and ".." in next(iter(layla)) and suuz == {"period unknown"}
    channels = gold_table(spark, real_lake, "dim_channels")
    accounts = {(r["platform"], r["channel_id"]): r["role"] for r in channels if r["source"] == "export"}
    assert accounts == {("instagram", "clever"): "ours", ("youtube", "layla"): "ours", ("youtube", "suuz"): "ours",
                        ("tiktok", "andrewaltair"): "ours"}


def test_the_facts_rows_of_the_real_exports_and_crawl_add_up_to_the_files(spark, real_lake, realdata, csv_videos):
    """The rows ``fact_content`` gets from the real Instagram export and the crawl of the real trending videos
    (``gold_cross_facts.cross_content`` on this lake's silver), against the files read here with csv."""
    from spark_jobs.creator.gold_cross_facts import cross_content

    def silver(name: str):
        return spark.read.format("delta").load(str(real_lake["lake"] / "silver" / "creator" / name))

    rows = [r.asDict() for r in cross_content(silver("export_posts"), silver("video_snapshots")).collect()]
    with (realdata / "creator" / "datasets" / "instagram_post_performance.csv").open(encoding="utf-8") as f:
        csv_rows = list(csv.DictReader(f))
    instagram = [r for r in rows if (r["platform"], r["creator_id"]) == ("Instagram", "clever")]
    assert len(instagram) == len(csv_rows) == 176
    for gold_column, column in (("likes", "Likes"), ("comments", "Comments"), ("shares", "Shares"),
                                ("impressions", "Impressions")):
        assert sum(r[gold_column] for r in instagram) == sum(int(row[column]) for row in csv_rows), gold_column
    assert sum(r["engagement_score"] for r in instagram) == sum(
        int(row["Likes"]) + int(row["Comments"]) + int(row["Shares"]) for row in csv_rows)
    assert {(r["source"], r["measurement"], r["metric_definition"]) for r in instagram} == {
        ("export", "lifetime", "instagram_impressions")}
    videos = {r["content_id"].removeprefix("youtube_api:"): (r["views"], r["likes"], r["comments"])
              for r in rows if r["source"] == "youtube_api"}
    assert videos == {v: counters for v, (_, _, counters) in csv_videos.items()}


def test_gold_from_a_crawl_with_faults_on_equals_gold_from_a_clean_crawl(spark, realdata, tmp_path):
    """Two days crawled from the real data with and without 5xx, 429s and cut-short answers (retried), then
    silver and the gold made of the crawl (the channel tables, the facts' rows): the same rows."""
    from devstack.simulators.faults import request_fault_mix
    from devstack.simulators.youtube_api import YouTubeData
    from spark_jobs.common.gold import read_silver
    from spark_jobs.creator.gold_cross_facts import cross_content

    data = YouTubeData(realdata / "creator" / "datasets")
    days = CRAWL_DAYS[-2:]
    faults = {"clean": {}, "faulty": {"faults": request_fault_mix(0.3, rate_limit_retry_after=0, slow_seconds=0.01),
                                      "seed": 10}}
    gold = {}
    for name, config in faults.items():
        lake = tmp_path / name
        crawl_days(lake, data, days, **config)
        run_cross_platform_silver(spark, lake, days[-1], names=("channel_snapshots", "video_snapshots"))
        args = silver_args(lake, days[-1])
        cross = {n: read_silver(spark, args, d, required=False) for n, d in CROSS_PLATFORM_DATASETS.items()}
        tables = {**gc.channel_tables(**cross),
                  "fact_content": cross_content(cross["export_posts"], cross["video_snapshots"])}
        gold[name] = {t: sorted((tuple(r) for r in frame.collect()), key=str) for t, frame in tables.items()}
    spark.catalog.clearCache()
    from pulse.youtube_ingest import read_states

    answers = Counter()
    for state in read_states(tmp_path / "faulty"):
        answers.update(state.answers)
    assert {"429", "502"} & set(answers), f"no fault was served: {answers}"
    assert gold["faulty"] == gold["clean"]
    assert len(gold["clean"]["fact_video_snapshots"]) > 40 and gold["clean"]["fact_content"]


def test_incremental_youtube_silver_holds_what_a_full_refresh_of_all_the_crawls_bronze_gives(spark, real_lake):
    from pulse.lake import bronze_partition_path, read_bronze, read_manifest

    first, second = real_lake["counts"]
    assert (first["channel_snapshots"]["mode"], second["channel_snapshots"]["mode"]) == ("full", "incremental")
    assert second["channel_snapshots"]["bronze_partitions"] == [d.isoformat() for d in CRAWL_DAYS[FIRST_BATCH:]]
    # Independently, from all of bronze and its manifests: one row per resource and crawled day.
    lake = real_lake["lake"]
    videos, channels = set(), set()
    for record in read_bronze(lake / "bronze" / "creator" / "youtube_videos", ["payload", "run_date"]).to_pylist():
        item = json.loads(record["payload"])
        counts = [item["statistics"].get(k) for k in ("viewCount", "likeCount", "commentCount")]
        videos.add((item["id"], record["run_date"], item["snippet"]["channelId"],
                    *(int(c) if c is not None else None for c in counts)))
    for record in read_bronze(lake / "bronze" / "creator" / "youtube_channels", ["payload", "run_date"]).to_pylist():
        item, day = json.loads(record["payload"]), record["run_date"]
        manifest = read_manifest(bronze_partition_path(lake, "creator", "youtube_channels", day))
        role = "ours" if item["id"] in manifest["channel_ids"] else "competitor"
        channels.add((item["id"], day, role, int(item["statistics"]["viewCount"])))
    video_columns = ("video_id", "snapshot_date", "channel_id", "views", "likes", "comments")
    silver = real_lake["incremental"]
    assert {tuple(r[c] for c in video_columns) for r in silver["video_snapshots"]} == videos
    channel_columns = ("channel_id", "snapshot_date", "role", "total_views")
    assert {tuple(r[c] for c in channel_columns) for r in silver["channel_snapshots"]} == channels
    assert len(real_lake["incremental"]["video_snapshots"]) == len(videos)
