"""Small but real gold for the BI tests: the real gold jobs run on generated silver.

The creator lake is the tiny lake's kind of rows (``tests/builders/creator.py``) at a
size a dashboard can show: 18 creators, four tiers, five platforms, six weeks, a few hundred posts, plus
a YouTube crawl of six channels (two ours, four competitors, in two niches) over the last three weeks with
one day not crawled, and two exported posts (``channel_silver``). The
Spotify lake is the five hand-made listeners of ``tests/builders/spotify.py`` plus ``mia``, who
listened for half a year to twelve artists with albums (what the drill-down needs). Both are
deterministic. Gold is then staged and published by :mod:`pulse.warehouse` with the reporting views and
the BI grants, exactly as ``publish_gold`` does in a DAG run.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from random import Random

from pulse import tasks
from pulse.sources.base import Source
from pulse.warehouse import publish_gold, stage_gold

CREATOR_RUN_DATE = dt.date(2026, 11, 20)
PLATFORMS = ("TikTok", "YouTube", "Instagram", "Twitter", "LinkedIn")
TIERS = ("Free", "Basic", "Premium", "Enterprise")
SEGMENTS = ("Gaming", "Beauty", "Fitness", "Education", "Music Production")
CONTENT_TYPES = ("Video", "Image", "Carousel", "Story", "Live Stream")
MIA_ARTISTS = ("Aurora Lane", "Brass Monkeys", "Cold Harbour", "Delta Nine", "Echo Park", "Fable",
               "Glass Animals Tribute", "Hollow Pines", "Iris & The Moon", "Juno Reactor Club", "Kites", "Lumen")


def creator_silver(seed: int = 7, creators: int = 18, days: int = 42) -> dict[str, list[dict]]:
    """Silver rows of the creator source, by dataset name (``demographics`` … ``competitors``)."""
    from tests.builders.creator import competitor_rows, creator, day, post

    rng = Random(seed)
    first_day = CREATOR_RUN_DATE - dt.timedelta(days=days)
    people, engagement, content = [], [], []
    for i in range(creators):
        creator_id = f"c{i:02d}"
        people.append(creator(creator_id, segment=SEGMENTS[i % len(SEGMENTS)], tier=TIERS[i % len(TIERS)]))
        if i == creators - 1:
            continue  # one creator without activity ("No Activity")
        base_reach = 9000 * rng.lognormvariate(0, 1.0)
        for platform in rng.sample(PLATFORMS, rng.choice((1, 2, 2, 3))):
            platform_factor = rng.lognormvariate(0, 0.3)
            for d in range(days):
                date = first_day + dt.timedelta(days=d)
                weekend = 1.25 if date.weekday() >= 5 else 1.0
                reach = int(base_reach * platform_factor * weekend * rng.lognormvariate(0, 0.5)) + 50
                impressions = int(reach * rng.uniform(1.1, 1.8))
                engaged = impressions * rng.uniform(0.05, 0.17)
                engagement.append(day(creator_id, platform, date, likes=int(engaged * 0.8),
                                      comments=int(engaged * 0.12), shares=int(engaged * 0.08),
                                      impressions=impressions, reach=reach))
                if rng.random() < 0.3:
                    post_impressions = int(impressions * rng.uniform(0.2, 0.6))
                    post_engaged = post_impressions * rng.uniform(0.04, 0.2)
                    views = int(post_impressions * rng.uniform(0.5, 0.9))
                    monetized = rng.random() < 0.55
                    revenue = round(views / 1000 * 1.3 * rng.lognormvariate(0, 1.0), 2) if monetized else 0.0
                    content.append(post(f"p{len(content):04d}", creator_id, platform, date,
                                        content_type=rng.choice(CONTENT_TYPES), likes=int(post_engaged * 0.8),
                                        comments=int(post_engaged * 0.12), shares=int(post_engaged * 0.08),
                                        views=views, impressions=post_impressions, monetized=monetized,
                                        revenue=revenue))
    return {"demographics": people, "engagement": engagement, "content": content,
            "competitors": competitor_rows()}


# The crawl's channels: (channel_id, title, role, YouTube category id of its videos, subscribers on day one).
CHANNELS = (
    ("UCpulseplays", "Pulse Plays", "ours", "20", 12_000),
    ("UCpulsekitchen", "Pulse Kitchen", "ours", "26", 4_500),
    ("UCrivalgames", "Rival Games", "competitor", "20", 80_000),
    ("UCpixelarena", "Pixel Arena", "competitor", "20", 25_000),
    ("UCcookalong", "Cook Along", "competitor", "26", 60_000),
    ("UCquickbites", "Quick Bites", "competitor", "26", 9_000),
)
CRAWL_DAYS = 21
NOT_CRAWLED = CREATOR_RUN_DATE - dt.timedelta(days=8)  # the crawl did not run that day


def channel_silver(seed: int = 11) -> dict[str, list[dict]]:
    """Cross-platform silver rows by dataset name: the YouTube crawl of ``CHANNELS`` on each of the
    ``CRAWL_DAYS`` days before the run date but ``NOT_CRAWLED`` (every count measured under YouTube's
    playback-start definition, in force since 2026-08-24), and two posts exported by ``pulse_plays``."""
    from tests.builders.creator import PLAYBACK_START, channel_snapshot, export_post, video_snapshot

    rng = Random(seed)
    first_day = CREATOR_RUN_DATE - dt.timedelta(days=CRAWL_DAYS)
    days = [day for day in (first_day + dt.timedelta(days=d) for d in range(CRAWL_DAYS)) if day != NOT_CRAWLED]
    channels, videos = [], []
    for c, (channel_id, title, role, category, subscribers) in enumerate(CHANNELS):
        catalogue = []
        for v in range(rng.randint(3, 5)):
            # The first video is older than the crawl, the others may be uploaded during it.
            published = first_day + dt.timedelta(days=-200 if v == 0 else rng.choice((-90, -30, -5, 4, 10, 15)))
            catalogue.append([f"v{c}{v}", published, rng.choice((45, 480, 900)), 0, 0, 0,
                              rng.uniform(0.02, 0.09), rng.lognormvariate(6, 0.8) * (1 + subscribers / 20_000)])
        for date in days:
            subscribers = int(subscribers * rng.uniform(1.0, 1.01))
            channels.append(channel_snapshot(channel_id, date, round(subscribers, -1), role=role, title=title,
                                             view_definition=PLAYBACK_START))
            for video in catalogue:
                video_id, published, seconds, views, likes, comments, engaged, daily = video
                if published > date:
                    continue
                lifetime = 0 if views else daily * min(20, (date - published).days)  # before the first snapshot
                video[3] = views = views + int(lifetime + daily * rng.uniform(0.5, 1.5))
                video[4] = likes = max(likes, int(views * engaged * 0.85))
                video[5] = comments = max(comments, int(views * engaged * 0.15))
                videos.append(video_snapshot(video_id, channel_id, date, views, likes, comments, published=published,
                                             category_id=category, seconds=seconds, definition=PLAYBACK_START,
                                             title=f"{title} #{video_id[-1]}"))
    as_of = CREATOR_RUN_DATE - dt.timedelta(days=1)
    posts = [export_post("instagram", "pulse_plays", "ig-1", "lifetime", as_of, "instagram_views", views=5200,
                         likes=410, comments=37, shares=12),
             export_post("tiktok", "pulse_plays", "tt-1", f"as of {as_of}", as_of, "tiktok_views", views=18_000,
                         likes=1500, comments=90, shares=60)]
    return {"channel_snapshots": channels, "video_snapshots": videos, "export_posts": posts}


def mia_plays(seed: int = 3) -> list[dict]:
    """Half a year of one listener's plays: twelve artists with one to three albums each, evenings and
    weekends busier, a few artists found late, some skips."""
    from tests.builders.spotify import play

    rng = Random(seed)
    catalogue = []
    for a, artist in enumerate(MIA_ARTISTS):
        for b in range(rng.choice((1, 2, 2, 3))):
            album = f"{artist.split()[0]} {('Sessions', 'Live', 'Nights')[b]}"
            for t in range(rng.randint(3, 6)):
                catalogue.append((artist, album, f"{album} — track {t + 1}", rng.randint(150, 330) * 1000, a))
    weights = [1 / (c[4] + 1) for c in catalogue]
    plays, start = [], dt.datetime(2026, 1, 5)
    for d in range(26 * 7):
        date = start + dt.timedelta(days=d)
        busy = 14 if date.weekday() >= 5 else 8
        moment = date + dt.timedelta(hours=rng.choice((7, 8, 12, 17, 18, 19, 20, 21, 22)))
        for _ in range(rng.randint(0, busy)):
            artist, album, track, duration, a = rng.choices(catalogue, weights)[0]
            if a >= 9 and d < 90:  # the last three artists are found in April
                continue
            skipped = rng.random() < 0.15
            ms = rng.randint(5, 25) * 1000 if skipped else duration
            moment += dt.timedelta(milliseconds=ms + 2000)
            plays.append(play("mia", moment, ms, track, artist, album, skipped=skipped))
    return plays


def build_creator_gold(spark, lake: Path) -> Path:
    from spark_jobs.creator.schemas import COMPETITORS, CONTENT, DEMOGRAPHICS, ENGAGEMENT
    from tests.builders.creator import frame, run_gold, write_channel_silver

    datasets = {"demographics": DEMOGRAPHICS, "engagement": ENGAGEMENT, "content": CONTENT,
                "competitors": COMPETITORS}
    for name, rows in creator_silver().items():
        frame(spark, datasets[name], rows).coalesce(1).write.format("delta").mode("overwrite").save(
            str(lake / "silver" / "creator" / datasets[name].name))
    cross = channel_silver()
    write_channel_silver(spark, lake, cross["channel_snapshots"], cross["video_snapshots"], cross["export_posts"])
    run_gold(lake)
    return lake / "gold" / "creator"


def build_spotify_gold(spark, lake: Path) -> Path:
    from tests.builders.spotify import ALL_PLAYS, run_gold, write_silver

    write_silver(spark, lake, ALL_PLAYS + mia_plays())
    run_gold(lake)
    return lake / "gold" / "spotify"


def publish(conn, source: Source, gold_root: Path, run_id: str = "bi-test") -> None:
    """Stage and publish ``source``'s gold, with its reporting views and the BI grants (as a DAG run does)."""
    stage_gold(conn, source.name, gold_root, [t.name for t in source.gold_tables])
    publish_gold(conn, source.name, {t.name: t.key for t in source.gold_tables}, tasks.reporting_sql(source),
                 {"run_id": run_id, "run_date": CREATOR_RUN_DATE})
