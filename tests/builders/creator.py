"""Silver rows of the creator source, made by hand, and the gold job run on them: the tests' data builders.

Each builder returns rows in the silver schema of ``spark_jobs/creator/schemas.py``; ``TINY_*`` is the tiny
lake whose gold the tests and the reporting-view tests compute by hand (docs/creator_metrics.md)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pulse.sources.creator import CREATOR
from spark_jobs.creator import gold
from spark_jobs.creator.schemas import COMPETITORS, CONTENT, DEMOGRAPHICS, ENGAGEMENT, SilverDataset

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


def run_gold(lake: Path) -> None:
    gold.main(["--lake-root", str(lake), "--run-date", "2026-11-20", "--source", "creator",
               *CREATOR.gold_job_args])


def gold_rows(spark, lake: Path) -> dict[str, list[tuple]]:
    out = {}
    for table in CREATOR.gold_tables:
        df = spark.read.format("delta").load(str(lake / "gold" / "creator" / table.name))
        out[table.name] = sorted(df.collect(), key=lambda r: tuple(str(v) for v in r))
    return out
