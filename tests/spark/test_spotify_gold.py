"""The Spotify gold job: each pure function on hand-made silver plays, then ``main`` on tiny lakes.

The plays belong to five listeners, one per behaviour, so one gold computation serves every unit test
and also proves that listeners never mix:

- ``tina``: one track at and around the 30-second thresholds, with and without the source's skipped flag;
- ``ida``: one song as a classic name-only play and an API play with its id, a name-only track the
  catalogue does not know, podcasts, an audiobook and unidentified items;
- ``sam``: a steady weekly artist, a one-week binge, a late discovery and a skip-only artist over ten
  ISO weeks across the 2026/2027 year boundary (2026 has an ISO week 53);
- ``rae``: a listener active in only four weeks out of thirteen;
- ``rita``: 55 tracks and 7 artists with ties, for ranks and top tiers.

Expected values are computed by hand in each test from the definitions in docs/spotify_metrics.md.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from pulse.sources.spotify_gold import GOLD_JOB_ARGS, GOLD_TABLES
from spark_jobs.common.job import parse_args
from spark_jobs.spotify import gold
from spark_jobs.spotify.schemas import ALBUMS, ARTISTS, PLAYS, TRACKS
from tests.builders import written_gold
from tests.builders.spotify import (
    ALL_PLAYS,
    API,
    D,
    T,
    frame,
    gold_rows,
    play,
    run_gold,
    silver_frames,
    write_silver,
)

pytestmark = pytest.mark.spark


# --- silver rows ---------------------------------------------------------------------------------------


def rows_by(rows: list[dict], *key) -> dict:
    return {tuple(r[k] for k in key) if len(key) > 1 else r[key[0]]: r for r in rows}


@pytest.fixture(scope="module")
def tables(spark) -> dict[str, list[dict]]:
    """Every gold table of the five listeners, computed once by the pure functions and collected."""
    frames, cached = gold.gold_tables(*silver_frames(spark), gold.GoldSettings())
    out = {name: [r.asDict() for r in df.collect()] for name, df in frames.items()}
    for df in cached:
        df.unpersist()
    return out


def of(tables, table: str, listener: str) -> list[dict]:
    return [r for r in tables[table] if r["listener"] == listener]


# --- plays: streams, skips, minutes --------------------------------------------------------------------

def test_streams_skips_and_skip_rate_at_the_30_second_threshold_with_and_without_the_skipped_flag(tables):
    (row,) = of(tables, "fact_track_breakdown", "tina")
    # 29,999 ms, no flag: skip. 30,000 ms, no flag: stream. 29,999 ms, skipped=false: neither.
    # 30,000 ms, skipped=true: stream and skip. 0 ms classic: skip. 100,000 ms API: stream.
    assert (row["plays"], row["streams"], row["skips"], row["skip_rate"]) == (6, 3, 3, 0.5)
    # 29,999 + 30,000 + 29,999 + 30,000 + 0 + 100,000 = 219,998 ms = 3.6666333… min; / 6 = 0.6111055…
    assert (row["ms_played"], row["listening_minutes"], row["avg_minutes_per_play"]) == (219_998, 3.666633, 0.611106)
    # Completion over the 100,000 ms track: (0.29999 + 0.3 + 0.29999 + 0.3 + 0 + 1) / 6 = 0.3666633…
    assert (row["duration_ms"], row["completion_ratio"], row["popularity"]) == (100_000, 0.366663, 10)
    assert (row["days_played"], row["first_played_at"], row["last_played_at"]) == (
        1, T(2026, 3, 2, 8, 0), T(2026, 3, 2, 8, 25, 0, 500_000))


def test_a_name_only_classic_play_takes_the_id_of_the_catalogue_track_with_the_same_names(tables):
    rows = rows_by(of(tables, "fact_track_breakdown", "ida"), "track_key")
    # "  song ONE " by "the  band" (classic) and trk_song1 (API) are one track, named as the catalogue names it.
    song = rows["trk_song1"]
    assert (song["track_id"], song["track_name"], song["artist_name"], song["album_name"]) == (
        "trk_song1", "Song One", "The Band", "First Album")
    assert (song["plays"], song["streams"], song["ms_played"], song["completion_ratio"], song["days_played"]) == (
        2, 2, 400_000, 1.0, 2)
    # A name-only track the catalogue does not know keeps a name key and no catalogue attributes.
    (deep_cut,) = [r for k, r in rows.items() if k.startswith("name:")]
    assert (deep_cut["track_id"], deep_cut["track_name"], deep_cut["artist_key"], deep_cut["duration_ms"],
            deep_cut["completion_ratio"], deep_cut["album_key"], deep_cut["listening_minutes"]) == (
        None, "Deep Cut", "the band", None, None, None, 1.0)
    assert len(deep_cut["track_key"]) == len("name:") + 64
    # In tina's exports the classic "Threshold" matches her own extended plays that carry the id.
    assert [r["track_key"] for r in of(tables, "fact_track_breakdown", "tina")] == ["trk_tina"]


def test_podcasts_audiobooks_and_unidentified_items_stay_out_of_music_but_count_in_the_timeline(tables):
    assert sorted(r["track_name"] for r in of(tables, "fact_track_breakdown", "ida")) == [
        "Deep Cut", "Song One", "Song Two", "Threshold"]  # no episode, audiobook, "Unknown Track" or unknown
    assert sorted(r["artist_name"] for r in of(tables, "agg_listener_artists", "ida")) == ["Edge", "The Band"]
    timeline = rows_by(of(tables, "agg_listening_timeline", "ida"), "grain", "period")
    thursday = timeline[("day", "2026-03-05")]  # episode 20 min, audiobook 10 min, unknown 0.5, Threshold 100 s
    assert (thursday["plays"], thursday["music_plays"], thursday["music_minutes"], thursday["podcast_minutes"],
            thursday["other_minutes"], thursday["listening_minutes"]) == (4, 1, 1.666667, 30.0, 0.5, 32.166667)
    week = timeline[("week", "2026-W10")]
    # Music 200,000 + 200,000 + 90,000 + 60,000 + 100,000 ms; other: "Unknown Track" 120,000 + unknown 30,000.
    assert (week["period_start"], week["plays"], week["music_plays"], week["music_minutes"],
            week["podcast_minutes"], week["other_minutes"]) == (D(2026, 3, 2), 9, 5, 10.833333, 30.0, 2.5)
    assert (week["distinct_artists"], week["distinct_tracks"], week["new_artists"]) == (2, 4, 2)


def test_artist_and_album_stats_take_catalogue_attributes_when_known(tables):
    artists = rows_by(of(tables, "agg_listener_artists", "ida"), "artist_key")
    band = artists["the band"]
    assert (band["artist_id"], band["plays"], band["streams"], band["distinct_tracks"], band["distinct_albums"],
            band["ms_played"], band["listening_minutes"]) == ("art_band", 4, 4, 3, 1, 550_000, 9.166667)
    assert (band["genres"], band["artist_popularity"], band["followers"]) == ("indie rock, rock", 65, 12_345)
    assert (band["rank_by_minutes"], artists["edge"]["rank_by_minutes"], artists["edge"]["genres"]) == (1, 2, None)
    albums = rows_by(of(tables, "agg_listener_albums", "ida"), "album_key")
    assert sorted(albums) == ["alb_edge", "alb_first"]  # Deep Cut names no album
    first = albums["alb_first"]
    # Song One twice (the classic play through its catalogue track) and Song Two: 2 of 4 tracks.
    assert (first["album_name"], first["plays"], first["streams"], first["distinct_tracks"], first["total_tracks"],
            first["album_completion"], first["release_date"], first["release_year"], first["label"]) == (
        "First Album", 3, 3, 2, 4, 0.5, D(2019, 5, 17), 2019, "Indie Label")
    assert (albums["alb_edge"]["album_completion"], albums["alb_edge"]["label"]) == (0.5, None)


def test_listeners_never_mix(tables):
    listeners = {"tina", "ida", "sam", "rae", "rita"}
    for name in ("fact_track_breakdown", "agg_listener_artists", "agg_listening_timeline", "agg_top_tracks"):
        assert {r["listener"] for r in tables[name]} == listeners, name
    # Both play trk_tina: each row counts its own listener's plays only.
    tina = rows_by(of(tables, "fact_track_breakdown", "tina"), "track_key")["trk_tina"]
    ida = rows_by(of(tables, "fact_track_breakdown", "ida"), "track_key")["trk_tina"]
    assert (tina["plays"], ida["plays"]) == (6, 1)
    # Edge is a new artist for each of them in their own week.
    assert [r["new_artists"] for r in of(tables, "agg_listening_timeline", "tina") if r["grain"] == "week"] == [1]
    assert sum(r["plays"] for r in tables["agg_listening_timeline"] if r["grain"] == "day") == len(ALL_PLAYS)


# --- loyalty -------------------------------------------------------------------------------------------

def loyalty(tables, listener: str) -> dict[str, tuple]:
    return {r["artist_name"]: (r["stream_weeks"], r["window_weeks"], r["return_rate"], r["persistence"],
                               r["loyalty_score"]) for r in of(tables, "agg_listener_artists", listener)}


def test_loyalty_rewards_steady_weekly_returns_and_scores_a_one_week_binge_low(tables):
    p1, p4, p10 = (1 - math.exp(-w / 4) for w in (1, 4, 10))
    assert (round(p1, 6), round(p4, 6), round(p10, 6)) == (0.221199, 0.632121, 0.917915)
    assert loyalty(tables, "sam") == {
        # Every one of sam's 10 active weeks, 2026-W49 … 2027-W05 across W53: 100 × 10/10 × 0.917915.
        "Steady": (10, 10, 1.0, 0.917915, 91.79),
        # Twelve streams, all in his first week; 10 active weeks since: 100 × 1/10 × 0.221199 = 2.21.
        "Binge": (1, 10, 0.1, 0.221199, 2.21),
        # Every week since its discovery in week 7 (4 weeks): 100 × 4/4 × 0.632121.
        "Late": (4, 4, 1.0, 0.632121, 63.21),
        # Played once for ten seconds: never streamed, so no window and a score of 0.
        "Skipper": (0, None, None, 0.0, 0.0),
    }


def test_loyalty_is_normalised_by_the_listeners_own_active_weeks_so_a_rare_listener_is_not_punished(tables):
    # rae streams Rare Gem in each of her only 4 active weeks, spread over 13 calendar weeks: return rate 1
    # (not 4/13), score 100 × 1 × 0.632121 like sam's Late. Once Only, in her last week only: 22.12.
    assert loyalty(tables, "rae") == {"Rare Gem": (4, 4, 1.0, 0.632121, 63.21),
                                      "Once Only": (1, 1, 1.0, 0.221199, 22.12)}


# --- ranks and tiers -----------------------------------------------------------------------------------

def test_top_tier_tracks_rank_by_streams_then_minutes_then_track_key_and_stop_at_50(tables):
    top = sorted(of(tables, "agg_top_tracks", "rita"), key=lambda r: r["rank"])
    assert [r["rank"] for r in top] == list(range(1, 51))
    # b1 and d1 have 3 streams (240,000 vs 210,000 ms); a1 and a2 tie on 2 streams and 120,000 ms; g46 is
    # the only 1-stream track with 90,000 ms; the other 1-stream tracks tie at 60,000 and go by key, so
    # trk_k1 and trk_o1 (ranks 51, 52) and the skip-only trk_z* (no stream) are left out.
    expected = ["trk_b1", "trk_d1", "trk_a1", "trk_a2", "trk_g46"] + [f"trk_g{i:02d}" for i in range(1, 46)]
    assert [r["track_key"] for r in top] == expected
    tiers = {r["rank"]: r["tier"] for r in top}
    assert [tiers[n] for n in (1, 10, 11, 25, 26, 50)] == [
        "Top 10", "Top 10", "Top 11-25", "Top 11-25", "Top 26-50", "Top 26-50"]
    assert (top[0]["streams"], top[0]["listening_minutes"], top[9]["track_key"], top[10]["track_key"]) == (
        3, 4.0, "trk_g05", "trk_g06")


def test_artist_ranks_by_minutes_and_by_distinct_tracks_break_ties_deterministically(tables):
    ranks = {r["artist_name"]: (r["rank_by_minutes"], r["rank_by_tracks"], r["ms_played"], r["distinct_tracks"])
             for r in of(tables, "agg_listener_artists", "rita")}
    assert ranks == {
        "Gamma": (1, 1, 45 * 60_000 + 90_000, 46),
        "Alpha": (2, 3, 240_000, 2),  # ties Beta on 240,000 ms; 4 streams beat 3
        "Beta": (3, 4, 240_000, 1),
        "Delta": (4, 5, 210_000, 1),
        "Kappa": (5, 6, 60_000, 1),  # ties Omega on ms, streams and tracks: "kappa" < "omega"
        "Omega": (6, 7, 60_000, 1),
        "Zed": (7, 2, 30_000, 3),  # three skipped tracks: least minutes, second most tracks
    }


# --- time ----------------------------------------------------------------------------------------------

def test_timeline_grains_follow_iso_weeks_across_the_year_boundary(tables):
    sam = rows_by(of(tables, "agg_listening_timeline", "sam"), "grain", "period")
    w53 = sam[("week", "2026-W53")]  # Steady on Thu 31 Dec 2026, Skipper on Fri 1 Jan 2027
    assert (w53["period_start"], w53["plays"], w53["streams"], w53["skips"], w53["new_artists"]) == (
        D(2026, 12, 28), 2, 1, 1, 0)
    assert sorted(p for g, p in sam if g == "week") == (
        [f"2026-W{w}" for w in range(49, 54)] + [f"2027-W0{w}" for w in range(1, 6)])
    new_year = sam[("day", "2027-01-01")]
    assert (new_year["date"], new_year["period_start"], new_year["plays"], new_year["skips"],
            new_year["music_minutes"]) == (D(2027, 1, 1), D(2027, 1, 1), 1, 1, 0.166667)
    # Steady and Binge are first streamed in December, Late in January; Skipper never.
    assert [(p, sam[("month", p)]["new_artists"]) for p in ("2026-12", "2027-01", "2027-02")] == [
        ("2026-12", 2), ("2027-01", 1), ("2027-02", 0)]
    assert (sam[("month", "2026-12")]["period_start"], sam[("week", "2026-W49")]["new_artists"],
            sam[("week", "2027-W02")]["new_artists"]) == (D(2026, 12, 1), 2, 1)
    # Cyclic grains: Binge's 12 plays on a Tuesday, one an hour from 08:00; Thursdays are Steady's 5 in 2026
    # and 5 in 2027; new_artists is for the period grains only.
    tuesday = sam[("weekday", "2")]
    assert (tuesday["day_of_week_number"], tuesday["hour"], tuesday["plays"], tuesday["new_artists"]) == (
        2, None, 12, None)
    assert sam[("weekday", "4")]["plays"] == 10
    assert (sam[("hour", "08")]["plays"], sam[("hour", "08")]["hour"], sam[("hour", "20")]["plays"]) == (1, 8, 10)
    assert (sam[("weekday_hour", "2-08")]["plays"], sam[("weekday_hour", "4-20")]["day_of_week_number"],
            sam[("weekday_hour", "4-20")]["hour"], sam[("weekday_hour", "4-20")]["plays"]) == (1, 4, 20, 10)
    # rae's first week of 2026 starts on Monday 29 December 2025.
    rae = rows_by(of(tables, "agg_listening_timeline", "rae"), "grain", "period")
    assert (rae[("week", "2026-W01")]["period_start"], rae[("month", "2025-12")]["plays"]) == (D(2025, 12, 29), 1)
    assert {g for g, _ in sam} == set(gold.GRAINS)


def test_the_date_dimension_has_every_play_date_with_iso_attributes(tables):
    dates = rows_by(tables["dim_date"], "date")
    columns = ("year", "quarter", "month", "month_name", "iso_year", "iso_week", "day_of_month", "day_of_week",
               "day_of_week_number", "is_weekend", "week_start", "month_start")
    assert {d: tuple(dates[d][c] for c in columns) for d in (D(2025, 12, 30), D(2026, 12, 31), D(2027, 1, 1),
                                                            D(2027, 2, 6))} == {
        D(2025, 12, 30): (2025, 4, 12, "December", 2026, 1, 30, "Tuesday", 2, False, D(2025, 12, 29),
                          D(2025, 12, 1)),
        D(2026, 12, 31): (2026, 4, 12, "December", 2026, 53, 31, "Thursday", 4, False, D(2026, 12, 28),
                          D(2026, 12, 1)),
        D(2027, 1, 1): (2027, 1, 1, "January", 2026, 53, 1, "Friday", 5, False, D(2026, 12, 28), D(2027, 1, 1)),
        D(2027, 2, 6): (2027, 1, 2, "February", 2027, 5, 6, "Saturday", 6, True, D(2027, 2, 1), D(2027, 2, 1)),
    }
    assert set(dates) == {p["ended_at"].date() for p in ALL_PLAYS}


def test_a_duplicated_play_counts_once_and_the_copy_silver_prefers_wins(spark):
    api = play("dup", T(2026, 5, 1, 12, 0, 30, 250_000), 200_000, "Song One", "The Band", track_id="trk_song1",
               fmt="api_recently_played")
    extended = {**api, "ended_at": T(2026, 5, 1, 12, 0, 30), "ended_at_precision": "second", "ms_played": 45_000,
                "skipped": True, "source_format": "extended", "export_id": "e2"}
    classic = {**extended, "ended_at": T(2026, 5, 1, 12, 0), "ended_at_precision": "minute", "track_id": None,
               "skipped": None, "source_format": "classic", "export_id": "e1"}
    # An export over the API (it measured ms_played), then the most precise export: the extended copy.
    for rows in ([api, classic, extended, api], [classic, api, extended, classic, extended]):
        kept = gold.unique_plays(frame(spark, PLAYS, rows)).collect()
        assert [(r["source_format"], r["ms_played"], r["skipped"]) for r in kept] == [("extended", 45_000, True)]


def test_settings_are_validated_and_the_sources_options_are_the_jobs_defaults():
    argv = ["--lake-root", "/lake", "--run-date", "2026-11-21", "--source", "spotify", *GOLD_JOB_ARGS]
    args = parse_args(argv, "gold", options=gold.GoldSettings().options())
    assert gold.GoldSettings.from_options(args.extra) == gold.GoldSettings()
    changed = gold.GoldSettings(skip_threshold_ms=10_000, loyalty_persistence_weeks=2.5)
    assert gold.GoldSettings.from_options(changed.options()) == changed
    with pytest.raises(ValueError, match="--loyalty-persistence-weeks"):
        gold.GoldSettings(loyalty_persistence_weeks=0)


# --- the application -----------------------------------------------------------------------------------


def check_written_tables(lake: Path) -> dict[str, int]:
    """Every declared table written as the gate expects it (:func:`tests.builders.written_gold`); row counts."""
    schemas, counts = written_gold.check_written_tables(lake / "gold" / "spotify", GOLD_TABLES, gold.SMALL_TABLES)
    assert str(schemas["fact_track_breakdown"].field("first_played_at").type) == "timestamp[us, tz=UTC]"
    return counts


def redelivered(plays: list[dict]) -> list[dict]:
    """A less precise classic copy of every extended play (same play_key, minute precision, no track id,
    no skipped flag): what the same plays look like when a classic export delivers them again."""
    return [{**p, "ended_at": p["ended_at"].replace(second=0, microsecond=0), "ended_at_precision": "minute",
             "track_id": None, "skipped": None, "source_format": "classic"}
            for p in plays if p["source_format"] in ("extended", "extended_legacy")]


def row_order(row: dict) -> tuple:
    return tuple(str(v) for v in row.values())


@pytest.fixture(scope="module")
def main_lake(spark, tmp_path_factory) -> Path:
    """Exports, the API and the catalogue together, as messy as silver could be: every play and catalogue
    row twice, split over three files, plus :func:`redelivered` copies; and the gold ``main`` wrote."""
    lake = tmp_path_factory.mktemp("spotify_lake")
    write_silver(spark, lake, ALL_PLAYS + redelivered(ALL_PLAYS), partitions=3, copies=2)
    run_gold(lake)
    return lake


def test_main_writes_every_declared_table_with_a_unique_key_flat_columns_and_joining_references(main_lake, tables):
    counts = check_written_tables(main_lake)
    assert counts == {name: len(rows) for name, rows in tables.items()}


def test_main_on_duplicated_repartitioned_silver_writes_the_rows_of_a_clean_run_row_for_row(spark, main_lake, tables):
    # The pure functions ran on each play once, in memory; main read every play two or four times from
    # three files: a second run of the same data, differently delivered, must give the same rows.
    for name, expected in tables.items():
        table = spark.read.format("delta").load(str(main_lake / "gold" / "spotify" / name))
        written = [r.asDict() for r in table.collect()]
        assert sorted(written, key=row_order) == sorted(expected, key=row_order), name


def test_gold_from_streaming_history_exports_alone(spark, main_lake, tmp_path):
    # A rerun in a lake whose gold is already there: main must replace every table, not add to it.
    lake = tmp_path / "lake"
    shutil.copytree(main_lake, lake)
    for dataset in (TRACKS, ARTISTS, ALBUMS):  # no API: no catalogue folders at all
        shutil.rmtree(lake / "silver" / "spotify" / dataset.name)
    write_silver(spark, lake, [p for p in ALL_PLAYS if p["source_format"] != API], catalogue=False)
    run_gold(lake)
    counts = check_written_tables(lake)
    breakdown = gold_rows(lake)["fact_track_breakdown"]
    # Without a catalogue, tina's classic "Threshold" still joins her extended plays by their id.
    tina = [r for r in breakdown if r["listener"] == "tina"]
    assert [(r["track_key"], r["plays"], r["duration_ms"], r["album_key"]) for r in tina] == [
        ("trk_tina", 5, None, None)]
    # ida's classic "song ONE" has nothing to match: a name key; only Song Two names an album.
    ida = {r["track_name"]: r for r in breakdown if r["listener"] == "ida"}
    assert ida["  song ONE "]["track_key"].startswith("name:") and ida["Song Two"]["album_key"].startswith("name:")
    # ida's First Album and Edge Cases, both by name (the earlier gold had 3 catalogue albums).
    assert counts["agg_listener_albums"] == 2


def test_gold_from_the_web_api_alone(spark, tmp_path):
    write_silver(spark, tmp_path, [p for p in ALL_PLAYS if p["source_format"] == API])
    run_gold(tmp_path)
    counts = check_written_tables(tmp_path)
    breakdown = {(r["listener"], r["track_key"]): r for r in gold_rows(tmp_path)["fact_track_breakdown"]}
    assert sorted(breakdown) == [("ida", "trk_song1"), ("tina", "trk_tina")]
    song = breakdown[("ida", "trk_song1")]
    assert (song["plays"], song["album_key"], song["duration_ms"], song["completion_ratio"]) == (
        1, "alb_first", 200_000, 1.0)
    assert counts["agg_listener_artists"] == 2 and counts["agg_top_tracks"] == 2
