"""The real Spotify data through ingest and silver: the five real streaming-history exports (four
listeners) dropped into an inbox, and the real Web API bodies as the crawl writes them to bronze. Silver
is built once; every figure it is checked against is computed here, independently, with plain Python
from the raw JSON files."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from deltalake import DeltaTable

from pulse.lake import BronzePartitionWriter, read_manifest
from pulse.spotify_exports import ingest_exports
from spark_jobs.spotify import silver
from spark_jobs.spotify.schemas import SILVER_DATASETS

pytestmark = pytest.mark.spark

# The five files come from four people: the two spotify-music-analysis files are one listener's.
EXPORTS = {
    "r-spotify-history-analysis__StreamingHistory0.json": "cosmo",
    "spotify-habits-data-analysis__StreamingHistory_music_0.json": "lau",
    "Spotify-Shuffle-Analysis__endsong_1.json": "erick",
    "spotify-music-analysis__Streaming_History_Audio_2024.json": "efrrowini",
    "spotify-music-analysis__Streaming_History_Audio_2026.json": "efrrowini",
}
API_LISTENER = "joost"  # whose recently played the fixture is: a fifth person
RUN_DATE = dt.date(2026, 2, 26)
WHITESPACE = " \t\n\r\f\v\u00a0"  # what silver trims from every string


def text(value: str | None) -> str | None:
    """A raw string as silver keeps it: trimmed, and blank is no value."""
    return (value.strip(WHITESPACE) or None) if isinstance(value, str) else value


def raw_play(row: dict) -> tuple[str, str | None, int]:
    """(UTC month, artist, ms played) of a raw export row, read straight from its fields."""
    if "endTime" in row:
        return row["endTime"][:7], text(row["artistName"]), row["msPlayed"]
    return row["ts"][:7], text(row["master_metadata_album_artist_name"]), row["ms_played"]


def figures(plays: list[tuple[str, str | None, int]]) -> dict:
    """Plays, milliseconds and streams (plays of at least 30 s) in all, per artist and per month."""
    def tally(key_of) -> dict:
        out: dict = defaultdict(lambda: [0, 0, 0])
        for month, artist, ms in plays:
            entry = out[key_of(month, artist)]
            entry[0] += 1
            entry[1] += ms
            entry[2] += ms >= 30_000
        return {k: tuple(v) for k, v in out.items()}
    return {"total": tally(lambda m, a: "all"), "artist": tally(lambda m, a: a), "month": tally(lambda m, a: m)}


def write_bronze(lake: Path, dataset: str, pages: list[tuple[str, list]], partition=()) -> None:
    writer = BronzePartitionWriter(lake, "spotify", dataset, RUN_DATE, partition)
    for number, (url, records) in enumerate(pages, start=1):
        writer.add_page(number, url, records)
    writer.commit({"dataset": dataset})


@pytest.fixture(scope="module")
def real(spark, realdata, tmp_path_factory) -> dict:
    """The real exports ingested, the real API bodies in bronze as the crawl writes them, silver built."""
    history, api = realdata / "spotify" / "history", realdata / "spotify" / "api"
    inbox, lake = tmp_path_factory.mktemp("inbox"), tmp_path_factory.mktemp("lake")
    for name, listener in EXPORTS.items():
        (inbox / listener).mkdir(exist_ok=True)
        shutil.copy(history / name, inbox / listener / name)
    ingested = ingest_exports(inbox, lake)

    body = {name: json.loads((api / f"{name}.json").read_text())
            for name in ("recently_played", "playlist", "playlist_tracks_page", "artists_several", "albums_several")}
    playlist, page = body["playlist"], body["playlist_tracks_page"]
    write_bronze(lake, "recently_played", [(body["recently_played"]["href"], body["recently_played"]["items"])],
                 (("listener", API_LISTENER),))
    write_bronze(lake, "playlists", [(playlist["href"], [playlist])])
    # The crawl reads a playlist's items from /items (2026) or /tracks (before); the page's own href says where.
    write_bronze(lake, "playlist_items", [(playlist["items"]["href"], playlist["items"]["items"]),
                                          (page["href"], page["items"])])
    write_bronze(lake, "artists", [("https://api.spotify.com/v1/artists?ids=…", body["artists_several"]["artists"])])
    write_bronze(lake, "albums", [("https://api.spotify.com/v1/albums?ids=…", body["albums_several"]["albums"])])

    silver.main(["--lake-root", str(lake), "--run-date", RUN_DATE.isoformat(), "--source", "spotify"])
    out = lake / "silver" / "spotify"
    read = {name: DeltaTable(str(out / name)).to_pyarrow_table().to_pylist()
            for name in [*SILVER_DATASETS, *(f"_quarantine/{n}" for n in SILVER_DATASETS)]}
    raw = {name: json.loads((history / name).read_text()) for name in EXPORTS}
    ids = {read_manifest(p)["file_name"]: p.name.removeprefix("export=")
           for p in (lake / "bronze" / "spotify" / "history").glob("listener=*/export=*")}
    return {"lake": lake, "ingested": ingested, "ingested_ids": ids, "silver": read, "raw": raw, "api": body,
            "counts": json.loads((out / "_counts.json").read_text())}


def utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def silver_plays_of(real: dict, listener: str) -> list[dict]:
    return [p for p in real["silver"]["plays"] if p["listener"] == listener]


# --- exports -----------------------------------------------------------------------------------------

def test_every_real_export_is_ingested_and_nothing_is_quarantined(real):
    assert real["ingested"]["files_ingested"] == 5 and real["ingested"]["files_rejected"] == 0
    assert real["ingested"]["rows_by_format"] == {"classic": 6866 + 8611, "extended_legacy": 2080,
                                                  "extended": 3154 + 2319}
    rows = sum(len(r) for r in real["raw"].values()) + len(real["api"]["recently_played"]["items"])
    assert real["counts"]["plays"] == {"mode": "full", "bronze_rows": rows, "valid_rows": rows, "quarantined_rows": 0,
                                       "inserted": rows, "updated": 0, "duplicates_dropped": 0, "silver_rows": rows,
                                       "reasons": {}}
    assert all(real["silver"][f"_quarantine/{n}"] == [] for n in SILVER_DATASETS)


@pytest.mark.parametrize("listener", sorted(set(EXPORTS.values())))
def test_each_listeners_plays_minutes_and_streams_in_all_per_artist_and_per_month_match_the_raw_files(
        real, listener):
    expected = figures([raw_play(row) for name, rows in real["raw"].items() if EXPORTS[name] == listener
                        for row in rows])
    got = figures([(utc(p["ended_at"]).strftime("%Y-%m"), p["artist_name"], p["ms_played"])
                   for p in silver_plays_of(real, listener)])

    assert got["total"] == expected["total"]
    assert got["month"] == expected["month"]
    assert got["artist"] == expected["artist"]


def test_podcasts_placeholders_and_unidentified_rows_are_kept_and_told_apart(real):
    kinds: dict = defaultdict(int)
    for play in real["silver"]["plays"]:
        kinds[play["listener"], play["content_kind"]] += 1
    assert kinds["efrrowini", "episode"] == 1 + 35  # podcast rows of the 2024 and 2026 files
    assert (kinds["cosmo", "unknown"], kinds["lau", "unknown"]) == (22, 26)  # "Unknown Artist"/"Unknown Track"
    assert kinds["erick", "unknown"] == 1  # the endsong row with no track and no episode
    zero = {lst: sum(1 for name, rows in real["raw"].items() if EXPORTS[name] == lst for r in rows
                     if r.get("msPlayed", r.get("ms_played")) == 0) for lst in set(EXPORTS.values())}
    assert {lst: sum(1 for p in silver_plays_of(real, lst) if p["ms_played"] == 0) for lst in zero} == zero


@pytest.mark.parametrize("name", [n for n in EXPORTS if "endsong" in n or "Audio" in n])
def test_every_extended_rows_time_ids_flags_and_offline_moment_are_the_files(real, name):
    def offline(value: int) -> str | None:
        if value == 0:
            return None
        ms = value if value >= 100_000_000_000 else value * 1000  # ms in the legacy file, s since 2024
        return (dt.datetime.fromtimestamp(ms // 1000, dt.UTC) + dt.timedelta(milliseconds=ms % 1000)).isoformat()

    def uri_id(uri: str | None, kind: str) -> str | None:
        return uri.removeprefix(f"spotify:{kind}:") if uri else None

    raw = Counter(
        (r["ts"], r["ms_played"], text(r["master_metadata_track_name"]), uri_id(r["spotify_track_uri"], "track"),
         text(r["episode_name"]), uri_id(r["spotify_episode_uri"], "episode"), text(r["platform"]),
         r["conn_country"], text(r["reason_start"]), text(r["reason_end"]), r["shuffle"], r["skipped"], r["offline"],
         offline(r["offline_timestamp"]), r["incognito_mode"])
        for r in real["raw"][name])
    export_id = real["ingested_ids"][name]
    got = Counter(
        (utc(p["ended_at"]).strftime("%Y-%m-%dT%H:%M:%SZ"), p["ms_played"], p["track_name"], p["track_id"],
         p["episode_name"], p["episode_id"], p["platform"], p["conn_country"], p["reason_start"], p["reason_end"],
         p["shuffle"], p["skipped"], p["offline"], utc(p["offline_at"]).isoformat() if p["offline_at"] else None,
         p["incognito_mode"])
        for p in real["silver"]["plays"] if p["export_id"] == export_id)
    assert got == raw


def test_personal_fields_appear_nowhere_in_silver(real):
    personal = {"username", "ip_addr", "ip_addr_decrypted", "user_agent_decrypted"}
    out = real["lake"] / "silver" / "spotify"
    for name in [*SILVER_DATASETS, *(f"_quarantine/{n}" for n in SILVER_DATASETS)]:
        columns = set(DeltaTable(str(out / name)).to_pyarrow_table().schema.names)
        assert not columns & personal, name
        values = json.dumps(real["silver"][name], default=str)
        assert "REDACTED" not in values, name  # every username and IP address in the real files


# --- the Web API bodies --------------------------------------------------------------------------------

def test_recently_played_keeps_each_plays_track_time_and_duration(real):
    items = real["api"]["recently_played"]["items"]
    plays = {utc(p["ended_at"]): p for p in silver_plays_of(real, API_LISTENER)}
    assert len(plays) == len(items) == 48
    for item in items:
        played_at = dt.datetime.fromisoformat(item["played_at"]).astimezone(dt.UTC)
        play, track = plays[played_at], item["track"]
        assert (play["track_id"], play["track_name"], play["artist_name"], play["album_name"]) == (
            track["id"], track["name"], track["artists"][0]["name"], track["album"]["name"])
        assert (play["ms_played"], play["ended_at_precision"], play["context_uri"]) == (
            track["duration_ms"], "millisecond", item["context"]["uri"])
        assert utc(play["started_at"]) == played_at - dt.timedelta(milliseconds=track["duration_ms"])


def test_playlist_tracks_keep_each_items_playlist_position_track_and_adder(real):
    playlist, page = real["api"]["playlist"], real["api"]["playlist_tracks_page"]
    rows = sorted((r["playlist_id"], r["position"], r["track_id"], utc(r["added_at"]), r["added_by"],
                   r["playlist_name"], r["item_type"]) for r in real["silver"]["playlist_tracks"])
    expected = sorted(
        [(playlist["id"], n, i["item"]["id"], dt.datetime.fromisoformat(i["added_at"]), i["added_by"]["id"],
          playlist["name"], "track") for n, i in enumerate(playlist["items"]["items"])]
        + [("5lH9NjOeJvctAO92ZrKQNB", n, i["track"]["id"], dt.datetime.fromisoformat(i["added_at"]),
            i["added_by"]["id"], None, "track") for n, i in enumerate(page["items"])])
    assert rows == expected


def test_tracks_keep_the_ids_names_durations_and_albums_of_every_track_object(real):
    tracks = {t["track_id"]: t for t in real["silver"]["tracks"]}
    expected = {}
    for album in real["api"]["albums_several"]["albums"]:
        for t in album["tracks"]["items"]:
            expected[t["id"]] = (t["name"], t["duration_ms"], album["id"], t["artists"][0]["id"])
    full = ([i["item"] for i in real["api"]["playlist"]["items"]["items"]]
            + [i["track"] for i in real["api"]["playlist_tracks_page"]["items"]]
            + [i["track"] for i in real["api"]["recently_played"]["items"]])
    for t in full:
        expected[t["id"]] = (t["name"], t["duration_ms"], t["album"]["id"], t["artists"][0]["id"])
    assert {k: (t["name"], t["duration_ms"], t["album_id"], t["artist_id"]) for k, t in tracks.items()} == expected
    for t in full:
        assert (tracks[t["id"]]["isrc"], tracks[t["id"]]["explicit"]) == (t["external_ids"].get("isrc"), t["explicit"])
        assert tracks[t["id"]]["artist_ids"] == [a["id"] for a in t["artists"]]


def test_artists_keep_the_full_objects_and_every_artist_a_track_or_album_names(real):
    artists = {a["artist_id"]: a for a in real["silver"]["artists"]}
    for artist in real["api"]["artists_several"]["artists"]:
        assert {k: artists[artist["id"]][k] for k in ("name", "genres", "popularity", "followers")} == {
            "name": artist["name"], "genres": artist["genres"], "popularity": artist["popularity"],
            "followers": artist["followers"]["total"]}
    named = {}
    tracks = ([i["item"] for i in real["api"]["playlist"]["items"]["items"]]
              + [i["track"] for i in real["api"]["playlist_tracks_page"]["items"]]
              + [i["track"] for i in real["api"]["recently_played"]["items"]])
    albums = real["api"]["albums_several"]["albums"]
    for obj in [*tracks, *(t["album"] for t in tracks), *albums, *(t for a in albums for t in a["tracks"]["items"])]:
        named.update({a["id"]: a["name"] for a in obj["artists"]})
    named.update({a["id"]: a["name"] for a in real["api"]["artists_several"]["artists"]})
    assert {k: a["name"] for k, a in artists.items()} == named


def test_albums_keep_names_and_read_release_dates_by_their_precision(real):
    albums = {a["album_id"]: a for a in real["silver"]["albums"]}
    sources = [t["album"] for t in [i["item"] for i in real["api"]["playlist"]["items"]["items"]]
               + [i["track"] for i in real["api"]["playlist_tracks_page"]["items"]]
               + [i["track"] for i in real["api"]["recently_played"]["items"]]]
    full = real["api"]["albums_several"]["albums"]
    expected = {a["id"]: a for a in sources} | {a["id"]: a for a in full}  # a full object wins
    assert set(albums) == set(expected)
    for album_id, a in expected.items():
        day = dt.date.fromisoformat({"year": f"{a['release_date']}-01-01", "month": f"{a['release_date']}-01",
                                     "day": a["release_date"]}[a["release_date_precision"]])
        got = albums[album_id]
        assert (got["name"], got["album_type"], got["release_date"], got["release_date_precision"],
                got["release_year"], got["total_tracks"], got["artist_id"]) == (
            a["name"], a["album_type"], day, a["release_date_precision"], day.year, a["total_tracks"],
            a["artists"][0]["id"])
    for a in full:
        assert (albums[a["id"]]["label"], albums[a["id"]]["popularity"]) == (a["label"], a["popularity"])
