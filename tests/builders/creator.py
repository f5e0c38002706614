"""Silver rows of the creator source, made by hand, and the gold job run on them: the tests' data builders.

Each builder returns rows in the silver schema of ``spark_jobs/creator/schemas.py``; ``TINY_*`` is the tiny
lake whose gold the tests and the reporting-view tests compute by hand (docs/creator_metrics.md), and
``TINY_CHANNEL_*`` the cross-platform rows the reporting-view tests add to it (a YouTube crawl of three
channels over five days around YouTube's Shorts view change, and two exported posts)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pulse.sources.creator import CREATOR
from spark_jobs.creator import gold
from spark_jobs.creator.schemas import (
    CHANNEL_SNAPSHOTS,
    COMPETITORS,
    CONTENT,
    DEMOGRAPHICS,
    ENGAGEMENT,
    EXPORT,
    EXPORT_ACCOUNT_DAYS,
    EXPORT_POSTS,
    VIDEO_SNAPSHOTS,
    YOUTUBE,
    YOUTUBE_API,
    SilverDataset,
)

D = dt.date
UTC = dt.UTC


def creator(user_id: str, segment: str = "Gaming", tier: str = "Free", **kw) -> dict:
    return {"user_id": user_id, "age": 25, "age_group": "20s", "device": "Desktop",
            "creator_segment": segment, "signup_at": dt.datetime(2025, 3, 1, 23, 30, tzinfo=UTC),
            "active_status": "Active", "subscription_tier": tier,
            "updated_at": dt.datetime(2026, 1, 1, tzinfo=UTC), **kw}


def day(creator_id: str, platform: str, date: dt.date, likes=100, comments=20, shares=5, impressions=1000,
        reach=500, **kw) -> dict:
    return {"creator_id": creator_id, "platform": platform, "date": date, "total_likes": likes,
            "total_comments": comments, "total_shares": shares, "average_view_duration": 40.0,
            "impressions": impressions, "reach": reach, "click_through_rate": 0.05,
            "updated_at": dt.datetime(2026, 1, 1, tzinfo=UTC), **kw}


NOV_18, NOV_19 = D(2026, 11, 18), D(2026, 11, 19)


def post(content_id: str, creator_id: str = "c1", platform: str = "TikTok", date: dt.date = NOV_18,
         content_type: str = "Video", likes=50, comments=10, shares=5, views=500, impressions=800,
         monetized=True, revenue=0.0, **kw) -> dict:
    return {"content_id": content_id, "creator_id": creator_id, "platform": platform,
            "content_type": content_type, "title": f"post {content_id}", "description": "d",
            "published_at": dt.datetime.combine(date, dt.time(10, 0), tzinfo=UTC), "published_date": date,
            "day_of_week": date.strftime("%A"), "time_of_day": "10:00", "likes": likes, "comments": comments,
            "shares": shares, "views": views, "impressions": impressions, "average_view_time": 30.0,
            "completion_rate": 50.0, "creator_segment": "Gaming", "monetization_enabled": monetized,
            "revenue_generated": revenue, "updated_at": dt.datetime(2026, 1, 1, tzinfo=UTC), **kw}


# The seven competitors as the original API printed them (seed_api_samples/sample_competitors_show.csv).
SEED_COMPETITORS = [
    ("qbkStHDYF4Ztwjh", "Patreon", 2020, 7, 20, 29.65, 4.1, 3.5, 4.2),
    ("jCoZnYTsdEZ1aJJ", "Ko-fi", 2017, 15, 74, 29.09, 4.2, 4.6, 4.8),
    ("a5sdfzbWXVYbVFK", "Gumroad", 2011, 12, 64, 23.3, 3.9, 4.9, 3.3),
    ("0nWvqYHpIDoTic5", "Buy Me a Coffee", 2022, 0, 173, 3.62, 3.9, 3.8, 3.5),
    ("LoCOx0TlxjkAEtC", "Teachable", 2020, 0, 46, 24.8, 3.2, 4.2, 4.5),
    ("y7XPA4bmCYNLoL2", "Podia", 2019, 15, 79, 8.91, 4.9, 4.8, 3.2),
    ("8uyQNdZmlehqkMW", "Kajabi", 2014, 0, 70, 27.83, 3.7, 2.6, 3.4),
]


def competitor_rows() -> list[dict]:
    names = ("competitor_id", "platform_name", "founding_year", "commission_percentage",
             "supported_countries", "market_share_percentage", "sentiment_score", "app_store_rating",
             "google_play_rating")
    return [{**dict(zip(names, r, strict=True)), "headquarter_location": "Berlin, Germany",
             "headquarter_city": "Berlin", "headquarter_country": "Germany"} for r in SEED_COMPETITORS]


def frame(spark, dataset: SilverDataset, rows: list[dict]):
    return spark.createDataFrame([tuple(r.get(c) for c in dataset.columns) for r in rows], dataset.schema)


# Three creators (c3 without facts), two platforms, two days and four posts: the tiny lake.
TINY_CREATORS = [creator("c1"), creator("c2", tier="Premium"), creator("c3", segment="Beauty")]
TINY_DAYS = [
    day("c1", "TikTok", NOV_18, likes=100, comments=20, shares=5, impressions=1000, reach=30_000),
    day("c1", "TikTok", NOV_19, likes=200, comments=30, shares=20, impressions=2000, reach=120_000),
    day("c1", "YouTube", NOV_19, likes=50, comments=0, shares=0, impressions=500, reach=1_000),
    day("c2", "TikTok", NOV_19, likes=10, comments=5, shares=5, impressions=400, reach=5_000),
]
TINY_POSTS = [
    post("p1", "c1", "TikTok", NOV_18, revenue=120.5),
    post("p2", "c1", "TikTok", NOV_19, content_type="Image", monetized=False),
    post("p3", "c1", "YouTube", NOV_19, revenue=0.0),
    post("p4", "c2", "TikTok", NOV_19, revenue=600.0),
]


def write_tiny_silver(spark, lake: Path, partitions: int = 1) -> None:
    """The tiny silver lake (TINY_* and the seven competitors); ``partitions`` splits each dataset into
    that many files."""
    rows = {DEMOGRAPHICS: TINY_CREATORS, ENGAGEMENT: TINY_DAYS, CONTENT: TINY_POSTS,
            COMPETITORS: competitor_rows()}
    for dataset, data in rows.items():
        (frame(spark, dataset, data).repartition(partitions).write.mode("overwrite")
         .format("delta").save(str(lake / "silver" / "creator" / dataset.name)))


# --- the cross-platform model --------------------------------------------------------------------------

WATCH_GATED, PLAYBACK_START = "youtube_views_watch_gated", "youtube_views_playback_start"


def channel_snapshot(channel_id: str, date: dt.date, subscribers: int | None, role: str = "competitor",
                     title: str | None = None, **kw) -> dict:
    """A channel's snapshot as silver keeps it (``view_definition``: the channel total's, given by hand)."""
    return {"platform": YOUTUBE, "channel_id": channel_id, "snapshot_date": date, "title": title or channel_id,
            "country": "US", "published_at": dt.datetime(2020, 1, 1, tzinfo=UTC), "role": role,
            "subscribers": subscribers, "subscribers_hidden": subscribers is None, "total_views": None,
            "video_count": None, "view_definition": WATCH_GATED, "source": YOUTUBE_API, **kw}


def video_snapshot(video_id: str, channel_id: str, date: dt.date, views: int, likes: int | None,
                   comments: int | None, published: dt.date, category_id: str = "20", seconds: int = 600,
                   definition: str = WATCH_GATED, **kw) -> dict:
    """A video's snapshot as silver keeps it; ``definition`` is the view definition of the snapshot day,
    given by hand (``spark_jobs/creator/definitions.py`` is the rule)."""
    return {"platform": YOUTUBE, "video_id": video_id, "channel_id": channel_id, "snapshot_date": date,
            "title": f"video {video_id}", "published_at": dt.datetime.combine(published, dt.time(12), tzinfo=UTC),
            "category_id": category_id, "duration_seconds": seconds, "is_short": seconds <= 60, "views": views,
            "likes": likes, "comments": comments, "view_definition": definition, "source": YOUTUBE_API, **kw}


def export_post(platform: str, account: str, content_id: str, measurement: str, as_of: dt.date,
                definition: str, views: int | None = None, likes: int = 0, comments: int = 0, shares: int = 0,
                **kw) -> dict:
    """An exported post as silver keeps it."""
    return {"platform": platform, "account": account, "content_id": content_id, "measurement": measurement,
            "format": f"{platform}_export", "title": f"post {content_id}", "published_date": None, "date": None,
            "period_start": None, "period_end": None, "as_of": as_of, "duration_seconds": None, "views": views,
            "impressions": None, "reach": None, "likes": likes, "comments": comments, "shares": shares,
            "saves": None, "watch_time_hours": None, "metric_definition": definition, "source": EXPORT, **kw}


MAR_29 = D(2025, 3, 29)
SNAPSHOT_DAYS = [MAR_29 + dt.timedelta(days=i) for i in range(5)]  # Sat 29 March .. Wed 2 April 2025
APR_1 = SNAPSHOT_DAYS[3]

# Our channel UCours (Gaming: o1 long-form, o2 a Short uploaded 30 March, whose views count every play from
# 31 March), the competitors UCrival (Gaming; not crawled on 1 April) and UCcook (Howto & Style; k1's likes
# hidden on 30 March). Per video: (views, likes, comments) on each snapshot day, None on a day not crawled.
TINY_VIDEO_COUNTS = {
    ("o1", "UCours", D(2025, 1, 10), "20", 600): [(1000, 50, 10), (1100, 55, 10), (1250, 60, 12), (1300, 61, 12),
                                                 (1420, 70, 15)],
    ("o2", "UCours", D(2025, 3, 30), "20", 45): [None, (200, 20, 2), (500, 40, 5), (800, 50, 6), (900, 52, 6)],
    ("r1", "UCrival", D(2024, 12, 1), "20", 1200): [(5000, 100, 20), (5400, 110, 22), (5900, 120, 25), None,
                                                   (6800, 140, 30)],
    ("r2", "UCrival", D(2025, 3, 31), "20", 700): [None, None, (300, 30, 3), None, (900, 60, 8)],
    ("k1", "UCcook", D(2025, 2, 1), "26", 800): [(3000, 90, 9), (3100, None, 10), (3300, 95, 11), (3350, 96, 11),
                                                (3500, 100, 12)],
}
TINY_SUBSCRIBERS = {
    ("UCours", "ours", "Pulse Plays"): [1000, 1010, 1030, 1040, 1060],
    ("UCrival", "competitor", "Rival Games"): [50_000, 50_100, 50_200, None, 50_400],
    ("UCcook", "competitor", "Cook Along"): [20_000, 20_000, 20_100, 20_100, 20_200],
}


def _tiny_definition(seconds: int, date: dt.date) -> str:
    return PLAYBACK_START if seconds <= 60 and date >= D(2025, 3, 31) else WATCH_GATED


TINY_CHANNEL_SNAPSHOTS = [
    channel_snapshot(channel, date, subscribers, role=role, title=title,
                     view_definition=WATCH_GATED if date < D(2025, 3, 31) else "youtube_views_mixed")
    for (channel, role, title), counts in TINY_SUBSCRIBERS.items()
    for date, subscribers in zip(SNAPSHOT_DAYS, counts, strict=True) if subscribers is not None
]
TINY_VIDEO_SNAPSHOTS = [
    video_snapshot(video, channel, date, *count, published=published, category_id=category, seconds=seconds,
                   definition=_tiny_definition(seconds, date))
    for (video, channel, published, category, seconds), counts in TINY_VIDEO_COUNTS.items()
    for date, count in zip(SNAPSHOT_DAYS, counts, strict=True) if count is not None
]
TINY_EXPORT_POSTS = [
    export_post("instagram", "pulse_plays", "ig1", "lifetime", D(2025, 4, 2), "instagram_views", views=400,
                likes=30, comments=4, shares=2),
    export_post("tiktok", "pulse_plays", "tt1", "as of 2025-04-02", D(2025, 4, 2), "tiktok_views", views=2000,
                likes=150, comments=12, shares=9),
]


def export_account_day(platform: str, account: str, date: dt.date, definition: str, views: int, likes: int,
                       comments: int, shares: int | None) -> dict:
    """An exported account-day as silver keeps it (a TikTok Overview's or Studio Totals' day)."""
    return {"platform": platform, "account": account, "date": date, "format": f"{platform}_export",
            "as_of": D(2025, 4, 2), "views": views, "likes": likes, "comments": comments, "shares": shares,
            "profile_visits": None, "subscribers_net": None, "watch_time_hours": None,
            "metric_definition": definition, "source": EXPORT}


TINY_EXPORT_ACCOUNT_DAYS = [
    export_account_day("tiktok", "pulse_plays", D(2025, 4, 1), "tiktok_views", 3000, 200, 20, 10),
    export_account_day("tiktok", "pulse_plays", D(2025, 4, 2), "tiktok_views", 2500, 180, 15, 8),
]


def write_channel_silver(spark, lake: Path, channels: list[dict], videos: list[dict], posts: list[dict],
                         account_days: list[dict] | None = None) -> None:
    """Cross-platform silver: channel and video snapshots, export posts and (when given) export account days."""
    datasets = [(CHANNEL_SNAPSHOTS, channels), (VIDEO_SNAPSHOTS, videos), (EXPORT_POSTS, posts)]
    if account_days is not None:
        datasets.append((EXPORT_ACCOUNT_DAYS, account_days))
    for dataset, rows in datasets:
        (frame(spark, dataset, rows).coalesce(1).write.mode("overwrite").format("delta")
         .save(str(lake / "silver" / "creator" / dataset.name)))


def write_tiny_channel_silver(spark, lake: Path) -> None:
    """The tiny lake's cross-platform rows (``TINY_CHANNEL_SNAPSHOTS``, ``TINY_VIDEO_SNAPSHOTS``,
    ``TINY_EXPORT_POSTS``, ``TINY_EXPORT_ACCOUNT_DAYS``)."""
    write_channel_silver(spark, lake, TINY_CHANNEL_SNAPSHOTS, TINY_VIDEO_SNAPSHOTS, TINY_EXPORT_POSTS,
                         TINY_EXPORT_ACCOUNT_DAYS)


def run_gold(lake: Path) -> None:
    gold.main(["--lake-root", str(lake), "--run-date", "2026-11-20", "--source", "creator",
               *CREATOR.gold_job_args])


def gold_rows(spark, lake: Path) -> dict[str, list[tuple]]:
    out = {}
    for table in CREATOR.gold_tables:
        df = spark.read.format("delta").load(str(lake / "gold" / "creator" / table.name))
        out[table.name] = sorted(df.collect(), key=lambda r: tuple(str(v) for v in r))
    return out
