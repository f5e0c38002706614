"""The Spotify source's silver schemas, declared once.

Silver has one play-event table across every way a play reaches Pulse — the three streaming-history
export formats a listener downloads, and the Web API's recently played — plus the catalogue the Web
API describes (tracks, artists, albums, playlists and their tracks). The silver job types bronze into
these, the gold job and its tests build on them, and ``docs/architecture.md`` lists them.

Every play belongs to a listener (``inbox/<listener>/…`` for exports, the connection's ``listener``
for the API). Personal fields of the exports (``username``, ``ip_addr*``, ``user_agent*``) stay in
bronze: no silver schema has a place for them.
"""

from __future__ import annotations

from pyspark.sql import types as T

from spark_jobs.common.schemas import DT, TS, B, I, L, S, SilverDataset, fields
from spark_jobs.common.silver import Field, PayloadSchema, RowCheck

STRINGS = T.ArrayType(T.StringType())

# One row per play. ``play_key`` is stable across formats and re-deliveries: the same play in two
# exports, or in an export and the API, has the same key (see spark_jobs/spotify/silver.py, "The play
# key", and docs/spotify_metrics.md).
PLAYS = SilverDataset(
    "plays",
    key=("play_key",),
    schema=fields(
        ("play_key", S),
        ("listener", S),
        ("ended_at", TS),  # when playback stopped (UTC)
        ("ended_at_precision", S),  # "minute" (classic export), "second" (extended), "millisecond" (API)
        ("started_at", TS),  # ended_at - ms_played
        ("ms_played", L),
        ("content_kind", S),  # "track", "episode", "audiobook" or "unknown" (nothing identifies the item)
        ("track_name", S),
        ("artist_name", S),
        ("album_name", S),
        ("track_id", S),  # the base62 id of spotify:track:<id>, when the source says
        ("episode_name", S),
        ("show_name", S),
        ("episode_id", S),
        ("audiobook_title", S),
        ("audiobook_chapter_title", S),
        ("platform", S),
        ("conn_country", S),
        ("reason_start", S),
        ("reason_end", S),
        ("shuffle", B),
        ("skipped", B),
        ("offline", B),
        ("offline_at", TS),  # offline_timestamp, read as ms or s by its magnitude
        ("incognito_mode", B),
        ("is_stream", B),  # ms_played >= 30,000: a "stream" as Spotify counts royalties
        ("source_format", S),  # "classic", "extended_legacy", "extended", "api_recently_played"
        ("export_id", S),  # content hash of the export file; null for the API
        ("context_uri", S),  # the API's play context (playlist, album …), when given
    ),
)

TRACKS = SilverDataset(
    "tracks",
    key=("track_id",),
    schema=fields(
        ("track_id", S), ("name", S), ("duration_ms", L), ("popularity", I), ("explicit", B),
        ("album_id", S), ("album_name", S), ("artist_id", S), ("artist_name", S), ("artist_ids", STRINGS),
        ("disc_number", I), ("track_number", I), ("isrc", S),
    ),
)

ARTISTS = SilverDataset(
    "artists",
    key=("artist_id",),
    schema=fields(
        ("artist_id", S), ("name", S), ("genres", STRINGS), ("popularity", I), ("followers", L),
    ),
)

ALBUMS = SilverDataset(
    "albums",
    key=("album_id",),
    schema=fields(
        ("album_id", S), ("name", S), ("album_type", S), ("release_date", DT), ("release_date_precision", S),
        ("release_year", I), ("total_tracks", I), ("label", S), ("popularity", I), ("artist_id", S),
        ("artist_name", S),
    ),
)

PLAYLIST_TRACKS = SilverDataset(
    "playlist_tracks",
    key=("playlist_id", "position"),
    schema=fields(
        ("playlist_id", S), ("playlist_name", S), ("position", I), ("track_id", S), ("added_at", TS),
        ("added_by", S), ("is_local", B),
        ("item_type", S),  # "track", "episode", "local" (a local file: no id) or null (the item is gone)
    ),
)

SILVER_DATASETS: dict[str, SilverDataset] = {
    d.name: d for d in (PLAYS, TRACKS, ARTISTS, ALBUMS, PLAYLIST_TRACKS)
}

# --- Payloads: what silver reads from bronze (spark_jobs/spotify/silver.py) ----------------------------
#
# Each is typed by spark_jobs.common.silver.type_payloads; a row that breaks one is quarantined with the
# reason. Exports are typed as their rows are; the API's nested objects are first flattened by the silver
# job into the fields below (their names say where each comes from). Deprecated catalogue fields
# (popularity, genres, followers, label) are optional: 2026 responses may lack them.

CLASSIC_PLAY_PAYLOAD = PayloadSchema(
    fields=(
        Field("endTime", TS),  # "YYYY-MM-DD HH:MM", UTC
        Field("msPlayed", L, minimum=0),
        Field("artistName", S, required=False),
        Field("trackName", S, required=False),
        Field("podcastName", S, required=False),  # the classic podcast file (StreamingHistory_podcast_N)
        Field("episodeName", S, required=False),
    ),
)

EXTENDED_PLAY_PAYLOAD = PayloadSchema(  # extended and extended_legacy; the personal fields are not read
    fields=(
        Field("ts", TS),
        Field("ms_played", L, minimum=0),
        *(Field(name, S, required=False) for name in (
            "platform", "conn_country", "master_metadata_track_name", "master_metadata_album_artist_name",
            "master_metadata_album_album_name", "spotify_track_uri", "episode_name", "episode_show_name",
            "spotify_episode_uri", "audiobook_title", "audiobook_uri", "audiobook_chapter_uri",
            "audiobook_chapter_title", "reason_start", "reason_end")),
        *(Field(name, B, required=False) for name in ("shuffle", "skipped", "offline", "incognito_mode")),
        Field("offline_timestamp", L, required=False, minimum=0),  # ms or s by magnitude; 0: none
    ),
)

API_PLAY_PAYLOAD = PayloadSchema(  # a play history object of GET /me/player/recently-played
    fields=(
        Field("played_at", TS),
        Field("duration_ms", L, minimum=0),  # track.duration_ms: the API says nothing of ms played
        Field("item_id", S, required=False),  # track.id (null for a local file)
        Field("item_name", S, required=False),
        Field("item_type", S, required=False),
        Field("artist_name", S, required=False),  # track.artists[0].name
        Field("album_name", S, required=False),
        Field("context_uri", S, required=False),
    ),
)

TRACK_PAYLOAD = PayloadSchema(  # a track object (full, or simplified on an album's track page)
    fields=(
        Field("track_id", S),
        Field("name", S),
        Field("duration_ms", L, minimum=0),
        Field("popularity", I, required=False, minimum=0, maximum=100),
        Field("explicit", B, required=False),
        Field("disc_number", I, required=False, minimum=0),
        Field("track_number", I, required=False, minimum=0),
        Field("isrc", S, required=False),  # external_ids.isrc
        Field("album_id", S, required=False),  # album.id, or the album whose track page it is on
        Field("album_name", S, required=False),
        Field("artist_id", S, required=False),  # artists[0]
        Field("artist_name", S, required=False),
    ),
)

ARTIST_PAYLOAD = PayloadSchema(  # a full artist object, or a simplified one (id, name) on a track or album
    fields=(
        Field("artist_id", S),
        Field("name", S),
        Field("popularity", I, required=False, minimum=0, maximum=100),
        Field("followers", L, required=False, minimum=0),  # followers.total
    ),
)

# An album's release_date as the first day it names, by its precision ("year": "1981", "month":
# "1981-12", "day": "1981-12-15"; inferred from the length when the precision is missing). Spotify's
# placeholder "0000" (a year nobody knows) is no date rather than a bad one.
RELEASE_DAY_SQL = """CASE
  WHEN release_date IS NULL OR release_date = '0000' THEN NULL
  WHEN coalesce(release_date_precision, CASE length(release_date) WHEN 4 THEN 'year' WHEN 7 THEN 'month'
                WHEN 10 THEN 'day' END) = 'year' AND release_date RLIKE '^[0-9]{4}$'
    THEN try_to_date(concat(release_date, '-01-01'))
  WHEN coalesce(release_date_precision, CASE length(release_date) WHEN 4 THEN 'year' WHEN 7 THEN 'month'
                WHEN 10 THEN 'day' END) = 'month' AND release_date RLIKE '^[0-9]{4}-[0-9]{2}$'
    THEN try_to_date(concat(release_date, '-01'))
  WHEN coalesce(release_date_precision, CASE length(release_date) WHEN 4 THEN 'year' WHEN 7 THEN 'month'
                WHEN 10 THEN 'day' END) = 'day' AND release_date RLIKE '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'
    THEN try_to_date(release_date)
END"""

ALBUM_PAYLOAD = PayloadSchema(  # a full album object, or the simplified one on a track
    fields=(
        Field("album_id", S),
        Field("name", S),
        Field("album_type", S, required=False),
        Field("release_date", S, required=False),
        Field("release_date_precision", S, required=False),
        Field("total_tracks", I, required=False, minimum=0),
        Field("label", S, required=False),
        Field("popularity", I, required=False, minimum=0, maximum=100),
        Field("artist_id", S, required=False),  # artists[0]
        Field("artist_name", S, required=False),
    ),
    checks=(
        RowCheck("release_date does not match its precision",
                 holds=f"release_date IS NULL OR release_date = '0000' OR ({RELEASE_DAY_SQL}) IS NOT NULL",
                 shows=("release_date", "release_date_precision")),
    ),
)

PLAYLIST_ITEM_PAYLOAD = PayloadSchema(  # a playlist item, with what its page's request_url says
    fields=(
        Field("playlist_id", S),  # from request_url: /playlists/<id>/items (or /tracks)
        Field("position", I, minimum=0),  # the page's offset (request_url) + the item's place in the page
        Field("added_at", TS, required=False),
        Field("added_by", S, required=False),  # added_by.id
        Field("is_local", B, required=False),
        Field("track_id", S, required=False),  # (item or track).id of a track that is not a local file
        Field("item_type", S, required=False),
    ),
)

# A rejected bronze row (or object inside one) of a Spotify silver dataset, with where it came from.
# An export's row is kept without its personal fields.
QUARANTINE_SCHEMA = fields(
    ("dataset", S), ("bronze_dataset", S), ("listener", S), ("export_id", S), ("run_date", DT), ("page", I),
    ("record_index", L), ("request_url", S), ("ingested_at", TS), ("payload", S), ("reason", S), ("run_id", S),
)
