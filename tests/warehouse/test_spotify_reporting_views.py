"""The Spotify reporting views on a real Postgres, over gold that the real gold job wrote.

The gold job runs once on the five listeners of ``tests/builders/spotify.py`` (exports, the API
and the catalogue together); each test stages that gold, passes it through the quality gate's own SQL,
publishes it with the reporting views and checks what BI would read against values computed by hand:

- ida (week of 2 March 2026): music 200,000 + 200,000 + 90,000 (The Band) + 60,000 (The Band, Deep Cut)
  + 100,000 ms (Edge); podcasts 1,200,000 + 600,000 ms; unidentified 120,000 + 30,000 ms.
- sam (2026-W49 … 2027-W05): Steady 10 × 180,000 ms, Binge 12 × 120,000, Late 4 × 150,000, Skipper one
  10,000 ms skip; loyalty 91.79, 2.21, 63.21 and 0.
"""

from __future__ import annotations

import datetime as dt

import pytest

from pulse.quality import orphan_rows_sql, table_checks
from pulse.sources.spotify import SPOTIFY
from pulse.sources.spotify_gold import GOLD_TABLES
from pulse.warehouse import publish_gold, stage_gold
from tests.builders.spotify import ALL_PLAYS, run_gold, write_silver

pytestmark = pytest.mark.spark

REPORTING_SQL = SPOTIFY.reporting_sql()  # the original's table names as views, then the reporting views


@pytest.fixture(scope="module")
def tiny_gold(spark, tmp_path_factory):
    lake = tmp_path_factory.mktemp("spotify_lake")
    write_silver(spark, lake, ALL_PLAYS)
    run_gold(lake)
    return lake / "gold" / "spotify"


def publish(conn, gold_root) -> None:
    stage_gold(conn, "spotify", gold_root, [t.name for t in GOLD_TABLES])
    for table in GOLD_TABLES:
        for name, check in table_checks(table).items():
            query = f"SELECT {check['check_statement']} FROM staging_spotify.{table.name}"
            assert conn.execute(query).fetchone()[0], f"quality check {table.name}.{name} failed"
        for fk in table.references:
            assert conn.execute(orphan_rows_sql("staging_spotify", table, fk)).fetchone()[0], (table.name, fk)
    publish_gold(conn, "spotify", {t.name: t.key for t in GOLD_TABLES}, REPORTING_SQL,
                 {"run_id": "test", "run_date": dt.date(2026, 11, 20)})


def view(conn, name: str, where: str = "TRUE", order: str = "1") -> list[dict]:
    cur = conn.execute(f"SELECT * FROM reporting.{name} WHERE {where} ORDER BY {order}")
    return [dict(zip([c.name for c in cur.description], row, strict=True)) for row in cur.fetchall()]


def test_spotify_kpis_is_one_row_per_listener_computed_by_hand(pg_conn, tiny_gold):
    publish(pg_conn, tiny_gold)
    kpis = {r["listener"]: r for r in view(pg_conn, "spotify_kpis")}
    assert sorted(kpis) == ["ida", "rae", "rita", "sam", "tina"]
    ida = kpis["ida"]
    assert {k: ida[k] for k in ("listening_minutes", "music_minutes", "podcast_minutes", "all_plays", "plays",
                                "streams", "skips", "skip_rate", "distinct_artists", "distinct_tracks",
                                "top_artist", "top_artist_minutes", "mean_loyalty", "active_days")} == {
        "listening_minutes": 43.33,  # 2,600,000 ms of every kind
        "music_minutes": 10.83,  # 650,000 ms
        "podcast_minutes": 30.0,
        "all_plays": 9,
        "plays": 5, "streams": 5, "skips": 0, "skip_rate": 0.0,
        "distinct_artists": 2, "distinct_tracks": 4,
        "top_artist": "The Band", "top_artist_minutes": 9.17,  # 550,000 ms
        "mean_loyalty": 22.12,  # both artists: one week of one, 100 × 1 × 0.221199
        "active_days": 4,
    }
    sam = kpis["sam"]
    # 10 × 180,000 + 12 × 120,000 + 4 × 150,000 + 10,000 = 3,850,000 ms; 1 skip in 27 plays.
    assert (sam["music_minutes"], sam["plays"], sam["streams"], sam["skip_rate"], sam["top_artist"],
            sam["top_artist_minutes"], sam["top_artist_loyalty"]) == (64.17, 27, 26, 0.037037, "Steady", 30.0, 91.79)
    # Mean over the three streamed artists: (91.79 + 2.21 + 63.21) / 3 = 52.403…; Skipper is left out.
    assert (sam["mean_loyalty"], sam["streamed_artists"], sam["distinct_artists"]) == (52.4, 3, 4)
    # Only music: every minute is a music minute. 16 days: 10 Thursdays, a Tuesday, 4 Saturdays, 1 Jan 2027.
    assert (sam["listening_minutes"], sam["podcast_minutes"], sam["active_days"], sam["first_date"],
            sam["last_date"]) == (64.17, 0.0, 16, dt.date(2026, 12, 1), dt.date(2027, 2, 6))
    assert (kpis["tina"]["plays"], kpis["tina"]["skip_rate"]) == (6, 0.5)


def test_trend_loyalty_and_top_views_match_the_tiny_lake(pg_conn, tiny_gold):
    publish(pg_conn, tiny_gold)
    trend = view(pg_conn, "spotify_listening_trend", "listener = 'sam'", "month")
    assert [(r["month"], r["month_start"], r["plays"], r["new_artists"]) for r in trend] == [
        ("2026-12", dt.date(2026, 12, 1), 5 + 12, 2),  # Steady's 5 Thursdays, Binge's 12
        ("2027-01", dt.date(2027, 1, 1), 4 + 1 + 3, 1),  # Steady 4, Skipper 1, Late 3
        ("2027-02", dt.date(2027, 2, 1), 1 + 1, 0),
    ]
    loyalty = view(pg_conn, "spotify_artist_loyalty", "listener = 'sam'", "loyalty_rank")
    assert [(r["loyalty_rank"], r["artist_name"], r["loyalty_score"]) for r in loyalty] == [
        (1, "Steady", 91.79), (2, "Late", 63.21), (3, "Binge", 2.21)]
    by_minutes = view(pg_conn, "spotify_top_artists_by_minutes", "listener = 'sam'", "rank")
    assert [(r["artist_name"], r["listening_minutes"], r["pct_of_music_minutes"]) for r in by_minutes] == [
        ("Steady", 30.0, 46.75), ("Binge", 24.0, 37.4), ("Late", 10.0, 15.58), ("Skipper", 0.17, 0.26)]
    by_tracks = view(pg_conn, "spotify_top_artists_by_tracks", "listener = 'rita'", "rank")
    assert [(r["artist_name"], r["distinct_tracks"]) for r in by_tracks[:3]] == [
        ("Gamma", 46), ("Zed", 3), ("Alpha", 2)]
    top = view(pg_conn, "spotify_top_tracks", "listener = 'rita'", "rank")
    assert (len(top), top[0]["track_key"], top[0]["tier"], top[-1]["tier"]) == (50, "trk_b1", "Top 10", "Top 26-50")


def test_weekly_activity_has_every_weekday_hour_cell_and_every_view_reads_after_a_refresh(pg_conn, tiny_gold):
    publish(pg_conn, tiny_gold)
    cells = view(pg_conn, "spotify_weekly_activity", "listener = 'sam'", "day_of_week_number, hour")
    assert len(cells) == 7 * 24
    thursday_8pm = next(c for c in cells if (c["day_of_week_number"], c["hour"]) == (4, 20))
    # Steady's ten 3-minute streams: 1,800,000 of sam's 3,850,000 ms.
    assert (thursday_8pm["day_of_week"], thursday_8pm["plays"], thursday_8pm["listening_minutes"],
            thursday_8pm["pct_of_listening"]) == ("Thursday", 10, 30.0, 46.75)
    assert sum(c["plays"] for c in cells) == 27 and round(sum(c["pct_of_listening"] for c in cells)) == 100
    pg_conn.execute(REPORTING_SQL)  # what refresh_reporting re-applies
    names = [r[0] for r in pg_conn.execute(
        "SELECT table_name FROM information_schema.views WHERE table_schema = 'reporting' ORDER BY 1")]
    assert names == ["spotify_albums", "spotify_artist_loyalty", "spotify_artists", "spotify_kpis",
                     "spotify_listening_trend", "spotify_top_artists_by_minutes", "spotify_top_artists_by_tracks",
                     "spotify_top_tracks", "spotify_tracks", "spotify_weekly_activity"]
    for name in names:
        assert pg_conn.execute(f"SELECT count(*) FROM reporting.{name}").fetchone()[0] > 0, name


def test_the_drill_down_views_add_up_to_each_artists_and_albums_figures(pg_conn, tiny_gold):
    """Artist -> album -> track: the tracks' milliseconds sum to their artist's, and to their album's."""
    publish(pg_conn, tiny_gold)
    artists = view(pg_conn, "spotify_artists", "listener = 'ida'", "rank_by_minutes")
    assert [(a["artist_name"], a["ms_played"], a["distinct_tracks"]) for a in artists] == [
        ("The Band", 550_000, 3), ("Edge", 100_000, 1)]
    tracks = view(pg_conn, "spotify_tracks", "listener = 'ida'", "track_key")
    for artist in artists:
        assert sum(t["ms_played"] for t in tracks if t["artist_key"] == artist["artist_key"]) == artist["ms_played"]
    album = view(pg_conn, "spotify_albums", "listener = 'ida' AND album_name = 'First Album'")[0]
    assert sum(t["ms_played"] for t in tracks if t["album_key"] == album["album_key"]) == album["ms_played"] == 490_000
    assert [t["track_name"] for t in tracks if t["album_key"] is None] == ["Deep Cut"]  # a classic play names no album


ORIGINAL_NAMES = {"dim_artist_stats": "agg_listener_artists", "dim_album_stats": "agg_listener_albums",
                  "dim_timeline_trends": "agg_listening_timeline", "dim_top_tier_tracks": "agg_top_tracks",
                  "dim_date_dimension": "dim_date", "fact_track_breakdown": "fact_track_breakdown"}


def test_the_originals_six_table_names_still_read_the_same_rows(pg_conn, tiny_gold):
    publish(pg_conn, tiny_gold)
    for original, table in ORIGINAL_NAMES.items():
        rows = pg_conn.execute(f"SELECT * FROM gold.{original} ORDER BY 1, 2").fetchall()
        assert rows and rows == pg_conn.execute(f"SELECT * FROM gold.{table} ORDER BY 1, 2").fetchall(), original
    kinds = dict(pg_conn.execute("SELECT table_name, table_type FROM information_schema.tables "
                                 "WHERE table_schema = 'gold'").fetchall())
    assert {kinds[o] for o in ORIGINAL_NAMES if o not in (t.name for t in GOLD_TABLES)} == {"VIEW"}
    assert {t.name for t in GOLD_TABLES} == set(ORIGINAL_NAMES.values())


def test_a_warehouse_with_the_originals_tables_is_published_over_with_views_in_their_place(pg_conn, tiny_gold):
    pg_conn.execute("CREATE SCHEMA gold")
    pg_conn.execute("CREATE TABLE gold.dim_artist_stats (listener text)")  # what an earlier Pulse published
    pg_conn.execute("CREATE TABLE gold.dim_date_dimension (date date)")
    publish(pg_conn, tiny_gold)
    kinds = dict(pg_conn.execute("SELECT table_name, table_type FROM information_schema.tables "
                                 "WHERE table_schema = 'gold'").fetchall())
    assert kinds["dim_artist_stats"] == kinds["dim_date_dimension"] == "VIEW"
    assert pg_conn.execute("SELECT count(*) FROM gold.dim_artist_stats").fetchone()[0] > 0

