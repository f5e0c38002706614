"""Spotify silver: every bronze record of the Spotify source, typed, quarantined with reasons, deduplicated.

    spark-submit --py-files spark_jobs.zip spark_jobs/spotify/silver.py \\
        --lake-root <lake> --run-date <ds> --source spotify

Bronze comes two ways, either or both of which may be absent (a missing dataset reads as no rows, with a
log line): streaming-history exports a listener dropped (``history/listener=<l>/export=<id>/``, see
``pulse.spotify_exports``) and the Web API crawl (``recently_played/listener=<l>/run_date=<ds>/``,
``playlists``, ``playlist_items``, ``artists``, ``albums`` under ``run_date=<ds>/``, see
``pulse.spotify_client``). A daily run reads only the partitions committed since the last run and MERGEs
what they change (see "Incremental runs" below); a rebuild reads all of it and overwrites, for every dataset of
:data:`~spark_jobs.spotify.schemas.SILVER_DATASETS` (empty when nothing feeds it):

- ``<lake>/silver/spotify/<dataset>/``: exactly the dataset's schema columns;
- ``<lake>/silver/spotify/_quarantine/<dataset>/``: the rejected rows with their reason and where they
  came from (``QUARANTINE_SCHEMA``);
- ``<lake>/silver/spotify/_counts.json``: per dataset, as the creator's: ``bronze_rows = valid_rows +
  quarantined_rows`` and ``valid_rows = silver_rows + duplicates_dropped``. For the catalogue datasets a
  "bronze row" is an object read from bronze: every track object of playlist items, recently played and
  albums' track pages (episodes and local files are not tracks), every artist mention, every album.

Plays (one table across the classic, extended_legacy and extended exports and the API's recently
played; the export's format is told by each row's fields):

- ``ended_at`` is when playback stopped, in UTC, for every source. Classic ``endTime`` is minute
  precision, extended ``ts`` second precision. The API's ``played_at`` is taken as the **end** of
  playback too: in the real recently_played.json, 30 of 47 gaps between consecutive plays equal the
  *later* track's duration (within 3 s) and 1 the earlier one's, which is what end times give.
- ``ms_played``: the export's. The API says nothing of it: silver uses the track's ``duration_ms``
  (a recently played entry is a play Spotify counted, so usually played through; ``is_stream`` of an
  API play is therefore "the track is at least 30 s long").
- ``content_kind``: ``track``; ``episode`` (podcast rows: null track fields, episode fields set, and
  the classic podcast file); ``audiobook``; ``unknown`` when nothing identifies the item or the
  classic export's placeholders "Unknown Artist"/"Unknown Track" are all it says (without a track id).
  Unknown and zero-ms rows (skips) are kept and counted: gold decides what they mean.
- The personal fields of exports (``username``, ``ip_addr*``, ``user_agent*``) are never typed, so no
  silver column holds them, and a quarantined export row is kept without them.

**The play key.** ``play_key = sha2(json([listener, ended_at truncated to the minute (UTC),
lower(trim(artist or show or audiobook)), lower(trim(track or episode or chapter)), n]), 256)`` where
``n`` is the play's rank among the plays of that listener, minute, artist and title *in the same
delivery* (one export file; the API's plays, once re-deliveries of the same ``played_at`` are
dropped), longest ``ms_played`` first. The real exports hold 0.3-1.9 % of such same-minute repeats
(skips and replays), so without ``n`` real plays would merge. The key is the same for the same play
in two overlapping exports of one listener (even of different formats: the minute is the common
precision) and in an export and the API (the API's one entry pairs with the export's longest play of
that minute); it never joins two listeners. ``ms_played`` is not in it: the API has none. Accepted
misses: a play whose two sources put it in different minutes (an export ``ts`` of 12:00:00 and an API
``played_at`` of 11:59:59.9) is kept twice, and an export that starts in the middle of a minute with a
repeat can pair the repeat differently. Of the rows with one key, an export's wins over the API's
(ms_played, platform, skips…), and between exports the newest export's (the one whose latest play is
latest, then the greater export id); what the winner lacks (a classic row's track id or album, the
API's context) is filled from the others.

Catalogue: tracks (from playlist items, recently played and albums' track pages), artists (full
objects from ``artists``; the id-and-name artists on tracks and albums fill in artists never fetched),
albums (full objects from ``albums``, and the simplified ones on tracks) are one row per id, each field
the first known in the order: full object first, then the newest ``run_date``. ``playlist_tracks`` is
each playlist's latest crawled snapshot: positions are the page's ``offset`` plus the item's place in
the page; the name comes from ``playlists``.

**Incremental runs** (:mod:`spark_jobs.spotify.incremental`). Each valid row (or catalogue object) read is
appended, typed and normalised, to ``<lake>/silver/spotify/_copies/<dataset>/`` (crawled playlists to
``_copies/playlist_crawls``); silver's rows of the groups the new copies touch are recomputed from all
the copies of those groups and MERGEd (:class:`Keeping`): plays by listener, minute, artist and title (a
play key's copies all share them; an export's ``_export_newest`` is kept on its copies, and the groups of
every copy of a new API play's ``played_at`` are recomputed too), the catalogue by id, playlist tracks by
playlist. A key a recomputed group no longer gives is deleted. ``--full-refresh true``, the first run, a
replaced bronze partition, or a table written since by something else rebuild everything.

``--run-date`` is recorded with the watermark; what a run reads is decided by bronze's log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import reduce

import pyspark.sql.functions as F
from pyspark.sql import Column, DataFrame, Observation, SparkSession, Window
from pyspark.sql import types as T

from spark_jobs.common.gold_changes import ensure_change_feed
from spark_jobs.common.job import JobArgs, fit_to_input, parse_args, spark_session, write_json, zone_uri
from spark_jobs.common.silver import (
    BRONZE_SCHEMA,
    REASON,
    TypedPart,
    cached_typed,
    checked,
    conform,
    latest_versions,
    output_files,
    silver_counts,
    trimmed,
    type_payloads,
    valid_rows,
)
from spark_jobs.spotify.incremental import (
    SilverPlan,
    in_partitions,
    merge_groups,
    null_safe_semi,
    record_marks,
    silver_plan,
)
from spark_jobs.spotify.schemas import (
    ALBUM_PAYLOAD,
    ALBUMS,
    API_PLAY_PAYLOAD,
    ARTIST_PAYLOAD,
    ARTISTS,
    CLASSIC_PLAY_PAYLOAD,
    EXTENDED_PLAY_PAYLOAD,
    PLAYLIST_ITEM_PAYLOAD,
    PLAYLIST_TRACKS,
    PLAYS,
    QUARANTINE_SCHEMA,
    RELEASE_DAY_SQL,
    SILVER_DATASETS,
    TRACK_PAYLOAD,
    TRACKS,
    SilverDataset,
)

log = logging.getLogger("pulse.spotify.silver")

SOURCE = "spotify"
STREAM_MS = 30_000
"""A play of at least this many milliseconds is a stream (Spotify's royalty threshold)."""
CLASSIC, EXTENDED_LEGACY, EXTENDED, API = "classic", "extended_legacy", "extended", "api_recently_played"
LEGACY_MARKERS = ("username", "ip_addr_decrypted", "user_agent_decrypted")
PLACEHOLDER_ARTIST, PLACEHOLDER_TRACK = "Unknown Artist", "Unknown Track"
COPIES = "_copies"
PLAYLIST_CRAWLS = "playlist_crawls"
WITHHELD = "(payload withheld: it is not a JSON object and mentions a personal field)"

_S, _DT = T.StringType(), T.DateType()
# The partition columns of each bronze dataset (its Delta table's). Declared with the bronze columns, so
# each is read with its type whatever the table says (an export id such as "1234e56789012345" is text).
BRONZE_PARTITIONS: dict[str, tuple[tuple[str, T.DataType], ...]] = {
    "history": (("listener", _S), ("export", _S)),
    "recently_played": (("listener", _S), ("run_date", _DT)),
    "playlists": (("run_date", _DT),),
    "playlist_items": (("run_date", _DT),),
    "artists": (("run_date", _DT),),
    "albums": (("run_date", _DT),),
}
PROVENANCE = ("bronze_dataset", "listener", "export_id", "run_date", "page", "record_index", "request_url",
              "ingested_at", "payload")
"""The columns every bronze frame has once read (:func:`with_provenance`), and so every quarantined row."""


# ---------------------------------------------------------------------------------------------------
# Bronze


def bronze_schema(dataset: str) -> T.StructType:
    """The bronze columns of ``dataset`` with its partition columns (as Spark reads the directory)."""
    base = [f for f in BRONZE_SCHEMA.fields if f.name != "run_date"]
    return T.StructType(base + [T.StructField(n, t) for n, t in BRONZE_PARTITIONS[dataset]])


def with_provenance(bronze: DataFrame, dataset: str) -> DataFrame:
    """Bronze rows of ``dataset`` in the columns :data:`PROVENANCE`, whatever its partitioning (a
    column its path does not have is null). Grain: one row per bronze row."""
    present = set(bronze.columns)

    def column(name: str, dtype: str, source: str | None = None) -> Column:
        source = source or name
        return (F.col(source) if source in present else F.lit(None)).cast(dtype).alias(name)

    return bronze.select(
        F.lit(dataset).alias("bronze_dataset"), column("listener", "string"),
        column("export_id", "string", "export"), column("run_date", "date"),
        "page", "record_index", "request_url", "ingested_at", "payload",
    )


def _json_text(column: Column | str, names: Sequence[str]) -> Column:
    """The object in JSON text ``column`` as a struct of ``names``, each value as JSON text (a nested
    object or array as its JSON, a number as its digits); null when it is not an object."""
    return F.from_json(column, T.StructType([T.StructField(n, _S) for n in names]))


def _flat(**fields: Column) -> Column:
    """A flat JSON object of ``fields`` (null ones left out), the payload that silver types."""
    return F.to_json(F.struct(*[value.alias(name) for name, value in fields.items()]))


# ---------------------------------------------------------------------------------------------------
# Plays


def _personal(key: Column) -> Column:
    return (key == "username") | key.startswith("ip_addr") | key.startswith("user_agent")


def history_rows(bronze: DataFrame) -> DataFrame:
    """Bronze export rows with ``source_format`` told by their fields: ``classic`` has ``endTime``,
    ``extended_legacy`` a legacy personal field, any other object ``extended``; null when the payload is
    not a JSON object.

    Grain: one row per bronze row. Columns: :data:`PROVENANCE`, ``source_format``."""
    keys = F.json_object_keys("payload")
    source_format = (F.when(F.array_contains(keys, "endTime"), F.lit(CLASSIC))
                     .when(F.exists(keys, lambda k: k.isin(*LEGACY_MARKERS)), F.lit(EXTENDED_LEGACY))
                     .when(keys.isNotNull(), F.lit(EXTENDED)))
    return bronze.select(*PROVENANCE, source_format.alias("source_format"))


def without_personal_fields(payload: Column) -> Column:
    """An export row's JSON without ``username``, ``ip_addr*`` and ``user_agent*``: how a quarantined
    export row is kept. A payload that is not a JSON object is kept as it is unless it mentions one of
    those names, then withheld."""
    fields = F.from_json(payload, T.MapType(_S, T.VariantType()))
    return (F.when(fields.isNotNull(), F.to_json(F.map_filter(fields, lambda k, v: ~_personal(k))))
            .when(payload.rlike("username|ip_addr|user_agent"), F.lit(WITHHELD))
            .otherwise(payload))


def scrubbed(typed: DataFrame) -> DataFrame:
    """Typed export rows whose payload is kept only for quarantined rows, without the personal fields
    (a valid row's payload is not needed once typed). Grain unchanged."""
    return typed.withColumn("payload", F.when(F.col(REASON).isNotNull(), without_personal_fields(F.col("payload"))))


_API_PLAY = T.StructType([
    T.StructField("played_at", _S),
    T.StructField("track", T.StructType([
        T.StructField(n, _S) for n in ("id", "name", "type", "duration_ms")
    ] + [
        T.StructField("album", T.StructType([T.StructField("name", _S)])),
        T.StructField("artists", T.ArrayType(T.StructType([T.StructField("name", _S)]))),
    ])),
    T.StructField("context", T.StructType([T.StructField("uri", _S)])),
])


def api_play_fields(bronze: DataFrame) -> DataFrame:
    """Bronze recently-played rows with ``_flat``: the fields of :data:`API_PLAY_PAYLOAD` taken from
    the play history object (``played_at``, its ``track``'s id, name, type, duration, first artist and
    album, the ``context``'s uri). Grain: one row per bronze row."""
    item = F.from_json("payload", _API_PLAY)
    track = item.getField("track")
    return bronze.select(*PROVENANCE, _flat(
        played_at=item.getField("played_at"), duration_ms=track.getField("duration_ms"),
        item_id=track.getField("id"), item_name=track.getField("name"), item_type=track.getField("type"),
        artist_name=track.getField("artists").getItem(0).getField("name"),
        album_name=track.getField("album").getField("name"),
        context_uri=item.getField("context").getField("uri"),
    ).alias("_flat"))


def uri_id(uri: Column, kind: str) -> Column:
    """The base62 id of ``spotify:<kind>:<id>``; null for anything else."""
    return F.nullif(F.regexp_extract(uri, rf"^spotify:{kind}:([0-9A-Za-z]+)$", 1), F.lit(""))


def offline_moment(value: Column) -> Column:
    """``offline_timestamp`` as a timestamp: epoch milliseconds when it has 12 digits or more (the
    legacy export), else epoch seconds (2024+); 0 (or null) means there is none."""
    return (F.when(value >= 100_000_000_000, F.timestamp_millis(value))
            .when(value > 0, F.timestamp_seconds(value)))


def content_kind(track_id: Column, track_name: Column, artist_name: Column, episode: Column,
                 audiobook: Column) -> Column:
    """``track``, ``episode``, ``audiobook`` or ``unknown``: what a play is of. A track named only by
    the classic export's placeholders ("Unknown Artist"/"Unknown Track"), or an item nothing names,
    is ``unknown``."""
    placeholder = track_id.isNull() & ((trimmed(artist_name) == PLACEHOLDER_ARTIST)
                                       | (trimmed(track_name) == PLACEHOLDER_TRACK))
    return (F.when(placeholder, F.lit("unknown"))
            .when(F.coalesce(track_id, track_name).isNotNull(), F.lit("track"))
            .when(episode.isNotNull(), F.lit("episode"))
            .when(audiobook.isNotNull(), F.lit("audiobook"))
            .otherwise(F.lit("unknown")))


# Columns a normaliser gives beside the PLAYS columns: what the key and the choice between copies use.
PLAY_ORDER_COLUMNS = ("run_date", "record_index")


def _plays_select(valid: DataFrame, values: dict[str, Column]) -> DataFrame:
    """``valid`` in the PLAYS columns (``values`` by name; null for the others, and for ``play_key``,
    ``started_at`` and ``is_stream``, which :func:`with_play_facts` and :func:`with_play_keys` add)
    plus :data:`PLAY_ORDER_COLUMNS`."""
    columns = [values.get(f.name, F.lit(None)).cast(f.dataType).alias(f.name) for f in PLAYS.schema.fields]
    return with_play_facts(valid.select(*columns, *PLAY_ORDER_COLUMNS))


def with_play_facts(plays: DataFrame) -> DataFrame:
    """``started_at = ended_at - ms_played`` and ``is_stream = ms_played >= 30 000``. Grain unchanged."""
    started = F.timestamp_micros(F.unix_micros("ended_at") - F.col("ms_played") * 1000)
    return plays.withColumns({"started_at": started, "is_stream": F.col("ms_played") >= STREAM_MS})


def normalise_classic_plays(valid: DataFrame) -> DataFrame:
    """Valid typed classic rows as plays (minute precision; the podcast file's rows as episodes).

    Grain: one row per row of an export; not yet keyed."""
    artist, track = F.col("artistName"), F.col("trackName")
    episode, show = F.col("episodeName"), F.col("podcastName")
    return _plays_select(valid, {
        "listener": F.col("listener"), "ended_at": F.col("endTime"), "ended_at_precision": F.lit("minute"),
        "ms_played": F.col("msPlayed"),
        "content_kind": content_kind(F.lit(None), track, artist, F.coalesce(episode, show), F.lit(None)),
        "track_name": track, "artist_name": artist, "episode_name": episode, "show_name": show,
        "source_format": F.lit(CLASSIC), "export_id": F.col("export_id"),
    })


def normalise_extended_plays(valid: DataFrame) -> DataFrame:
    """Valid typed extended and extended_legacy rows as plays (second precision): ids from the
    ``spotify:track:``/``spotify:episode:`` uris, ``offline_at`` from ``offline_timestamp``.

    Grain: one row per row of an export; not yet keyed."""
    track_id = uri_id(F.col("spotify_track_uri"), "track")
    episode_id = uri_id(F.col("spotify_episode_uri"), "episode")
    track, artist = F.col("master_metadata_track_name"), F.col("master_metadata_album_artist_name")
    episode = F.coalesce(episode_id, F.col("episode_name"), F.col("episode_show_name"))
    audiobook = F.coalesce(F.col("audiobook_title"), F.col("audiobook_chapter_title"), F.col("audiobook_uri"),
                           F.col("audiobook_chapter_uri"))
    return _plays_select(valid, {
        "listener": F.col("listener"), "ended_at": F.col("ts"), "ended_at_precision": F.lit("second"),
        "ms_played": F.col("ms_played"),
        "content_kind": content_kind(track_id, track, artist, episode, audiobook),
        "track_name": track, "artist_name": artist, "album_name": F.col("master_metadata_album_album_name"),
        "track_id": track_id, "episode_name": F.col("episode_name"), "show_name": F.col("episode_show_name"),
        "episode_id": episode_id, "audiobook_title": F.col("audiobook_title"),
        "audiobook_chapter_title": F.col("audiobook_chapter_title"),
        **{c: F.col(c) for c in ("platform", "conn_country", "reason_start", "reason_end", "shuffle", "skipped",
                                 "offline", "incognito_mode")},
        "offline_at": offline_moment(F.col("offline_timestamp")),
        "source_format": F.col("source_format"), "export_id": F.col("export_id"),
    })


def normalise_api_plays(valid: DataFrame) -> DataFrame:
    """Valid typed recently-played rows as plays: ``ended_at = played_at`` (millisecond precision),
    ``ms_played`` = the track's ``duration_ms``; one row per listener and ``played_at`` (the same play
    comes in several run dates' partitions: the newest run's copy is kept).

    Grain: one row per listener and ``played_at``; not yet keyed."""
    is_episode = F.col("item_type") == "episode"
    name, item_id = F.col("item_name"), F.col("item_id")
    plays = _plays_select(valid, {
        "listener": F.col("listener"), "ended_at": F.col("played_at"), "ended_at_precision": F.lit("millisecond"),
        "ms_played": F.col("duration_ms"),
        "content_kind": F.when(is_episode, F.lit("episode")).otherwise(
            content_kind(item_id, name, F.col("artist_name"), F.lit(None), F.lit(None))),
        "track_name": F.when(~is_episode, name), "artist_name": F.col("artist_name"),
        "album_name": F.col("album_name"), "track_id": F.when(~is_episode, item_id),
        "episode_name": F.when(is_episode, name), "episode_id": F.when(is_episode, item_id),
        "source_format": F.lit(API), "context_uri": F.col("context_uri"),
    })
    return latest_versions(plays, ("listener", "ended_at"), PLAY_ORDER_COLUMNS)


def play_identity(plays: DataFrame) -> tuple[Column, Column, Column]:
    """The parts of a play's key besides the listener and its rank: the UTC minute it ended in, and
    the lower-cased, trimmed artist (or show, or audiobook) and title (or episode, or chapter)."""
    minute = F.date_format(F.date_trunc("minute", "ended_at"), "yyyy-MM-dd'T'HH:mm")
    who = F.lower(trimmed(F.coalesce("artist_name", "show_name", "audiobook_title")))
    what = F.lower(trimmed(F.coalesce("track_name", "episode_name", "audiobook_chapter_title")))
    return minute, who, what


def with_play_keys(plays: DataFrame) -> DataFrame:
    """Plays with their ``play_key`` (see the module docstring): the sha256 of the listener, the
    minute, the artist, the title and the play's rank among the same in its delivery (an export, or
    the API), longest first.

    Grain unchanged; adds ``play_key``."""
    minute, who, what = play_identity(plays)
    delivery = F.coalesce(F.col("export_id"), F.lit("api"))
    same = Window.partitionBy("listener", delivery, minute, who, what).orderBy(
        F.col("ms_played").desc_nulls_last(), F.col("ended_at").desc(), F.col("record_index").asc())
    rank = F.row_number().over(same) - 1
    key = F.sha2(F.to_json(F.array("listener", minute, who, what, rank.cast("string"))), 256)
    return plays.withColumn("play_key", key)


def merged_versions(rows: DataFrame, key: Sequence[str], order: Sequence[str]) -> DataFrame:
    """One row per ``key``: each column the first non-null value of the key's rows taken in ``order``
    (greatest first, nulls last): the preferred row, with what it lacks filled from the others.

    Grain: one row per ``key``. One shuffle (by key); columns unchanged."""
    ordered = Window.partitionBy(*key).orderBy(*[F.col(c).desc_nulls_last() for c in order])
    whole = ordered.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    others = [c for c in rows.columns if c not in key]
    merged = rows.select(*key, *[F.first(c, ignorenulls=True).over(whole).alias(c) for c in others],
                         F.row_number().over(ordered).alias("_version_rank"))
    return merged.where(F.col("_version_rank") == 1).drop("_version_rank").select(*rows.columns)


def with_export_newest(plays: DataFrame) -> DataFrame:
    """Plays with ``_export_newest``: the latest ``ended_at`` of their export (null for the API's), what
    orders two exports' copies of one play. An export is one bronze partition, so a run that reads it
    reads all of it. Grain unchanged."""
    newest = F.when(F.col("export_id").isNotNull(), F.max("ended_at").over(Window.partitionBy("export_id")))
    return plays.withColumn("_export_newest", newest)


def silver_plays(keyed: DataFrame) -> DataFrame:
    """One row per ``play_key``: an export's copy before the API's, the newest export's (greatest
    latest ``ended_at``, then export id) before older ones', the rest filling what it lacks
    (``_export_newest`` is computed here unless the rows carry it).

    Grain: one row per ``play_key``; exactly the PLAYS columns."""
    ranked = keyed if "_export_newest" in keyed.columns else with_export_newest(keyed)
    ranked = ranked.withColumn("_from_export", F.col("export_id").isNotNull().cast("int"))
    order = ("_from_export", "_export_newest", "export_id", "run_date", "record_index")
    return conform(merged_versions(ranked, PLAYS.key, order), PLAYS.schema)


# ---------------------------------------------------------------------------------------------------
# Catalogue


def track_objects(playlist_items: DataFrame, recently_played: DataFrame, albums: DataFrame) -> DataFrame:
    """Every track object in bronze: a playlist item's ``item`` (or the deprecated ``track``), a
    play's ``track``, each entry of an album's ``tracks.items`` (simplified: the album is its
    parent). Episodes, local files and missing objects are left out: they are not catalogue tracks.

    Grain: one row per track object; columns :data:`PROVENANCE` (``payload``: the object's JSON),
    ``_parent_album`` (the JSON of the album whose track page holds it), ``_full`` (1 for full objects,
    0 for an album page's simplified ones) and ``_item`` (its place on the album page)."""
    entry = _json_text("payload", ("item", "track"))
    from_items = playlist_items.select(
        *[F.coalesce(entry.getField("item"), entry.getField("track")).alias(c) if c == "payload" else c
          for c in PROVENANCE],
        F.lit(None).cast("string").alias("_parent_album"), F.lit(1).alias("_full"), F.lit(0).alias("_item"))
    play = _json_text("payload", ("track",))
    from_plays = recently_played.select(
        *[play.getField("track").alias(c) if c == "payload" else c for c in PROVENANCE],
        F.lit(None).cast("string").alias("_parent_album"), F.lit(1).alias("_full"), F.lit(0).alias("_item"))
    album = F.from_json("payload", T.StructType([
        T.StructField("id", _S), T.StructField("name", _S),
        T.StructField("tracks", T.StructType([T.StructField("items", T.ArrayType(_S))]))]))
    pages = albums.select(*PROVENANCE, album.alias("_album"))
    from_albums = pages.select(
        *[c for c in PROVENANCE if c != "payload"],
        F.to_json(F.struct(F.col("_album.id").alias("id"), F.col("_album.name").alias("name"))).alias("_parent_album"),
        F.posexplode(F.col("_album.tracks.items")).alias("_item", "payload"),
    ).select(*PROVENANCE, "_parent_album", F.lit(0).alias("_full"), "_item")
    objects = from_items.unionByName(from_plays).unionByName(from_albums)
    kind = _json_text("payload", ("type", "is_local"))
    return objects.where(
        F.col("payload").isNotNull() & F.coalesce(kind.getField("type"), F.lit("track")).eqNullSafe("track")
        & ~F.coalesce(F.lower(kind.getField("is_local")), F.lit("false")).eqNullSafe("true"))


_ID_NAME = T.StructType([T.StructField("id", _S), T.StructField("name", _S)])
_TRACK = T.StructType([
    *[T.StructField(n, _S) for n in ("id", "name", "duration_ms", "popularity", "explicit", "disc_number",
                                     "track_number")],
    T.StructField("external_ids", T.StructType([T.StructField("isrc", _S)])),
    T.StructField("album", _ID_NAME),
    T.StructField("artists", T.ArrayType(_ID_NAME)),
])


def track_fields(objects: DataFrame) -> DataFrame:
    """Track objects (:func:`track_objects`) with ``_flat`` (the fields of :data:`TRACK_PAYLOAD`; the
    album is the object's own or its page's) and ``artist_ids`` (every artist's id, in order).

    Grain: one row per track object."""
    track = F.from_json("payload", _TRACK)
    parent = F.from_json("_parent_album", _ID_NAME)
    artists = track.getField("artists")
    first_artist = artists.getItem(0)
    return objects.select(
        *PROVENANCE, "_full", "_item",
        _flat(track_id=track.getField("id"), name=track.getField("name"),
              duration_ms=track.getField("duration_ms"), popularity=track.getField("popularity"),
              explicit=track.getField("explicit"), disc_number=track.getField("disc_number"),
              track_number=track.getField("track_number"),
              isrc=track.getField("external_ids").getField("isrc"),
              album_id=F.coalesce(track.getField("album").getField("id"), parent.getField("id")),
              album_name=F.coalesce(track.getField("album").getField("name"), parent.getField("name")),
              artist_id=first_artist.getField("id"), artist_name=first_artist.getField("name")).alias("_flat"),
        F.filter(F.transform(artists, lambda a: a.getField("id")), lambda i: i.isNotNull()).alias("artist_ids"),
    )


def album_objects(albums: DataFrame, tracks: DataFrame) -> DataFrame:
    """Every album object in bronze: the full ones of ``albums`` (``_full`` 1) and the simplified
    ``album`` of every track object (``_full`` 0).

    Grain: one row per album object; columns :data:`PROVENANCE` (``payload``: the album's JSON),
    ``_full``, ``_item``."""
    full = albums.select(*PROVENANCE, F.lit(1).alias("_full"), F.lit(0).alias("_item"))
    album = _json_text("payload", ("album",)).getField("album")
    simplified = (tracks.where(F.col("_full") == 1)
                  .select(*[album.alias(c) if c == "payload" else c for c in PROVENANCE],
                          F.lit(0).alias("_full"), "_item")
                  .where(F.col("payload").isNotNull()))
    return full.unionByName(simplified)


_ALBUM = T.StructType([
    *[T.StructField(n, _S) for n in ("id", "name", "album_type", "release_date", "release_date_precision",
                                     "total_tracks", "label", "popularity")],
    T.StructField("artists", T.ArrayType(_ID_NAME)),
])


def album_fields(objects: DataFrame) -> DataFrame:
    """Album objects with ``_flat``: the fields of :data:`ALBUM_PAYLOAD` (the first artist's id and
    name). Grain: one row per album object."""
    album = F.from_json("payload", _ALBUM)
    first_artist = album.getField("artists").getItem(0)
    names = ("album_type", "release_date", "release_date_precision", "total_tracks", "label", "popularity")
    return objects.select(*PROVENANCE, "_full", "_item", _flat(
        album_id=album.getField("id"), name=album.getField("name"),
        **{n: album.getField(n) for n in names},
        artist_id=first_artist.getField("id"), artist_name=first_artist.getField("name"),
    ).alias("_flat"))


def artist_objects(artists: DataFrame, tracks: DataFrame, albums: DataFrame) -> DataFrame:
    """Every artist object in bronze: the full ones of ``artists`` (``_full`` 1) and every simplified
    artist (id and name) on a track object or an album object (``_full`` 0).

    Grain: one row per artist object or mention; columns :data:`PROVENANCE` (``payload``: the
    artist's JSON), ``_full``, ``_item``."""
    full = artists.select(*PROVENANCE, F.lit(1).alias("_full"), F.lit(0).alias("_item"))
    listed = _json_text("payload", ("artists",)).getField("artists")
    mentions = (tracks.select(*PROVENANCE, "_item").unionByName(albums.select(*PROVENANCE, "_item"))
                .select(*[c for c in PROVENANCE if c != "payload"], "_item",
                        F.explode(F.from_json(listed, T.ArrayType(_S))).alias("payload"))
                .select(*PROVENANCE, F.lit(0).alias("_full"), "_item"))
    return full.unionByName(mentions)


_ARTIST = T.StructType([
    *[T.StructField(n, _S) for n in ("id", "name", "popularity")],
    T.StructField("followers", T.StructType([T.StructField("total", _S)])),
    T.StructField("genres", T.ArrayType(_S)),
])


def artist_fields(objects: DataFrame) -> DataFrame:
    """Artist objects with ``_flat`` (the fields of :data:`ARTIST_PAYLOAD`) and ``genres`` (null when
    the object has none, as a simplified artist and a 2026 one). Grain: one row per artist object."""
    artist = F.from_json("payload", _ARTIST)
    return objects.select(*PROVENANCE, "_full", "_item", _flat(
        artist_id=artist.getField("id"), name=artist.getField("name"),
        popularity=artist.getField("popularity"), followers=artist.getField("followers").getField("total"),
    ).alias("_flat"), artist.getField("genres").alias("genres"))


CATALOGUE_ORDER = ("_full", "run_date", "bronze_dataset", "record_index", "_item")
"""Which copy of a catalogue object comes first: a full object, then the newest run, then the latest
in bronze."""


def normalise_tracks(valid: DataFrame) -> DataFrame:
    """Valid typed track objects in the TRACKS columns plus :data:`CATALOGUE_ORDER`. Grain: one row per
    object; key ``track_id`` not yet unique."""
    return valid.select(*TRACKS.columns, *CATALOGUE_ORDER)


def normalise_artists(valid: DataFrame) -> DataFrame:
    """Valid typed artist objects in the ARTISTS columns plus :data:`CATALOGUE_ORDER`."""
    return valid.select(*ARTISTS.columns, *CATALOGUE_ORDER)


def release_day() -> Column:
    """The first day an album's ``release_date`` names, read by its precision
    (:data:`~spark_jobs.spotify.schemas.RELEASE_DAY_SQL`)."""
    return F.expr(RELEASE_DAY_SQL)


def normalise_albums(valid: DataFrame) -> DataFrame:
    """Valid typed album objects in the ALBUMS columns plus :data:`CATALOGUE_ORDER`: ``release_date``
    the first day it names, ``release_date_precision`` as given (inferred from the date's length when
    missing), ``release_year``."""
    day = release_day()
    inferred = F.coalesce(F.col("release_date_precision"),
                          F.element_at(F.create_map(F.lit(4), F.lit("year"), F.lit(7), F.lit("month"),
                                                    F.lit(10), F.lit("day")), F.length("release_date")))
    values = {"release_date": day, "release_date_precision": inferred, "release_year": F.year(day)}
    return valid.select(*[values.get(c, F.col(c)).alias(c) for c in ALBUMS.columns], *CATALOGUE_ORDER)


def silver_catalogue(dataset: SilverDataset) -> Callable[[DataFrame], DataFrame]:
    """The silver table of a catalogue dataset from its normalised rows: one row per key, each field
    the first known in :data:`CATALOGUE_ORDER`."""
    def build(normalised: DataFrame) -> DataFrame:
        return conform(merged_versions(normalised, dataset.key, CATALOGUE_ORDER), dataset.schema)
    return build


# ---------------------------------------------------------------------------------------------------
# Playlists


def playlist_item_fields(items: DataFrame) -> DataFrame:
    """Bronze playlist items with ``_flat``: the fields of :data:`PLAYLIST_ITEM_PAYLOAD`. The playlist
    id is in the page's ``request_url``; the position is the ``offset`` of that url (0 when absent)
    plus the item's place in its page (its ``record_index`` less the page's first).

    Grain: one row per bronze row."""
    page = Window.partitionBy("run_date", "page")
    offset = F.coalesce(F.regexp_extract("request_url", r"[?&]offset=([0-9]+)", 1).try_cast("long"), F.lit(0))
    position = offset + F.col("record_index") - F.min("record_index").over(page)
    playlist_id = F.nullif(F.regexp_extract("request_url", r"/playlists/([^/?#]+)/(items|tracks)", 1), F.lit(""))
    entry = F.from_json("payload", T.StructType([
        T.StructField("added_at", _S), T.StructField("added_by", T.StructType([T.StructField("id", _S)])),
        T.StructField("is_local", _S), T.StructField("item", _S), T.StructField("track", _S)]))
    obj = _json_text(F.coalesce(entry.getField("item"), entry.getField("track")), ("id", "type", "is_local"))
    local = F.lower(F.coalesce(entry.getField("is_local"), obj.getField("is_local"))) == "true"
    item_type = F.when(obj.isNull(), F.lit(None)).when(local, F.lit("local")).otherwise(obj.getField("type"))
    return items.select(*PROVENANCE, _flat(
        playlist_id=playlist_id, position=position.cast("string"), added_at=entry.getField("added_at"),
        added_by=entry.getField("added_by").getField("id"), is_local=entry.getField("is_local"),
        track_id=F.when(item_type == "track", obj.getField("id")), item_type=item_type,
    ).alias("_flat"))


def crawled_playlists(playlists: DataFrame) -> DataFrame:
    """Bronze playlist objects as ``playlist_id, name, run_date, record_index`` (blank as null; rows
    without an id left out). Read leniently: a playlist object is only a name here.

    Grain: one row per playlist object crawled."""
    playlist = _json_text("payload", ("id", "name"))
    crawled = playlists.select(F.nullif(trimmed(playlist.getField("id")), F.lit("")).alias("playlist_id"),
                               F.nullif(trimmed(playlist.getField("name")), F.lit("")).alias("name"),
                               F.col("run_date"), F.col("record_index"))
    return crawled.where(F.col("playlist_id").isNotNull())


def names_of_crawls(crawled: DataFrame) -> DataFrame:
    """:func:`playlist_names` of :func:`crawled_playlists` rows."""
    newest = Window.partitionBy("playlist_id").orderBy(F.col("run_date").desc(), F.col("record_index").desc())
    return crawled.select("playlist_id", F.first("name", ignorenulls=True).over(
        newest.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)).alias("playlist_name"), "run_date")


def playlist_names(playlists: DataFrame) -> DataFrame:
    """Each playlist crawled: its id, name and every ``run_date`` it was crawled on (the name as its
    newest crawl gives it). Read leniently: a playlist object is only a name here.

    Grain: one row per playlist and run date; columns ``playlist_id, playlist_name, run_date``."""
    return names_of_crawls(crawled_playlists(playlists))


def silver_playlist_tracks(valid: DataFrame, names: DataFrame) -> DataFrame:
    """Each playlist's latest crawled snapshot (the newest ``run_date`` the playlist or its items were
    crawled on: an item that left the playlist leaves silver), one row per position, with the
    playlist's name.

    Grain: one row per ``playlist_id, position``."""
    crawls = valid.select("playlist_id", "run_date").unionByName(names.select("playlist_id", "run_date"))
    latest = crawls.groupBy("playlist_id").agg(F.max("run_date").alias("_latest"))
    current = valid.join(latest, "playlist_id", how="inner").where(F.col("run_date") == F.col("_latest"))
    kept = latest_versions(current, PLAYLIST_TRACKS.key, ("run_date", "record_index"))
    name = names.select("playlist_id", "playlist_name").distinct()
    return conform(kept.drop("playlist_name").join(name, "playlist_id", how="left"), PLAYLIST_TRACKS.schema)


# ---------------------------------------------------------------------------------------------------
# The job


def play_parts(bronze: dict[str, DataFrame]) -> list[TypedPart]:
    """The typed parts of plays: classic export rows, extended (and legacy) export rows, the API's plays.
    An export row's payload is kept only when quarantined, without its personal fields."""
    history = history_rows(bronze["history"])
    is_classic = F.col("source_format").eqNullSafe(CLASSIC)
    return [
        TypedPart(scrubbed(type_payloads(history.where(is_classic), CLASSIC_PLAY_PAYLOAD)), normalise_classic_plays),
        TypedPart(scrubbed(type_payloads(history.where(~is_classic), EXTENDED_PLAY_PAYLOAD)),
                  normalise_extended_plays),
        TypedPart(type_payloads(api_play_fields(bronze["recently_played"]), API_PLAY_PAYLOAD, "_flat"),
                  normalise_api_plays),
    ]


def play_copies(normalised: DataFrame) -> DataFrame:
    """Normalised plays as the copies table keeps them: with ``_export_newest`` (:func:`with_export_newest`)
    and ``_group``, the JSON of ``[listener, minute, artist, title]`` (:func:`play_identity`): every copy of
    a play has its key's group. Grain unchanged."""
    return with_export_newest(normalised).withColumn("_group", play_group(normalised))


def play_group(plays: DataFrame) -> Column:
    """The group of a play (a copy, or a silver row: the same for every copy of one key)."""
    minute, who, what = play_identity(plays)
    return F.to_json(F.array(F.col("listener"), minute, who, what))


def silver_plays_of_copies(copies: DataFrame) -> DataFrame:
    """Silver plays of play copies (every copy of each group it holds): the API's re-deliveries of one
    ``played_at`` dropped (the newest run's kept), keys, and one row per key (:func:`silver_plays`)."""
    api = F.col("export_id").isNull()
    deduplicated = copies.where(~api).unionByName(
        latest_versions(copies.where(api), ("listener", "ended_at"), PLAY_ORDER_COLUMNS))
    return silver_plays(with_play_keys(deduplicated))


def _as_given(valid: DataFrame) -> DataFrame:
    return valid


PLAYLIST_ITEM_COLUMNS = ("playlist_id", "position", "added_at", "added_by", "is_local", "track_id", "item_type",
                         "run_date", "record_index")


def playlist_item_copies(valid: DataFrame) -> DataFrame:
    return valid.select(*PLAYLIST_ITEM_COLUMNS)


@dataclass(frozen=True)
class Keeping:
    """How a silver dataset is kept from its copies: ``copies`` makes copies of normalised valid rows;
    ``group`` names the copies' group columns (a group's silver rows depend on its copies alone);
    ``finish`` makes the silver rows of copies holding whole groups; ``grouped`` gives silver rows their
    group columns, when a recomputed group can lose keys (which are then deleted)."""

    copies: Callable[[DataFrame], DataFrame]
    group: tuple[str, ...]
    finish: Callable[[DataFrame], DataFrame]
    grouped: Callable[[DataFrame], DataFrame] | None = None


def _with_group(plays: DataFrame) -> DataFrame:
    return plays.withColumn("_group", play_group(plays))


def keepings(spark: SparkSession, names_uri: str) -> dict[str, Keeping]:
    """Each silver dataset's :class:`Keeping` (``names_uri``: the copies of crawled playlists)."""
    def playlists(items: DataFrame) -> DataFrame:
        crawled = spark.read.format("delta").load(names_uri)
        ids = items.select("playlist_id").distinct()
        return silver_playlist_tracks(items, names_of_crawls(crawled.join(ids, "playlist_id", how="left_semi")))

    catalogue = {d.name: Keeping(lambda rows: rows, d.key, silver_catalogue(d)) for d in (TRACKS, ARTISTS, ALBUMS)}
    return {
        "plays": Keeping(play_copies, ("_group",), silver_plays_of_copies, _with_group),
        **catalogue,
        "playlist_tracks": Keeping(playlist_item_copies, ("playlist_id",), playlists, lambda rows: rows),
    }


def silver_parts(bronze: dict[str, DataFrame], tracks: DataFrame, albums: DataFrame) -> dict[str, list[TypedPart]]:
    """Each silver dataset's typed parts (``tracks``: :func:`track_objects`; ``albums``: :func:`album_objects`)."""
    artists = artist_objects(bronze["artists"], tracks, albums)
    items = playlist_item_fields(bronze["playlist_items"])
    return {
        "plays": play_parts(bronze),
        "tracks": [TypedPart(type_payloads(track_fields(tracks), TRACK_PAYLOAD, "_flat"), normalise_tracks)],
        "artists": [TypedPart(type_payloads(artist_fields(artists), ARTIST_PAYLOAD, "_flat"), normalise_artists)],
        "albums": [TypedPart(type_payloads(album_fields(albums), ALBUM_PAYLOAD, "_flat"), normalise_albums)],
        "playlist_tracks": [TypedPart(type_payloads(items, PLAYLIST_ITEM_PAYLOAD, "_flat"), _as_given)],
    }


def recomputed_groups(copies: DataFrame, new: DataFrame, keeping: Keeping) -> tuple[DataFrame, DataFrame]:
    """The groups an incremental run recomputes (those of its new copies), and the copies it recomputes
    them from. For plays, the API's re-deliveries of a ``played_at`` are one play whatever group their
    names give it: the groups of every copy of a new API play's moment are recomputed too, from all copies
    of the moments of their API copies."""
    groups = new.select(*keeping.group)
    if keeping.group != ("_group",):
        groups = groups.distinct()
        return groups, null_safe_semi(copies, groups, keeping.group)
    api = F.col("export_id").isNull()
    moments = ["listener", "ended_at"]
    api_copies = copies.where(api)
    groups = groups.unionByName(api_copies.join(new.where(api).select(*moments), moments, how="left_semi")
                                .select("_group")).distinct()
    pool = null_safe_semi(copies, groups, keeping.group)
    same_moment = api_copies.join(pool.where(api).select(*moments).distinct(), moments, how="left_semi")
    identity = ["listener", "export_id", "run_date", "record_index"]
    return groups, pool.unionByName(same_moment).dropDuplicates(identity)


def _replace(frame: DataFrame, uri: str, files: int) -> None:
    frame.coalesce(files).write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(uri)


def build_silver_dataset(spark: SparkSession, args: JobArgs, dataset: SilverDataset, parts: Sequence[TypedPart],
                         keeping: Keeping, plan: SilverPlan, rows_per_file: int,
                         extra_groups: DataFrame | None = None) -> dict:
    """Count, quarantine and write one silver dataset and its copies from its typed parts; return its counts.

    A rebuild replaces the quarantine, the copies and silver (made of the copies); an incremental run
    appends the new rows' copies and rejected rows, and MERGEs the silver rows of the groups the new copies
    (and ``extra_groups``) touch, recomputed from every copy of those groups."""
    started = time.perf_counter()
    silver_uri = args.zone("silver", dataset.name)
    quarantine_uri = args.zone("silver", f"_quarantine/{dataset.name}")
    copies_uri = args.zone("silver", f"{COPIES}/{dataset.name}")
    typed = cached_typed(parts)
    try:
        totals, reasons, quarantined = checked(spark, typed, args.run_id, dataset.name, QUARANTINE_SCHEMA)
        normalised = reduce(DataFrame.unionByName,
                            [p.normalise(valid_rows(t)) for p, t in zip(parts, typed, strict=True)])
        files = output_files(totals["valid_rows"], rows_per_file)
        if plan.incremental:
            if totals["quarantined_rows"]:
                quarantined.coalesce(1).write.format("delta").mode("append").save(quarantine_uri)
            written = {"inserted": 0, "updated": 0, "deleted": 0}
            new = keeping.copies(normalised).cache()
            try:
                if totals["valid_rows"]:
                    new.coalesce(files).write.format("delta").mode("append").save(copies_uri)
                if totals["valid_rows"] or extra_groups is not None:
                    copies = spark.read.format("delta").load(copies_uri)
                    groups, pool = recomputed_groups(copies, new, keeping)
                    if extra_groups is not None:
                        groups = groups.unionByName(extra_groups).distinct()
                        pool = pool.unionByName(null_safe_semi(copies, extra_groups, keeping.group)).distinct()
                    written = _merge_groups(spark, keeping, dataset, groups.cache(), pool, silver_uri)
            finally:
                new.unpersist()
            silver_rows = spark.read.format("delta").load(silver_uri).count()
        else:
            _replace(quarantined, quarantine_uri, output_files(totals["quarantined_rows"], rows_per_file))
            _replace(keeping.copies(normalised), copies_uri, files)
            kept = Observation(f"{dataset.name}_silver")
            silver = keeping.finish(spark.read.format("delta").load(copies_uri))
            _replace(silver.observe(kept, F.count(F.lit(1)).alias("rows")), silver_uri, files)
            silver_rows = int(kept.get["rows"])
            written = None
        counts = silver_counts(totals, reasons, silver_rows, written)
        if plan.incremental:
            counts.update(mode=plan.mode, deleted=written["deleted"])
    finally:
        for frame in typed:
            frame.unpersist()
    log.info("silver %s: %s; %d bronze rows = %d valid + %d quarantined; %d inserted, %d updated; silver holds "
             "%d rows; reasons %s (%.1fs)", dataset.name, plan.mode, counts["bronze_rows"], counts["valid_rows"],
             counts["quarantined_rows"], counts["inserted"], counts["updated"], counts["silver_rows"],
             counts["reasons"] or "none", time.perf_counter() - started)
    return counts


def _merge_groups(spark: SparkSession, keeping: Keeping, dataset: SilverDataset, groups: DataFrame, pool: DataFrame,
                  silver_uri: str) -> dict:
    """MERGE the recomputed silver rows of ``groups`` (from the copies ``pool``) into silver, deleting the
    keys of those groups that no copy gives any more."""
    try:
        rows = keeping.finish(pool)
        gone = None
        if keeping.grouped is not None:
            rows = null_safe_semi(keeping.grouped(rows), groups, keeping.group).select(*dataset.columns).cache()
            current = null_safe_semi(keeping.grouped(spark.read.format("delta").load(silver_uri)), groups,
                                     keeping.group)
            gone = current.join(rows.select(*dataset.key), list(dataset.key), how="left_anti")
        result = merge_groups(spark, rows, gone, silver_uri, dataset.key)
        rows.unpersist()
        return result
    finally:
        groups.unpersist()


def read_changed_bronze(spark: SparkSession, plan: SilverPlan, dataset: str) -> DataFrame:
    """What this run reads of one Spotify bronze dataset, in :data:`PROVENANCE` columns: at the pinned
    version, all of it (a rebuild) or the partitions committed since the last run; no rows (and a log
    line) when the dataset does not exist: that source has not delivered, which is not an error."""
    read = plan.reads[dataset]
    schema = bronze_schema(dataset)
    if read.version is None:
        log.info("no Spotify bronze %s at %s: read as no rows (that source has not delivered yet)", dataset,
                 read.table)
        return with_provenance(spark.createDataFrame([], schema), dataset)
    frame = spark.read.format("delta").option("versionAsOf", read.version).load(read.table)
    frame = frame.select(*(F.col(f.name).cast(f.dataType).alias(f.name) for f in schema))
    if plan.incremental:
        frame = in_partitions(frame, read.partitions)
    return with_provenance(frame, dataset)


def written_tables(args: JobArgs) -> dict[str, str]:
    """Every table the job writes, by its path under the silver zone."""
    names = [*SILVER_DATASETS, *(f"_quarantine/{n}" for n in SILVER_DATASETS),
             *(f"{COPIES}/{n}" for n in [*SILVER_DATASETS, PLAYLIST_CRAWLS])]
    return {name: args.zone("silver", name) for name in names}


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv, "Spotify silver: exports and API bronze to typed, deduplicated silver datasets.",
                      {"rows-per-file": "1000000"})
    if args.source != SOURCE:
        raise ValueError(f"spark_jobs/spotify/silver.py builds the spotify source's silver, not {args.source!r}: "
                         "pass --source spotify")
    spark = spark_session(f"pulse-{args.source}-silver")
    fit_to_input(spark, [args.zone("bronze"), args.zone("silver")])
    rows_per_file = int(args.extra["rows-per-file"])
    silver_zone = zone_uri(args.lake_root, "silver", SOURCE)
    written = written_tables(args)
    plan = silver_plan(spark, silver_zone, {name: zone_uri(args.lake_root, "bronze", SOURCE, name)
                                            for name in BRONZE_PARTITIONS},
                       written, {name: d.columns for name, d in SILVER_DATASETS.items()}, args.full_refresh)
    log.info("silver: %s", plan.describe())
    bronze = {name: read_changed_bronze(spark, plan, name) for name in BRONZE_PARTITIONS}

    # Track objects feed tracks, albums and artists: extracted once.
    tracks = track_objects(bronze["playlist_items"], bronze["recently_played"], bronze["albums"]).cache()
    albums = album_objects(bronze["albums"], tracks)
    crawls_uri = written[f"{COPIES}/{PLAYLIST_CRAWLS}"]
    crawls = crawled_playlists(bronze["playlists"]).cache()
    try:
        if plan.incremental:
            if not crawls.isEmpty():
                crawls.coalesce(1).write.format("delta").mode("append").save(crawls_uri)
        else:
            _replace(crawls, crawls_uri, 1)
        parts = silver_parts(bronze, tracks, albums)
        kept = keepings(spark, crawls_uri)
        # A playlist crawled again is recomputed even when none of its items is new (it may have lost them all).
        extra = ({"playlist_tracks": crawls.select("playlist_id").distinct()}
                 if plan.incremental and not crawls.isEmpty() else {})
        # Two datasets at a time: one's planning and small jobs overlap the other's tasks (plays first, the
        # largest).
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = {name: pool.submit(build_silver_dataset, spark, args, dataset, parts[name], kept[name], plan,
                                         rows_per_file, extra.get(name))
                       for name, dataset in SILVER_DATASETS.items()}
            counts = {name: futures[name].result() for name in SILVER_DATASETS}
    finally:
        tracks.unpersist()
        crawls.unpersist()
    for name in SILVER_DATASETS:  # gold reads what each MERGE changed from it
        ensure_change_feed(spark, args.zone("silver", name))
    record_marks(spark, silver_zone, plan, written, args.run_id, args.run_date)
    for name, read in plan.reads.items():
        log.info("silver: bronze %s read at version %s (%s)", name, read.version,
                 f"{len(read.partitions)} partitions" if plan.incremental else "all")
    write_json(spark, f"{silver_zone}/_counts.json", counts)


if __name__ == "__main__":
    main()
