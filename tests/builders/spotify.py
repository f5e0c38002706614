"""Silver rows of the Spotify source, made by hand, and the gold job run on them: the tests' data builders.

Five listeners whose every figure the tests compute by hand (docs/spotify_metrics.md): TINA, IDA, SAM,
RAE and RITA, plus a small catalogue of tracks, artists and albums."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from deltalake import DeltaTable

from pulse.sources.spotify_gold import GOLD_JOB_ARGS, GOLD_TABLES
from spark_jobs.spotify import gold
from spark_jobs.spotify.schemas import ALBUMS, ARTISTS, PLAYS, TRACKS, SilverDataset

D, T = dt.date, dt.datetime
MIN = 60_000  # ms in a minute
PRECISION = {"classic": "minute", "extended_legacy": "second", "extended": "second",
             "api_recently_played": "millisecond"}


def play(listener: str, at: dt.datetime, ms: int, track: str | None = None, artist: str | None = None,
         album: str | None = None, track_id: str | None = None, kind: str = "track", skipped: bool | None = None,
         fmt: str = "extended", **kw) -> dict:
    """A silver play as the silver job writes it (``is_stream`` is ms_played >= 30,000)."""
    api = fmt == "api_recently_played"
    return {"play_key": f"{listener}|{at.isoformat()}|{track_id or track or kind}", "listener": listener,
            "ended_at": at, "ended_at_precision": PRECISION[fmt], "started_at": at - dt.timedelta(milliseconds=ms),
            "ms_played": ms, "content_kind": kind, "track_name": track, "artist_name": artist,
            "album_name": album, "track_id": track_id, "skipped": skipped, "is_stream": ms >= 30_000,
            "source_format": fmt, "export_id": None if api else f"export-{listener}", "platform": "android",
            **kw}


def track_row(track_id, name, artist, artist_id, album_id, album, duration_ms, popularity) -> dict:
    return {"track_id": track_id, "name": name, "artist_name": artist, "artist_id": artist_id,
            "artist_ids": [artist_id], "album_id": album_id, "album_name": album, "duration_ms": duration_ms,
            "popularity": popularity, "explicit": False, "disc_number": 1, "track_number": 1}
CATALOGUE_TRACKS = [
    track_row("trk_song1", "Song One", "The Band", "art_band", "alb_first", "First Album", 200_000, 70),
    track_row("trk_song2", "Song Two", "The Band", "art_band", "alb_first", "First Album", 180_000, 40),
    track_row("trk_tina", "Threshold", "Edge", "art_edge", "alb_edge", "Edge Cases", 100_000, 10),
]
CATALOGUE_ARTISTS = [
    {"artist_id": "art_band", "name": "The Band", "genres": ["rock", "indie rock", "rock"], "popularity": 65,
     "followers": 12_345},
    {"artist_id": "art_edge", "name": "Edge", "genres": [], "popularity": 5, "followers": 0},
]
CATALOGUE_ALBUMS = [
    {"album_id": "alb_first", "name": "First Album", "album_type": "album", "release_date": D(2019, 5, 17),
     "release_date_precision": "day", "release_year": 2019, "total_tracks": 4, "label": "Indie Label",
     "popularity": 50, "artist_id": "art_band", "artist_name": "The Band"},
    {"album_id": "alb_edge", "name": "Edge Cases", "album_type": "single", "release_date": D(2024, 1, 1),
     "release_date_precision": "year", "release_year": 2024, "total_tracks": 2, "label": None,
     "popularity": 1, "artist_id": "art_edge", "artist_name": "Edge"},
]


# tina: Monday 2 March 2026, one track (trk_tina, 100,000 ms long) six times.
TINA = [
    play("tina", T(2026, 3, 2, 8, 0), 29_999, "Threshold", "Edge", track_id="trk_tina", fmt="extended_legacy"),
    play("tina", T(2026, 3, 2, 8, 5), 30_000, "Threshold", "Edge", track_id="trk_tina", fmt="extended_legacy"),
    play("tina", T(2026, 3, 2, 8, 10), 29_999, "Threshold", "Edge", track_id="trk_tina", skipped=False),
    play("tina", T(2026, 3, 2, 8, 15), 30_000, "Threshold", "Edge", track_id="trk_tina", skipped=True),
    play("tina", T(2026, 3, 2, 8, 20), 0, "Threshold", "Edge", fmt="classic"),  # a zero-ms classic play
    play("tina", T(2026, 3, 2, 8, 25, 0, 500_000), 100_000, "Threshold", "Edge", "Edge Cases",
         track_id="trk_tina", fmt="api_recently_played"),
]


# ida: the week of 2 March 2026 (ISO 2026-W10).
IDA = [
    play("ida", T(2026, 3, 2, 7, 0), 200_000, "  song ONE ", "the  band", fmt="classic"),
    play("ida", T(2026, 3, 3, 7, 0, 0, 123_000), 200_000, "Song One", "The Band", "First Album",
         track_id="trk_song1", fmt="api_recently_played"),
    play("ida", T(2026, 3, 4, 7, 0), 90_000, "Song Two", "The Band", "First Album", track_id="trk_song2",
         skipped=False),
    play("ida", T(2026, 3, 4, 8, 0), 60_000, "Deep Cut", "The Band", fmt="classic"),
    play("ida", T(2026, 3, 4, 9, 0), 120_000, "Unknown Track", "Unknown Artist", fmt="classic"),
    play("ida", T(2026, 3, 5, 7, 0), 1_200_000, kind="episode", episode_name="Ep 1", show_name="A Show",
         episode_id="ep1", skipped=False),
    play("ida", T(2026, 3, 5, 8, 0), 600_000, kind="audiobook", audiobook_title="A Book",
         audiobook_chapter_title="Chapter 1", skipped=False),
    play("ida", T(2026, 3, 5, 9, 0), 30_000, kind="unknown", skipped=False),
    play("ida", T(2026, 3, 5, 10, 0), 100_000, "Threshold", "Edge", "Edge Cases", track_id="trk_tina",
         skipped=False),
]


# sam: ten ISO weeks, 2026-W49 (Monday 30 Nov 2026) to 2027-W05 (Monday 1 Feb 2027).
SAM_WEEKS = [D(2026, 11, 30) + dt.timedelta(weeks=i) for i in range(10)]
SAM = (
    # Steady: one stream every Thursday (31 Dec 2026 is the Thursday of 2026-W53).
    [play("sam", T.combine(w + dt.timedelta(days=3), dt.time(20, 0)), 180_000, "Every Week", "Steady",
          track_id="trk_steady") for w in SAM_WEEKS]
    # Binge: twelve streams on Tuesday 1 Dec 2026, 08:00 to 19:00, never again.
    + [play("sam", T(2026, 12, 1, 8 + i, 0), 120_000, "Once", "Binge", track_id="trk_binge") for i in range(12)]
    # Late: discovered in the seventh week, then streamed every Saturday.
    + [play("sam", T.combine(w + dt.timedelta(days=5), dt.time(12, 0)), 150_000, "Late Bloomer", "Late",
            track_id="trk_late") for w in SAM_WEEKS[6:]]
    # Skipper: one ten-second play on New Year's Day 2027, a Friday of ISO week 2026-W53.
    + [play("sam", T(2027, 1, 1, 9, 0), 10_000, "Nope", "Skipper", track_id="trk_skip")]
)


# rae: active in ISO weeks 1, 5, 9 and 13 of 2026 only (week 1 starts on Monday 29 Dec 2025).
RAE_WEEKS = [D(2025, 12, 29), D(2026, 1, 26), D(2026, 2, 23), D(2026, 3, 23)]
RAE = ([play("rae", T.combine(w + dt.timedelta(days=1), dt.time(21, 0)), 200_000, "Gem", "Rare Gem",
             track_id="trk_gem") for w in RAE_WEEKS]
       + [play("rae", T(2026, 3, 25, 21, 0), 200_000, "Just Once", "Once Only", track_id="trk_once")])


def _rita() -> list[dict]:
    """rita's tracks: (id, artist, [ms of each play]). Streams tie and are broken by ms, then track_key."""
    tracks = [(f"trk_g{i:02d}", "Gamma", [60_000]) for i in range(1, 46)]
    tracks += [("trk_g46", "Gamma", [90_000]),
               ("trk_a1", "Alpha", [60_000, 60_000]), ("trk_a2", "Alpha", [60_000, 60_000]),
               ("trk_b1", "Beta", [80_000] * 3), ("trk_d1", "Delta", [70_000] * 3),
               ("trk_k1", "Kappa", [60_000]), ("trk_o1", "Omega", [60_000]),
               ("trk_z1", "Zed", [10_000]), ("trk_z2", "Zed", [10_000]), ("trk_z3", "Zed", [10_000])]
    plays, at = [], T(2026, 4, 6, 0, 0)
    for track_id, artist, durations in tracks:
        for ms in durations:
            plays.append(play("rita", at, ms, f"Song {track_id[4:]}", artist, track_id=track_id, skipped=False))
            at += dt.timedelta(minutes=5)
    return plays
RITA = _rita()
ALL_PLAYS = TINA + IDA + SAM + RAE + RITA


def frame(spark, dataset: SilverDataset, rows: list[dict]):
    return spark.createDataFrame([tuple(r.get(c) for c in dataset.columns) for r in rows], dataset.schema)


def silver_frames(spark, plays=ALL_PLAYS, catalogue: bool = True):
    tracks, artists, albums = ((CATALOGUE_TRACKS, CATALOGUE_ARTISTS, CATALOGUE_ALBUMS) if catalogue
                               else ([], [], []))
    return (frame(spark, PLAYS, plays), frame(spark, TRACKS, tracks), frame(spark, ARTISTS, artists),
            frame(spark, ALBUMS, albums))
API = "api_recently_played"


def write_silver(spark, lake: Path, plays: list[dict], catalogue: bool = True, partitions: int = 1,
                 copies: int = 1) -> None:
    """A silver lake: ``plays`` and, with ``catalogue``, the three catalogue datasets (``copies`` times
    each, split into ``partitions`` files). Without the catalogue its folders do not exist."""
    rows = {PLAYS: plays}
    if catalogue:
        rows |= {TRACKS: CATALOGUE_TRACKS, ARTISTS: CATALOGUE_ARTISTS, ALBUMS: CATALOGUE_ALBUMS}
    for dataset, data in rows.items():
        (frame(spark, dataset, data * copies).repartition(partitions).write.mode("overwrite")
         .format("delta").save(str(lake / "silver" / "spotify" / dataset.name)))


def run_gold(lake: Path) -> None:
    gold.main(["--lake-root", str(lake), "--run-date", "2026-11-20", "--source", "spotify", *GOLD_JOB_ARGS])


def gold_rows(lake: Path) -> dict[str, list[dict]]:
    """Every gold table's rows as written (read with pyarrow), in a fixed order."""
    out = {}
    for table in GOLD_TABLES:
        rows = DeltaTable(str(lake / "gold" / "spotify" / table.name)).to_pyarrow_table().to_pylist()
        out[table.name] = sorted(rows, key=lambda r: tuple(str(v) for v in r.values()))
    return out
