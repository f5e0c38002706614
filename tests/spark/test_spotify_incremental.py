"""Incremental Spotify runs: silver reads only the bronze committed since its last run and MERGEs the groups
it touches; gold recomputes the listeners silver's changes (and the catalogue's) touched. Any sequence of
daily runs gives the silver and gold of one ``--full-refresh`` run over a copy of the same bronze.

Bronze is written by the real writers (``BronzePartitionWriter``, ``ingest_exports``) on a tiny data set;
the jobs run as function calls on the suite's shared Spark session.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from deltalake import DeltaTable

from pulse.lake import BronzePartitionWriter
from pulse.spotify_exports import ingest_exports
from spark_jobs.common.incremental import commit_actions
from spark_jobs.spotify import silver
from spark_jobs.spotify.incremental import merge_groups
from spark_jobs.spotify.schemas import SILVER_DATASETS
from tests.builders import written_silver
from tests.builders.spotify import gold_rows, run_gold

pytestmark = [pytest.mark.spark, pytest.mark.timeout(600)]

DAYS = [dt.date(2026, 3, 2) + dt.timedelta(days=i) for i in range(3)]
ITEMS_URL = "https://api.spotify.com/v1/playlists/pl1/items?limit=50"

REMA = {"id": "art_rema", "name": "Rema"}
CALM_DOWN = {"id": "trk_calm", "name": "Calm Down", "type": "track", "duration_ms": 219813, "popularity": 84,
             "explicit": False, "disc_number": 1, "track_number": 1, "is_local": False,
             "external_ids": {"isrc": "NGA3B2214004"},
             "album": {"id": "alb_calm", "name": "Calm Down", "album_type": "single", "release_date": "2022-02",
                       "release_date_precision": "month", "total_tracks": 2, "artists": [REMA]},
             "artists": [REMA]}
ONE_MORE = {"id": "trk_omt", "name": "One More Time", "type": "track", "duration_ms": 320357, "disc_number": 1,
            "track_number": 1, "artists": [{"id": "art_daft", "name": "Daft Punk"}]}
DISCOVERY = {"id": "alb_disc", "name": "Discovery", "album_type": "album", "release_date": "2001",
             "release_date_precision": "year", "total_tracks": 14, "label": "Daft Life", "popularity": 77,
             "artists": [{"id": "art_daft", "name": "Daft Punk"}], "tracks": {"items": [ONE_MORE]}}


WIZKID = {"id": "art_wiz", "name": "Wizkid"}
ESSENCE = {"id": "trk_ess", "name": "Essence", "type": "track", "duration_ms": 248000, "popularity": 80,
           "album": {"id": "alb_mih", "name": "Made in Lagos", "album_type": "album", "release_date": "2020-10-30",
                     "release_date_precision": "day", "total_tracks": 14, "artists": [WIZKID]},
           "artists": [WIZKID]}


def api_play(played_at: str, track: dict = ESSENCE, context: str = "spotify:album:alb_mih") -> dict:
    return {"played_at": played_at, "context": {"type": "album", "uri": context}, "track": track}


def classic(end: str, artist: str, track: str, ms: int) -> dict:
    return {"endTime": end, "artistName": artist, "trackName": track, "msPlayed": ms}


def extended(ts: str, ms: int, track: str = "Calm Down", artist: str = "Rema", uri: str = "spotify:track:trk_calm"):
    return {"ts": ts, "platform": "android", "ms_played": ms, "conn_country": "NG",
            "master_metadata_track_name": track, "master_metadata_album_artist_name": artist,
            "master_metadata_album_album_name": track, "spotify_track_uri": uri, "reason_start": "playbtn",
            "reason_end": "trackdone", "shuffle": False, "skipped": False, "offline": False,
            "offline_timestamp": 0, "incognito_mode": False}


def deliver(lake: Path, dataset: str, run_date: dt.date, records: list, listener: str | None = None,
            url: str = "https://api.spotify.com/v1/x") -> None:
    """One crawl's bronze partition of ``dataset``, written as the ingest writes it (one page)."""
    partition = (("listener", listener),) if listener else ()
    writer = BronzePartitionWriter(lake, "spotify", dataset, run_date, partition)
    writer.add_page(1, url, records)
    writer.commit({"dataset": dataset})


def drop_export(lake: Path, inbox: Path, listener: str, name: str, rows: list) -> int:
    (inbox / listener).mkdir(parents=True, exist_ok=True)
    (inbox / listener / name).write_text(json.dumps(rows))
    return ingest_exports(inbox, lake)["files_ingested"]


EXPORT_CY = [classic("2026-03-01 10:00", "Rema", "Calm Down", 200000),  # named only: resolved by the catalogue
             classic("2026-03-01 10:00", "Rema", "Calm Down", 1000),  # a same-minute repeat
             classic("2026-03-01 11:00", "Daft Punk", "One More Time", 300000),
             {"endTime": "not a time", "artistName": "X", "trackName": "x", "msPlayed": 1}]
EXPORT_BO = [extended("2026-03-02T09:00:00Z", 219000), extended("2026-03-02T09:05:00Z", 5000),
             extended("2026-03-02T09:10:30Z", 100000, "Once", "Nobody", "spotify:track:trk_once")]
EXPORT_BO_LATER = [*EXPORT_BO[1:], extended("2026-03-03T08:00:00Z", 219000)]  # overlaps: a newer export


def day(lake: Path, inbox: Path, n: int) -> None:
    """What the ingest delivers on day ``n`` (0-based) of :data:`DAYS`."""
    run_date = DAYS[n]
    if n == 0:
        drop_export(lake, inbox, "cy", "StreamingHistory_music_0.json", EXPORT_CY)
        deliver(lake, "recently_played", run_date, [
            api_play("2026-03-01T20:00:00.000Z"), api_play("2026-03-01T20:00:00.000Z"),  # a duplicate
            api_play("2026-03-01T20:04:30.000Z"), {"played_at": "yesterday", "track": ESSENCE}], "ana")
        deliver(lake, "playlists", run_date, [{"id": "pl1", "name": "Morning"}])
        deliver(lake, "playlist_items", run_date, [{"added_at": "2026-02-01T00:00:00Z", "item": ONE_MORE},
                                                   {"added_at": "2026-02-02T00:00:00Z", "item": None}], url=ITEMS_URL)
        deliver(lake, "albums", run_date, [DISCOVERY])
        deliver(lake, "artists", run_date, [{"id": "art_daft", "name": "Daft Punk", "genres": ["french house"],
                                             "popularity": 70, "followers": {"total": 100}}])
    elif n == 1:
        # The API serves the last plays again (re-deliveries, one with a newer context: the newest wins) and
        # a new one; a missed day is backfilled; bo's first export and a newer, overlapping one arrive;
        # cy's export is dropped again (nothing new).
        deliver(lake, "recently_played", run_date, [
            api_play("2026-03-01T20:04:30.000Z", context="spotify:playlist:pl1"),
            api_play("2026-03-02T07:00:00.000Z", ONE_MORE)], "ana")
        deliver(lake, "recently_played", DAYS[0] - dt.timedelta(days=1),
                [api_play("2026-02-28T20:00:00.000Z")], "ana")  # a late delivery of an earlier date
        assert drop_export(lake, inbox, "bo", "endsong_0.json", EXPORT_BO) == 1
        assert drop_export(lake, inbox, "bo", "endsong_1.json", EXPORT_BO_LATER) == 1
        assert drop_export(lake, inbox, "cy", "StreamingHistory_music_0.json", EXPORT_CY) == 0
    else:
        # The catalogue changes: the playlist now holds Calm Down (so cy's name-only plays resolve to its
        # id), Daft Punk's genres change, the playlist lost an item; ana plays once more.
        deliver(lake, "playlists", run_date, [{"id": "pl1", "name": "Morning!"}])
        deliver(lake, "playlist_items", run_date, [{"added_at": "2026-02-03T00:00:00Z", "item": CALM_DOWN}],
                url=ITEMS_URL)
        deliver(lake, "artists", run_date, [{"id": "art_daft", "name": "Daft Punk", "genres": ["house"],
                                             "popularity": 71, "followers": {"total": 120}}])
        deliver(lake, "recently_played", run_date, [api_play("2026-03-04T07:00:00.000Z")], "ana")


def run_silver(lake: Path, run_date: dt.date, *extra: str) -> dict:
    silver.main(["--lake-root", str(lake), "--run-date", run_date.isoformat(), "--source", "spotify",
                 "--run-id", f"test__{run_date}", *extra])
    return json.loads((lake / "silver" / "spotify" / "_counts.json").read_text())


def gold_counts(lake: Path) -> dict:
    return json.loads((lake / "gold" / "spotify" / "_counts.json").read_text())


def silver_tables(spark, lake: Path) -> dict[str, list]:
    return written_silver.silver_tables(spark, lake, "spotify", SILVER_DATASETS)


def test_daily_incremental_runs_give_the_silver_and_gold_of_one_full_refresh(spark, tmp_path):
    """Three daily runs (the first builds, the next two merge) with duplicates, a late re-delivery, a
    re-dropped and an overlapping export, a backfilled date and a catalogue change, each followed by gold;
    against ``--full-refresh`` on a copy of the same bronze."""
    lake, inbox = tmp_path / "incremental", tmp_path / "inbox"
    modes, golds = [], []
    for n, run_date in enumerate(DAYS):
        day(lake, inbox, n)
        counts = run_silver(lake, run_date)
        modes.append({c["mode"] for c in counts.values()})
        for name, c in counts.items():  # what was read adds up
            assert c["bronze_rows"] == c["valid_rows"] + c["quarantined_rows"], (run_date, name)
        run_gold(lake)
        golds.append(gold_counts(lake))

    assert modes == [{"full"}, {"incremental"}, {"incremental"}]
    assert [g["mode"] for g in golds] == ["full", "incremental", "incremental"]
    # Day 2: ana's and bo's plays changed, not cy's. Day 3: ana played; the catalogue change reaches cy
    # (name resolution) and bo (his plays name Calm Down's id).
    assert golds[1]["slices"] == {"listeners": 2, "listeners_by_catalogue": 0}
    assert golds[2]["slices"] == {"listeners": 3, "listeners_by_catalogue": 2}
    assert counts["plays"]["bronze_rows"] == 1  # the last run read the one new play, not the history
    assert counts["playlist_tracks"]["deleted"] == 1  # the playlist's second item left it

    reference = tmp_path / "full"
    shutil.copytree(lake / "bronze", reference / "bronze")
    full = run_silver(reference, DAYS[-1], "--full-refresh", "true")
    assert {c["mode"] for c in full.values()} == {"full"}
    run_gold(reference)
    assert silver_tables(spark, lake) == silver_tables(spark, reference)
    assert gold_rows(lake) == gold_rows(reference)
    # The catalogue change resolved cy's name-only play of Calm Down to its id.
    tracks = {r["track_key"] for r in gold_rows(lake)["fact_track_breakdown"] if r["listener"] == "cy"}
    assert "trk_calm" in tracks


def commit_files(spark, uri: Path, version: int, kind: str) -> list[str]:
    """The files commit ``version`` of the Delta table at ``uri`` added (``kind="add"``) or removed."""
    return [action[kind]["path"] for action in commit_actions(spark, str(uri), version) if kind in action]


def test_a_merge_touches_only_the_files_of_keys_that_change_and_commits_nothing_when_none_do(spark, tmp_path):
    """``merge_groups`` with rows the table already holds (nulls and arrays alike) leaves it at its version;
    with one key unchanged, one changed, one new and one gone, it rewrites the files of the changed and
    the gone key only (each key is in a file of its own here)."""
    uri = tmp_path / "table"
    schema = "k string, v int, tags array<string>"
    held = [("a", 1, ["x"]), ("b", None, None), ("c", 3, ["y", "z"])]
    files = {}  # each key's file: one commit, so one file, per key
    for version, row in enumerate(held):
        spark.createDataFrame([row], schema).coalesce(1).write.format("delta").mode("append").save(str(uri))
        files[commit_files(spark, uri, version, "add")[0]] = row[0]

    again = spark.createDataFrame(held, schema)
    assert merge_groups(spark, again, None, str(uri), ["k"]) == {"inserted": 0, "updated": 0, "deleted": 0}
    assert DeltaTable(str(uri)).version() == 2  # no MERGE ran: no new version

    rows = spark.createDataFrame([("a", 1, ["x"]), ("b", 2, None), ("d", 4, [])], schema)
    gone = spark.createDataFrame([("c",)], "k string")
    assert merge_groups(spark, rows, gone, str(uri), ["k"]) == {"inserted": 1, "updated": 1, "deleted": 1}
    assert DeltaTable(str(uri)).version() == 3
    assert sorted(files[path] for path in commit_files(spark, uri, 3, "remove")) == ["b", "c"]
    assert sorted(tuple(r) for r in spark.read.format("delta").load(str(uri)).collect()) == [
        ("a", 1, ["x"]), ("b", 2, None), ("d", 4, [])]

