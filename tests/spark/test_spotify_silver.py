"""The Spotify silver job: each pure function on hand-made bronze rows with hand-computed results, then
``main`` on tiny lakes (no bronze at all; exports dropped again and overlapping)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from deltalake import DeltaTable
from pyspark.sql import types as T

from pulse.spotify_exports import ingest_exports
from spark_jobs.common.silver import type_payloads, valid_rows
from spark_jobs.spotify import silver
from spark_jobs.spotify.schemas import (
    ALBUM_PAYLOAD,
    ALBUMS,
    ARTIST_PAYLOAD,
    ARTISTS,
    PLAYLIST_ITEM_PAYLOAD,
    PLAYS,
    SILVER_DATASETS,
    TRACK_PAYLOAD,
    TRACKS,
)
from tests.builders.logs import captured_messages

pytestmark = pytest.mark.spark

UTC = dt.UTC
RUN = dt.date(2026, 3, 1)
PERSONAL = {"username": "ana.personal.name", "ip_addr_decrypted": "198.51.100.23",
            "user_agent_decrypted": "Mozilla/5.0 (personal agent)"}


def at(text: str) -> dt.datetime:
    """A UTC moment as Spark hands it back (naive, in the session's UTC)."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)


def bronze(spark, dataset: str, payloads: list, listener: str | None = None, export_id: str | None = None,
           run_date: dt.date | None = RUN, request_url: str = "inbox", page: int = 1, first_index: int = 0):
    rows = [(dataset, listener, export_id, run_date, page, first_index + i, request_url,
             dt.datetime(2026, 3, 1, tzinfo=UTC), p if isinstance(p, str) else json.dumps(p))
            for i, p in enumerate(payloads)]
    schema = ("bronze_dataset string, listener string, export_id string, run_date date, page int, "
              "record_index long, request_url string, ingested_at timestamp, payload string")
    return spark.createDataFrame(rows, schema)


def classic(end: str, artist: str, track: str, ms: int) -> dict:
    return {"endTime": end, "artistName": artist, "trackName": track, "msPlayed": ms}


def extended(ts: str, ms: int, track: str | None = "Moments", artist: str | None = "MitiS",
             uri: str | None = "spotify:track:2QWGkc7Tnz6672asv4BtLi", legacy: bool = False, **extra) -> dict:
    row = {"ts": ts, "platform": "android", "ms_played": ms, "conn_country": "IN",
           "master_metadata_track_name": track, "master_metadata_album_artist_name": artist,
           "master_metadata_album_album_name": "'Til the End" if track else None, "spotify_track_uri": uri,
           "episode_name": None, "episode_show_name": None, "spotify_episode_uri": None,
           "reason_start": "playbtn", "reason_end": "trackdone", "shuffle": True, "skipped": False,
           "offline": False, "offline_timestamp": 1722558601, "incognito_mode": False}
    if legacy:
        row.update(PERSONAL)
    else:
        row.update({"ip_addr": "203.0.113.99", "audiobook_title": None, "audiobook_uri": None,
                    "audiobook_chapter_uri": None, "audiobook_chapter_title": None})
    row.update(extra)
    return row


def api_play(played_at: str, track_id: str = "3ZL9gPzeCnKG9l5SB1SlcZ", name: str = "All I Need",
             artist: str = "Maribou State", duration: int = 227934) -> dict:
    return {"played_at": played_at, "context": {"type": "album", "uri": "spotify:album:7cynQpUNbqg7ZqYQu11Yng"},
            "track": {"id": track_id, "name": name, "type": "track", "duration_ms": duration,
                      "album": {"id": "7cynQpUNbqg7ZqYQu11Yng", "name": "All I Need"},
                      "artists": [{"id": "7zrkALJ9ayRjzysp4QYoEg", "name": artist}]}}


def plays_of(spark, *deliveries: tuple[str, str | None, list]):
    """Normalised plays (not keyed) of hand-made deliveries ``(listener, export id, rows)``: an export's rows
    (any format), or the API's plays when the export id is None; typed and normalised as the job does."""
    def frame(dataset: str, wanted: list, run_date) -> object:
        frames = [bronze(spark, dataset, rows, listener, export_id, run_date) for listener, export_id, rows in wanted]
        out = frames[0] if frames else bronze(spark, dataset, [])
        for f in frames[1:]:
            out = out.unionByName(f)
        return out

    exports = [d for d in deliveries if d[1] is not None]
    api = [d for d in deliveries if d[1] is None]
    parts = silver.play_parts({"history": frame("history", exports, None),
                                 "recently_played": frame("recently_played", api, RUN)})
    plays = [part.normalise(valid_rows(part.typed)) for part in parts]
    return plays[0].unionByName(plays[1]).unionByName(plays[2])


def by(rows, column: str) -> dict:
    return {r[column]: r for r in rows}


# --- plays: the three export formats and the API ------------------------------------------------------

def test_the_format_of_an_export_row_is_told_by_its_fields(spark):
    rows = bronze(spark, "history", [classic("2024-01-01 10:00", "A", "a", 1), extended("2024-01-01T10:00:00Z", 1),
                                     extended("2021-01-01T10:00:00Z", 1, legacy=True), "[1, 2]"], "ana", "e1", None)
    formats = [r["source_format"] for r in silver.history_rows(rows).orderBy("record_index").collect()]
    assert formats == ["classic", "extended", "extended_legacy", None]


# Hand-made rows of every kind, normalised once for the tests below (each is told apart by its ms_played).
CLASSIC_ROWS = [
    classic("2020-01-16 03:13", "Esteman", "Caótica Belleza", 237866),
    classic("2024-04-17 09:32", "Unknown Artist", "Unknown Track", 5000),
    classic("2024-04-17 09:33", "C. Tangana", "Los Tontos", 0),
    {"endTime": "2024-04-18 07:00", "podcastName": "The Daily", "episodeName": "Monday", "msPlayed": 61000},
]
EXTENDED_ROWS = [
    extended("2024-08-02T11:56:55Z", 11677, skipped=True),
    extended("2021-09-21T19:38:59Z", 1, legacy=True, offline_timestamp=1632253124315),
    extended("2021-09-21T19:40:00Z", 2, legacy=True, offline_timestamp=0, reason_start=""),
    extended("2026-01-01T10:00:00Z", 3, track=None, artist=None, uri=None, episode_name="Ep 1",
             episode_show_name="Show", spotify_episode_uri="spotify:episode:5Jq1K8ZSbIYbnEFXSmHmd7"),
    extended("2026-01-01T11:00:00Z", 4, track=None, artist=None, uri=None, audiobook_title="Dune",
             audiobook_chapter_title="Chapter 1", audiobook_uri="spotify:show:x"),
    extended("2026-01-01T12:00:00Z", 5, track=None, artist=None, uri=None),
]
API_ROWS = [api_play("2026-02-25T14:06:10.058Z"), api_play("2026-02-25T14:06:10.058Z")]  # one play, re-delivered


@pytest.fixture(scope="module")
def plays(spark) -> dict:
    """The normalised plays of the rows above, by ms_played."""
    return by(plays_of(spark, ("ana", "e1", CLASSIC_ROWS + EXTENDED_ROWS), ("ana", None, API_ROWS)).collect(),
              "ms_played")


def test_a_classic_row_is_a_play_that_ended_in_that_utc_minute(plays):
    play = plays[237866]
    assert (play["listener"], play["ended_at"], play["ended_at_precision"]) == ("ana", at("2020-01-16T03:13:00Z"),
                                                                               "minute")
    assert play["started_at"] == at("2020-01-16T03:13:00Z") - dt.timedelta(milliseconds=237866)
    assert (play["content_kind"], play["track_name"], play["artist_name"]) == ("track", "Caótica Belleza", "Esteman")
    assert (play["is_stream"], play["source_format"], play["export_id"]) == (True, "classic", "e1")
    assert play["track_id"] is None and play["platform"] is None


def test_classic_placeholders_are_unknown_plays_and_zero_ms_plays_are_kept(plays):
    assert (plays[5000]["content_kind"], plays[5000]["artist_name"], plays[5000]["track_name"]) == (
        "unknown", "Unknown Artist", "Unknown Track")  # the names kept as the export says
    assert (plays[0]["content_kind"], plays[0]["track_name"], plays[0]["is_stream"]) == ("track", "Los Tontos", False)


def test_the_classic_podcast_file_gives_episode_plays(plays):
    play = plays[61000]
    assert (play["content_kind"], play["episode_name"], play["show_name"], play["track_name"]) == (
        "episode", "Monday", "The Daily", None)


def test_an_extended_row_keeps_its_ids_flags_and_offline_moment_in_seconds(plays):
    play = plays[11677]
    assert (play["ended_at"], play["ended_at_precision"]) == (at("2024-08-02T11:56:55Z"), "second")
    assert (play["track_id"], play["album_name"], play["content_kind"]) == ("2QWGkc7Tnz6672asv4BtLi",
                                                                          "'Til the End", "track")
    assert (play["platform"], play["conn_country"], play["reason_start"], play["reason_end"]) == (
        "android", "IN", "playbtn", "trackdone")
    assert (play["shuffle"], play["skipped"], play["offline"], play["incognito_mode"]) == (True, True, False, False)
    assert play["offline_at"] == at("2024-08-02T00:30:01Z")  # 1722558601 s
    assert (play["is_stream"], play["source_format"]) == (False, "extended")


def test_offline_timestamp_is_read_as_ms_or_s_by_its_magnitude_and_zero_is_none(plays):
    assert plays[1]["offline_at"] == at("2021-09-21T19:38:44.315Z")
    assert plays[1]["source_format"] == "extended_legacy"
    assert plays[2]["offline_at"] is None
    assert plays[2]["reason_start"] is None  # "" in the legacy file: not a reason


def test_podcast_audiobook_and_unidentified_extended_rows(plays):
    assert (plays[3]["content_kind"], plays[3]["episode_name"], plays[3]["show_name"], plays[3]["episode_id"],
            plays[3]["track_name"]) == ("episode", "Ep 1", "Show", "5Jq1K8ZSbIYbnEFXSmHmd7", None)
    assert (plays[4]["content_kind"], plays[4]["audiobook_title"], plays[4]["audiobook_chapter_title"]) == (
        "audiobook", "Dune", "Chapter 1")
    assert plays[5]["content_kind"] == "unknown"


def test_an_api_play_ended_at_played_at_and_its_ms_played_is_the_track_duration(plays):
    assert [p["source_format"] for p in plays.values()].count("api_recently_played") == 1  # re-delivery dropped
    play = plays[227934]
    assert (play["ended_at"], play["ended_at_precision"]) == (at("2026-02-25T14:06:10.058Z"), "millisecond")
    assert play["started_at"] == at("2026-02-25T14:06:10.058Z") - dt.timedelta(milliseconds=227934)
    assert play["is_stream"] is True
    assert (play["track_id"], play["track_name"], play["artist_name"], play["album_name"]) == (
        "3ZL9gPzeCnKG9l5SB1SlcZ", "All I Need", "Maribou State", "All I Need")
    assert (play["context_uri"], play["source_format"], play["export_id"]) == (
        "spotify:album:7cynQpUNbqg7ZqYQu11Yng", "api_recently_played", None)


def test_bad_export_rows_are_quarantined_with_their_reason_and_without_personal_fields(spark):
    rows = [classic("yesterday", "A", "a", 1), classic("2024-01-01 10:00", "A", "a", -5),
            extended("2024-01-01T10:00:00Z", "lots"), extended("not a time", 1, legacy=True),
            '{"username": "ana.personal.name", broken']
    frames = {"history": bronze(spark, "history", rows, "ana", "e1", None),
              "recently_played": bronze(spark, "recently_played", [], "ana")}
    classic_part, extended_part, _ = silver.play_parts(frames)
    typed = classic_part.typed.select("record_index", "reason", "payload").unionByName(
        extended_part.typed.select("record_index", "reason", "payload"))
    rejected = [(r["reason"], r["payload"]) for r in typed.orderBy("record_index").collect()]

    assert [reason for reason, _ in rejected] == [
        "endTime is not a timestamp: 'yesterday'", "msPlayed below 0: -5", "ms_played is not an integer: 'lots'",
        "ts is not a timestamp: 'not a time'", "payload is not a JSON object"]
    assert json.loads(rejected[0][1]) == rows[0]
    assert json.loads(rejected[3][1]) == {k: v for k, v in rows[3].items() if k not in PERSONAL}
    assert rejected[4][1] == silver.WITHHELD


# --- the play key ------------------------------------------------------------------------------------

def key_of(listener: str, minute: str, artist: str, title: str, n: int) -> str:
    text = json.dumps([listener, minute, artist, title, str(n)], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def play(listener: str, ended_at: str, ms: int | None, artist: str, track: str, export_id: str | None,
         source_format: str = "classic", **columns) -> dict:
    """A normalised play (the PLAYS columns, ``run_date`` and ``record_index``), as the normalisers give it."""
    return {**{c: None for c in PLAYS.columns}, "listener": listener, "ended_at": at(ended_at), "ms_played": ms,
            "artist_name": artist, "track_name": track, "content_kind": "track", "export_id": export_id,
            "source_format": source_format, "run_date": None if export_id else RUN, "record_index": 0, **columns}


@pytest.fixture(scope="module")
def keyed(spark) -> dict[str, list]:
    """Keyed plays and silver plays of several scenarios, one listener each."""
    plays = [
        # three plays of one track ending in the same minute, in one export
        *[play("karol", "2020-01-24T23:31:00Z", ms, "KAROL G", "Tusa", "k1", record_index=n)
          for n, ms in enumerate((491, 200960, 0))],
        # one play in a classic export, an extended export and the API; and another listener's
        play("ana", "2026-02-25T14:06:00Z", 227000, "Maribou State", "All I Need", "c1"),
        play("ana", "2026-02-25T14:06:09Z", 227100, "  MARIBOU STATE", "all i need", "x1", "extended"),
        play("ana", "2026-02-25T14:06:10.058Z", 227934, "Maribou State", "All I Need", None, "api_recently_played"),
        play("ben", "2026-02-25T14:06:00Z", 227000, "Maribou State", "All I Need", "c1"),
        # a play in an export and the API
        play("win", "2026-02-25T14:06:00Z", 200000, "Maribou State", "All I Need", "c1"),
        play("win", "2026-02-25T14:06:10.058Z", 227934, "Maribou State", "All I Need", None, "api_recently_played",
             track_id="3ZL9gPzeCnKG9l5SB1SlcZ", album_name="All I Need",
             context_uri="spotify:album:7cynQpUNbqg7ZqYQu11Yng"),
        # two overlapping exports: "0000" holds the latest play
        play("new", "2024-05-01T10:00:00Z", 1000, "A", "a", "ffff", record_index=0),
        play("new", "2024-05-01T10:05:00Z", 2000, "B", "b", "ffff", record_index=1),
        play("new", "2024-05-01T10:05:00Z", 2001, "B", "b", "0000", record_index=0),
        play("new", "2024-06-01T09:00:00Z", 3000, "C", "c", "0000", record_index=1),
    ]
    schema = T.StructType([*PLAYS.schema.fields, T.StructField("run_date", T.DateType()),
                           T.StructField("record_index", T.LongType())])
    frame = silver.with_play_facts(spark.createDataFrame([tuple(p[f.name] for f in schema.fields) for p in plays],
                                                         schema))
    with_keys = silver.with_play_keys(frame).cache()
    result = {"keyed": with_keys.collect(), "silver": silver.silver_plays(with_keys).collect()}
    with_keys.unpersist()
    return result


def test_same_minute_repeats_of_a_track_in_one_export_are_different_plays(keyed):
    keys = {r["ms_played"]: r["play_key"] for r in keyed["keyed"] if r["listener"] == "karol"}
    assert keys == {200960: key_of("karol", "2020-01-24T23:31", "karol g", "tusa", 0),
                    491: key_of("karol", "2020-01-24T23:31", "karol g", "tusa", 1),
                    0: key_of("karol", "2020-01-24T23:31", "karol g", "tusa", 2)}
    assert len([r for r in keyed["silver"] if r["listener"] == "karol"]) == 3


def test_the_same_play_has_one_key_across_formats_exports_and_the_api_but_not_across_listeners(keyed):
    keys = {(r["listener"], r["source_format"]): r["play_key"] for r in keyed["keyed"]}
    same = key_of("ana", "2026-02-25T14:06", "maribou state", "all i need", 0)
    assert keys[("ana", "classic")] == keys[("ana", "extended")] == keys[("ana", "api_recently_played")] == same
    assert keys[("ben", "classic")] != same


def test_an_export_row_wins_over_the_api_and_takes_what_only_the_api_knows(keyed):
    [play] = [r for r in keyed["silver"] if r["listener"] == "win"]
    assert (play["source_format"], play["export_id"], play["ms_played"], play["ended_at"]) == (
        "classic", "c1", 200000, at("2026-02-25T14:06:00Z"))
    assert (play["track_id"], play["album_name"], play["context_uri"]) == (
        "3ZL9gPzeCnKG9l5SB1SlcZ", "All I Need", "spotify:album:7cynQpUNbqg7ZqYQu11Yng")
    assert play["is_stream"] is True and play["started_at"] == at("2026-02-25T14:02:40Z")


def test_between_exports_the_newest_exports_row_is_kept(keyed):
    plays = [r for r in keyed["silver"] if r["listener"] == "new"]
    assert sorted((p["track_name"], p["ms_played"], p["export_id"]) for p in plays) == [
        ("a", 1000, "ffff"), ("b", 2001, "0000"), ("c", 3000, "0000")]


# --- catalogue ---------------------------------------------------------------------------------------

TRACK = {"id": "6hgoYQDUcPyCz7LcTUHKxa", "name": "Calm Down", "type": "track", "duration_ms": 219813,
         "popularity": 84, "explicit": False, "disc_number": 1, "track_number": 1, "is_local": False,
         "external_ids": {"isrc": "NGA3B2214004"},
         "album": {"id": "37iaWiKMa9YBbEDlw5c3Qh", "name": "Calm Down", "album_type": "single",
                   "release_date": "2022-02", "release_date_precision": "month", "total_tracks": 2,
                   "artists": [{"id": "46pWGuE3dSwY3bMMXGBvVS", "name": "Rema"}]},
         "artists": [{"id": "46pWGuE3dSwY3bMMXGBvVS", "name": "Rema"}, {"id": "0C8ZW7ezQVs4URX5aX7Kqx",
                                                                        "name": "Selena Gomez"}]}
EPISODE = {"id": "512ojhOuo1ktJprKbVcKyQ", "name": "An episode", "type": "episode", "duration_ms": 1000}
LOCAL = {"id": None, "name": "my mp3", "type": "track", "is_local": True, "duration_ms": 1000}
ALBUM = {"id": "2noRn2Aes5aoNVsU6iWThc", "name": "Discovery", "album_type": "album", "release_date": "2001",
         "release_date_precision": "year", "total_tracks": 14, "label": "Daft Life", "popularity": 77,
         "genres": [], "artists": [{"id": "4tZwfgrHOc3mvqYlEYSvVi", "name": "Daft Punk"}],
         "tracks": {"items": [{"id": "0DiWol3AO6WpXZgp0goxAV", "name": "One More Time", "type": "track",
                               "duration_ms": 320357, "disc_number": 1, "track_number": 1,
                               "artists": [{"id": "4tZwfgrHOc3mvqYlEYSvVi", "name": "Daft Punk"}]}]}}


FULL_REMA = {"id": "46pWGuE3dSwY3bMMXGBvVS", "name": "Rema", "genres": ["afrobeats"], "popularity": 80,
             "followers": {"href": None, "total": 5000000}}
# Albums whose release dates have each precision (no track pages of their own).
DATED_ALBUMS = [{**ALBUM, "id": album_id, "release_date": date, "release_date_precision": precision,
                 "tracks": {"items": []}}
                for album_id, date, precision in (("by_length", "1999-07", None), ("day", "2011-01-01", "day"),
                                                  ("unknown_year", "0000", "year"))]


def catalogue(spark, items=(), plays=(), albums=(), artists=()):
    items_url = "https://api.spotify.com/v1/playlists/pl1/items?limit=50"
    frames = {"playlist_items": bronze(spark, "playlist_items", list(items), request_url=items_url),
              "recently_played": bronze(spark, "recently_played", list(plays), "ana"),
              "albums": bronze(spark, "albums", list(albums)), "artists": bronze(spark, "artists", list(artists))}
    tracks = silver.track_objects(frames["playlist_items"], frames["recently_played"], frames["albums"])
    return frames, tracks


@pytest.fixture(scope="module")
def catalogue_silver(spark) -> dict[str, dict]:
    """Silver tracks, artists and albums (by id) of playlist items old and new, a play and albums."""
    items = [{"added_at": "2022-07-15T19:37:22Z", "item": TRACK, "track": TRACK},
             {"added_at": "2022-07-15T19:37:22Z", "track": {**TRACK, "id": "older0000000000000000a"}},
             {"track": EPISODE}, {"track": LOCAL}, {"track": None}]
    frames, tracks = catalogue(spark, items=items, plays=[api_play("2026-02-25T14:06:10.058Z")],
                               albums=[ALBUM, *DATED_ALBUMS], artists=[FULL_REMA])
    albums = silver.album_objects(frames["albums"], tracks)
    built = {
        "tracks": (silver.track_fields(tracks), TRACK_PAYLOAD, silver.normalise_tracks, TRACKS),
        "artists": (silver.artist_fields(silver.artist_objects(frames["artists"], tracks, albums)), ARTIST_PAYLOAD,
                    silver.normalise_artists, ARTISTS),
        "albums": (silver.album_fields(albums), ALBUM_PAYLOAD, silver.normalise_albums, ALBUMS),
    }
    return {name: by(silver.silver_catalogue(dataset)(normalise(valid_rows(type_payloads(fields, payload, "_flat"))))
                     .collect(), dataset.key[0])
            for name, (fields, payload, normalise, dataset) in built.items()}


def test_track_objects_come_from_2026_and_older_playlist_items_plays_and_album_pages(catalogue_silver):
    rows = catalogue_silver["tracks"]
    assert sorted(rows) == ["0DiWol3AO6WpXZgp0goxAV", "3ZL9gPzeCnKG9l5SB1SlcZ", "6hgoYQDUcPyCz7LcTUHKxa",
                            "older0000000000000000a"]  # no episode, no local file
    calm = rows["6hgoYQDUcPyCz7LcTUHKxa"]
    assert (calm["name"], calm["duration_ms"], calm["popularity"], calm["explicit"], calm["isrc"]) == (
        "Calm Down", 219813, 84, False, "NGA3B2214004")
    assert (calm["album_id"], calm["artist_id"], calm["artist_name"], calm["artist_ids"]) == (
        "37iaWiKMa9YBbEDlw5c3Qh", "46pWGuE3dSwY3bMMXGBvVS", "Rema",
        ["46pWGuE3dSwY3bMMXGBvVS", "0C8ZW7ezQVs4URX5aX7Kqx"])
    one_more = rows["0DiWol3AO6WpXZgp0goxAV"]  # simplified, on Discovery's track page
    assert (one_more["album_id"], one_more["album_name"], one_more["duration_ms"], one_more["popularity"],
            one_more["isrc"]) == ("2noRn2Aes5aoNVsU6iWThc", "Discovery", 320357, None, None)


def test_a_full_artist_object_wins_and_artists_only_mentioned_keep_their_id_and_name(catalogue_silver):
    rows = catalogue_silver["artists"]
    assert {k: rows["46pWGuE3dSwY3bMMXGBvVS"][k] for k in ("name", "genres", "popularity", "followers")} == {
        "name": "Rema", "genres": ["afrobeats"], "popularity": 80, "followers": 5000000}
    selena = rows["0C8ZW7ezQVs4URX5aX7Kqx"]
    assert (selena["name"], selena["genres"], selena["popularity"], selena["followers"]) == (
        "Selena Gomez", None, None, None)
    assert rows["4tZwfgrHOc3mvqYlEYSvVi"]["name"] == "Daft Punk"


def test_an_albums_release_date_is_the_first_day_its_precision_names(catalogue_silver):
    dates = {album_id: (r["release_date"], r["release_date_precision"], r["release_year"])
             for album_id, r in catalogue_silver["albums"].items()}
    assert dates == {
        "2noRn2Aes5aoNVsU6iWThc": (dt.date(2001, 1, 1), "year", 2001),
        "37iaWiKMa9YBbEDlw5c3Qh": (dt.date(2022, 2, 1), "month", 2022),  # the simplified album on a track
        "by_length": (dt.date(1999, 7, 1), "month", 1999),  # no precision: told by the length
        "day": (dt.date(2011, 1, 1), "day", 2011),
        "unknown_year": (None, "year", None),  # Spotify's "0000": a year nobody knows
        "7cynQpUNbqg7ZqYQu11Yng": (None, None, None),  # the play's track names its album by id and name only
    }
    discovery = catalogue_silver["albums"]["2noRn2Aes5aoNVsU6iWThc"]
    assert (discovery["label"], discovery["popularity"], discovery["artist_name"], discovery["total_tracks"]) == (
        "Daft Life", 77, "Daft Punk", 14)


def test_an_album_whose_date_does_not_match_its_precision_is_quarantined_and_deprecated_fields_may_be_missing(
        spark):
    bad = {**ALBUM, "release_date": "2001-05", "release_date_precision": "day"}
    bare = {k: v for k, v in ALBUM.items() if k not in ("popularity", "label", "genres")} | {"id": "x"}
    frames, tracks = catalogue(spark, albums=[bad, bare])
    typed = type_payloads(silver.album_fields(silver.album_objects(frames["albums"], tracks)), ALBUM_PAYLOAD, "_flat")
    reasons = {r["album_id"]: r["reason"] for r in typed.collect()}

    assert reasons == {"2noRn2Aes5aoNVsU6iWThc": "release_date does not match its precision "
                                                 "(release_date=2001-05, release_date_precision=day)",
                       "x": None}


# --- playlists ---------------------------------------------------------------------------------------

def playlist_items(spark, playlist: str, tracks: list[str], run_date=RUN, page_size: int = 2, path: str = "items"):
    """A crawl's bronze rows of one playlist: pages of ``page_size`` items, the first page without an offset."""
    frames, index = [], 0
    for page, start in enumerate(range(0, len(tracks), page_size), start=1):
        offset = "" if start == 0 else f"offset={start}&"
        url = f"https://api.spotify.com/v1/playlists/{playlist}/{path}?{offset}limit={page_size}"
        items = [{"added_at": "2025-07-29T21:11:55Z", "added_by": {"id": "joost"}, "is_local": False,
                  "item": {"id": t, "type": "track"}, "track": {"id": t, "type": "track"}}
                 for t in tracks[start:start + page_size]]
        frames.append(bronze(spark, "playlist_items", items, run_date=run_date, request_url=url, page=page,
                             first_index=index + 7))
        index += len(items) + 7
    frame = frames[0]
    for f in frames[1:]:
        frame = frame.unionByName(f)
    return frame


@pytest.fixture(scope="module")
def items(spark) -> dict[str, list]:
    """Typed playlist items, by playlist: pl1 read in pages of two, p with an episode, a local file and a gone item."""
    odd = bronze(spark, "playlist_items", [{"track": EPISODE}, {"is_local": True, "track": LOCAL}, {"track": None}],
                 request_url="https://api.spotify.com/v1/playlists/p/items", page=9, first_index=100)
    frame = playlist_items(spark, "pl1", ["t0", "t1", "t2", "t3", "t4"]).unionByName(odd)
    typed = type_payloads(silver.playlist_item_fields(frame), PLAYLIST_ITEM_PAYLOAD, "_flat")
    rows: dict[str, list] = {}
    for r in typed.orderBy("position").collect():
        rows.setdefault(r["playlist_id"], []).append(r)
    return rows


def test_a_playlist_items_position_is_its_pages_offset_plus_its_place_in_the_page(items):
    rows = [(r["position"], r["track_id"], r["added_by"], r["item_type"], r["reason"]) for r in items["pl1"]]
    assert rows == [(n, f"t{n}", "joost", "track", None) for n in range(5)]


def test_episodes_local_files_and_gone_items_in_a_playlist_say_what_they_are(items):
    rows = [(r["position"], r["item_type"], r["track_id"], r["is_local"]) for r in items["p"]]
    assert rows == [(0, "episode", None, None), (1, "local", None, True), (2, None, None, None)]


def test_playlist_tracks_are_the_playlists_latest_snapshot_with_its_name(spark):
    before = playlist_items(spark, "pl1", ["a", "b", "c"], run_date=dt.date(2026, 3, 1))
    after = playlist_items(spark, "pl1", ["c", "a"], run_date=dt.date(2026, 3, 2), path="tracks")
    names = silver.playlist_names(bronze(spark, "playlists", [{"id": "pl1", "name": "Old name"}],
                                         run_date=dt.date(2026, 3, 1)).unionByName(
        bronze(spark, "playlists", [{"id": "pl1", "name": "To find"}], run_date=dt.date(2026, 3, 2))))
    typed = type_payloads(silver.playlist_item_fields(before.unionByName(after)), PLAYLIST_ITEM_PAYLOAD, "_flat")
    rows = silver.silver_playlist_tracks(valid_rows(typed), names).orderBy("position").collect()

    assert [(r["playlist_name"], r["position"], r["track_id"]) for r in rows] == [("To find", 0, "c"),
                                                                                 ("To find", 1, "a")]


# --- main on tiny lakes ------------------------------------------------------------------------------

def run_silver(lake: Path) -> None:
    silver.main(["--lake-root", str(lake), "--run-date", "2026-03-01", "--source", "spotify"])


def read(lake: Path, dataset: str) -> list[dict]:
    return DeltaTable(str(lake / "silver" / "spotify" / dataset)).to_pyarrow_table().to_pylist()


EXPORT_A = [classic("2024-05-01 10:00", "A", "a", 1000), classic("2024-05-01 10:00", "A", "a", 200000),
            classic("2024-05-02 11:00", "Unknown Artist", "Unknown Track", 0),
            classic("2024-05-03 12:00", "B", "b", 31000)]
EXPORT_B = [classic("2024-05-02 11:00", "Unknown Artist", "Unknown Track", 0),  # overlaps A from here
            classic("2024-05-03 12:00", "B", "b", 31000), classic("2024-05-04 13:00", "C", "c", 40000)]
LEGACY = [extended("2021-09-21T19:38:59Z", 14450, legacy=True), extended("not a time", 1, legacy=True)]


def test_exports_alone_give_plays_and_every_other_dataset_empty(exports_lake):
    lake, log_text = exports_lake
    for name, dataset in SILVER_DATASETS.items():
        table = DeltaTable(str(lake / "silver" / "spotify" / name)).to_pyarrow_table()
        assert table.column_names == dataset.columns
        assert (table.num_rows > 0) == (name == "plays"), name
        assert (lake / "silver" / "spotify" / "_quarantine" / name).is_dir()
    assert "no Spotify bronze recently_played" in log_text and "no Spotify bronze albums" in log_text
    formats = {p["ms_played"]: p["source_format"] for p in read(lake, "plays")}
    assert formats[200000] == "classic"  # dropped as endsong_0.json: told by its fields


@pytest.fixture(scope="module")
def exports_lake(spark, tmp_path_factory) -> tuple[Path, str]:
    """A lake fed by exports only (export A, classic named endsong_0.json, and a legacy one with a bad row),
    its silver built once; with what silver logged."""
    inbox, lake = tmp_path_factory.mktemp("inbox"), tmp_path_factory.mktemp("lake")
    (inbox / "ana").mkdir()
    (inbox / "ana" / "endsong_0.json").write_text(json.dumps(EXPORT_A))
    (inbox / "ana" / "legacy.json").write_text(json.dumps(LEGACY))
    ingest_exports(inbox, lake)
    with captured_messages("pulse.spotify.silver") as lines:
        run_silver(lake)
    return lake, "\n".join(lines)


def test_dropping_an_export_again_under_any_name_or_an_overlapping_one_changes_no_play(exports_lake, tmp_path):
    lake, _ = exports_lake
    inbox = tmp_path / "inbox"
    first = {p["play_key"]: p for p in read(lake, "plays")}

    (inbox / "ana").mkdir(parents=True)
    (inbox / "ana" / "endsong_0.json").write_text(json.dumps(EXPORT_A))
    (inbox / "ana" / "StreamingHistory_music_0.json").write_text(json.dumps(EXPORT_A))
    (inbox / "ana" / "StreamingHistory_music_1.json").write_text(json.dumps(EXPORT_B))
    assert ingest_exports(inbox, lake)["files_ingested"] == 1  # only B is new
    run_silver(lake)
    second = {p["play_key"]: p for p in read(lake, "plays")}

    # A play both exports hold may now be the newer export's copy: the same play, unchanged in meaning.
    meaning = ("listener", "ended_at", "ms_played", "content_kind", "track_name", "artist_name", "is_stream")
    assert {k: tuple(p[c] for c in meaning) for k, p in second.items() if k in first} == {
        k: tuple(p[c] for c in meaning) for k, p in first.items()}
    added = [p for k, p in second.items() if k not in first]
    assert [(p["track_name"], p["ms_played"]) for p in added] == [("c", 40000)]
    assert sorted(p["ms_played"] for p in first.values() if p["source_format"] == "classic") == [
        0, 1000, 31000, 200000]

    # The second run is incremental: it read B alone, added its new play and took its (newer) copy of the two
    # plays both exports hold.
    counts = json.loads((lake / "silver" / "spotify" / "_counts.json").read_text())["plays"]
    assert counts == {"mode": "incremental", "bronze_rows": 3, "valid_rows": 3, "quarantined_rows": 0, "inserted": 1,
                      "updated": 2, "deleted": 0, "duplicates_dropped": 0, "silver_rows": 6, "reasons": {}}
    [rejected] = read(lake, "_quarantine/plays")
    assert (rejected["bronze_dataset"], rejected["listener"], rejected["reason"]) == (
        "history", "ana", "ts is not a timestamp: 'not a time'")
    for dataset in [*SILVER_DATASETS, "_quarantine/plays"]:
        rows = read(lake, dataset)
        text = json.dumps(rows, default=str)
        assert not any(value in text for value in PERSONAL.values()), dataset
        assert not {"username", "ip_addr", "ip_addr_decrypted", "user_agent_decrypted"} & set(
            DeltaTable(str(lake / "silver" / "spotify" / dataset)).to_pyarrow_table().schema.names)
