"""The Spotify source's gold job: silver plays and catalogue → listening analytics loaded into ``gold``.

``main`` reads the silver datasets once (plays, and the Web API catalogue — tracks, artists, albums —
when there is one: a run fed by exports alone has none), calls the pure functions below and writes one
Delta table per table to ``<lake>/gold/spotify/<table>/``: all of it on a rebuild, or, on an incremental run,
one MERGE of the rows of the listeners that changed (:func:`changed_listeners`). Every definition, formula
and grain is in ``docs/spotify_metrics.md``; the quality gate's view of these tables is
``pulse.sources.spotify_gold``.

Every gold row carries its ``listener``: each aggregate is per listener, and nothing a listener did
changes another listener's rows.

Gold is a pure function of silver and the job options: no clock, no randomness; a play counts once per
``(listener, play_key)`` however many copies silver holds; milliseconds are summed as longs and divided once;
every ratio is rounded to 6 decimals, means of ratios are summed exactly, and every rank and every
"latest value" has a complete tie-break. A rerun, a run on differently partitioned silver or a run on
silver with duplicated plays writes the same rows.
"""

from __future__ import annotations

import logging
import sys

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from spark_jobs.common.gold import (
    RATIO_DECIMALS,
    calendar,
    col,
    exact_mean,
    first_per_key,
    iso_day_of_week,
    iso_year,
    ratio,
    week_start,
    write_gold,
)
from spark_jobs.common.gold_changes import (
    GoldPlan,
    changed_rows,
    ensure_change_feed,
    gold_plan,
    read_at,
    record_gold_mark,
)
from spark_jobs.common.job import fit_to_input, parse_args, path_exists, spark_session, write_json
from spark_jobs.spotify.schemas import ALBUMS, ARTISTS, PLAYS, TRACKS
from spark_jobs.spotify.settings import GoldSettings

log = logging.getLogger("pulse.spotify.gold")

MS_PER_MINUTE = 60_000.0
STREAM_MS = 30_000  # a stream: at least 30 seconds played, as Spotify counts royalties (silver's is_stream)
_SEP = "\x1f"  # between the parts of a name key: a character no artist, track or album name holds

MUSIC, PODCAST, OTHER = "music", "podcast", "other"
# What the classic export writes for an item it cannot name: not an artist or a track to rank.
PLACEHOLDER_ARTIST, PLACEHOLDER_TRACK = "unknown artist", "unknown track"
PRECISION_RANK = {"millisecond": 3, "second": 2, "minute": 1}
API_FORMAT = "api_recently_played"

GRAINS = ("day", "week", "month", "weekday", "hour", "weekday_hour")
PERIOD_GRAINS = ("day", "week", "month")
TOP_TRACKS = 50
TIERS = ((10, "Top 10"), (25, "Top 11-25"), (50, "Top 26-50"))

SMALL_TABLES = ("agg_listener_artists", "agg_listener_albums", "dim_date", "agg_top_tracks")


# ---------------------------------------------------------------------------------------------------
# Column expressions


def minutes(ms: Column | str) -> Column:
    """Milliseconds (a long, summed exactly) as minutes, rounded to 6 decimals."""
    return F.round(col(ms) / MS_PER_MINUTE, RATIO_DECIMALS)


def normalised(name: Column | str) -> Column:
    """A name as identities compare it: trimmed, inner whitespace collapsed, lower case; null when blank."""
    text = F.lower(F.trim(F.regexp_replace(col(name), r"\s+", " ")))
    return F.when(text != "", text)


def name_key(*normalised_parts: Column) -> Column:
    """A stable key for an item known by names only: ``name:`` + SHA-256 of the normalised names."""
    return F.concat(F.lit("name:"), F.sha2(F.concat_ws(_SEP, *normalised_parts), 256))


def iso_week_label(date: Column) -> Column:
    """``YYYY-Www``, the ISO week of the date (``2026-W53``)."""
    return F.concat(iso_year(date).cast("string"), F.lit("-W"), F.lpad(F.weekofyear(date).cast("string"), 2, "0"))


def distinct_count(column: str) -> Column:
    """Aggregate: the number of distinct non-null values. Counted as the size of the set of values so
    that several distinct counts in one aggregation need no Expand (one row copy per distinct column)."""
    return F.size(F.collect_set(column))


def latest(*columns: str) -> Column:
    """Aggregate: the struct of ``columns`` of the group's latest play (by ``ended_at``, then
    ``play_key``): how a track, artist or album gets its one displayed name."""
    return F.max(F.struct("ended_at", "play_key", *columns))


# ---------------------------------------------------------------------------------------------------
# Plays: one row per play, classified and identified


def unique_plays(plays: DataFrame) -> DataFrame:
    """One row per listener and play; key ``listener, play_key``.

    Silver already keeps one row per ``play_key``; gold keeps one again so that duplicated silver (the
    same export delivered twice) cannot double count. Of the copies it keeps the one silver prefers: an
    export's over the API's (an export measured ``ms_played``; the API's is the track's duration), then
    the most precise timestamp (extended seconds over classic minutes), then one that names its track
    id and says whether it was skipped, then the longest. Every column gold reads is in the order, so
    the kept copy does not depend on the order silver's rows come in.
    """
    precision = F.create_map(*[F.lit(x) for k, v in PRECISION_RANK.items() for x in (k, v)])
    order = [
        (F.col("source_format") == API_FORMAT).asc_nulls_last(),
        F.coalesce(F.try_element_at(precision, F.col("ended_at_precision")), F.lit(0)).desc(),
        F.col("track_id").asc_nulls_last(), F.col("skipped").asc_nulls_last(),
        F.col("ms_played").desc_nulls_last(),
        *(F.col(c).asc_nulls_last() for c in ("ended_at", "content_kind", "track_name", "artist_name",
                                              "album_name", "is_stream", "source_format", "export_id")),
    ]
    return first_per_key(plays.where(F.col("listener").isNotNull() & F.col("ended_at").isNotNull()),
                         ["listener", "play_key"], order)


def resolved_track_ids(plays: DataFrame, tracks: DataFrame) -> DataFrame:
    """One row per listener and normalised (artist, track) names of a name-only track play that
    matches a known track; key ``listener, norm_artist, norm_track``; value ``resolved_track_id``.

    ``plays`` has ``listener``, ``content_kind``, ``track_id``, ``norm_artist``, ``norm_track``. A known
    track has the same normalised artist and track names and is in the catalogue (silver tracks) or in
    the same listener's own plays that carry an id (extended exports and the API name the id and the
    names): another listener's plays never decide. When several ids share the names (an album track
    and its single), the one the listener played most under those names wins, then the smallest id.
    """
    names = ["norm_artist", "norm_track"]
    named = (plays.where(F.col("content_kind") == "track")
             .where(F.col("norm_artist").isNotNull() & F.col("norm_track").isNotNull()))
    catalogue = (tracks.where(F.col("track_id").isNotNull())
                 .select(normalised("artist_name").alias("norm_artist"), normalised("name").alias("norm_track"),
                         "track_id", F.lit(0).cast("long").alias("id_plays")))
    own = (named.where(F.col("track_id").isNotNull())
           .groupBy("listener", *names, "track_id").agg(F.count(F.lit(1)).alias("id_plays")))
    wanted = named.where(F.col("track_id").isNull()).select("listener", *names).distinct()
    matches = (wanted.join(F.broadcast(catalogue), names, how="inner")
               .unionByName(wanted.join(own, ["listener", *names], how="inner")))
    best = first_per_key(matches, ["listener", *names], [F.desc("id_plays"), F.asc("track_id")])
    return best.select("listener", *names, F.col("track_id").alias("resolved_track_id"))


def _catalogue_tracks(tracks: DataFrame) -> DataFrame:
    """Silver tracks, one row per id, with the columns a play takes from them; key ``track_id``."""
    columns = ["name", "artist_name", "artist_id", "album_id", "album_name", "duration_ms", "popularity"]
    return first_per_key(tracks.where(F.col("track_id").isNotNull()).select("track_id", *columns), ["track_id"],
                         [F.col(c).asc_nulls_last() for c in columns])


def _catalogue_albums(albums: DataFrame) -> DataFrame:
    """Silver albums as a name lookup: one row per normalised (album artist, album name), the
    smallest album id; key ``lookup_artist, lookup_album``."""
    return (albums.where(F.col("album_id").isNotNull())
            .select(normalised("artist_name").alias("lookup_artist"),
                    normalised("name").alias("lookup_album"), "album_id")
            .where(F.col("lookup_artist").isNotNull() & F.col("lookup_album").isNotNull())
            .groupBy("lookup_artist", "lookup_album").agg(F.min("album_id").alias("name_album_id")))


def played_items(plays: DataFrame) -> DataFrame:
    """One row per listener and play (:func:`unique_plays`); key ``listener, play_key``.

    The columns gold reads, ``ms_played`` 0 when silver has none, and the play's ``norm_artist`` and
    ``norm_track`` (:func:`normalised`): the input of :func:`listening_events`, which reads it several
    times (``main`` caches it).
    """
    return unique_plays(plays).select(
        "listener", "play_key", "ended_at", "content_kind", "track_id", "track_name", "artist_name",
        "album_name", F.coalesce("ms_played", F.lit(0).cast("long")).alias("ms_played"), "is_stream",
        "skipped", normalised("artist_name").alias("norm_artist"),
        normalised("track_name").alias("norm_track"),
    )


def listening_events(played: DataFrame, tracks: DataFrame, albums: DataFrame, settings: GoldSettings) -> DataFrame:
    """One row per play of every kind, from :func:`played_items`; key ``listener, play_key``.

    - time: ``ended_at`` (when playback stopped, UTC: what every source records), its ``play_date``,
      ``week_start`` (ISO Monday) and ``hour``;
    - measures: ``ms_played`` (0 when silver has none), ``is_stream`` (at least 30 s, silver's flag),
      ``is_skip`` (the source's ``skipped`` flag; when the source does not say, ``ms_played`` below
      ``--skip-threshold-ms``);
    - ``kind``: ``music`` (a track with an identity: a track id, or an artist and a track name that are
      not the classic export's "Unknown Artist"/"Unknown Track"), ``podcast`` (episodes and
      audiobooks) or ``other`` (anything else, e.g. an item nothing identifies);
    - for music only, the identity: ``track_id`` (the play's, else the known track with the same
      normalised names: :func:`resolved_track_ids`), ``track_key`` (the id, else a name key),
      ``artist_key`` (the normalised artist name), ``album_key`` (the album id from the catalogue or
      the catalogue album with the same normalised names, else a name key; null without an album
      name), display names (the catalogue's when the track is in it, else the play's) and the
      catalogue's ``catalogue_artist_id``, ``duration_ms`` and ``popularity``.
    """
    ids = resolved_track_ids(played, tracks)
    play = (played.join(ids, ["listener", "norm_artist", "norm_track"], how="left")
            .select("*", F.coalesce("track_id", "resolved_track_id").alias("eff_track_id")).alias("play"))
    catalogue = F.broadcast(_catalogue_tracks(tracks)).alias("catalogue")
    named = play.join(catalogue, F.col("play.eff_track_id") == F.col("catalogue.track_id"), how="left").select(
        "play.*",
        F.coalesce("catalogue.name", "play.track_name").alias("show_track"),
        F.coalesce("catalogue.artist_name", "play.artist_name").alias("show_artist"),
        F.coalesce("catalogue.album_name", "play.album_name").alias("show_album"),
        F.col("catalogue.album_id").alias("catalogue_album_id"),
        F.col("catalogue.artist_id").alias("catalogue_artist_id"),
        F.col("catalogue.duration_ms").alias("catalogue_duration_ms"),
        F.col("catalogue.popularity").alias("catalogue_popularity"),
    ).select("*", normalised("show_artist").alias("norm_show_artist"),
             normalised("show_album").alias("norm_album"))
    album_names = F.broadcast(_catalogue_albums(albums))
    with_albums = named.join(
        album_names,
        (F.col("norm_show_artist") == F.col("lookup_artist")) & (F.col("norm_album") == F.col("lookup_album"))
        & F.col("catalogue_album_id").isNull(),
        how="left",
    )

    placeholder = F.col("eff_track_id").isNull() & (
        (F.col("norm_artist") == PLACEHOLDER_ARTIST) | (F.col("norm_track") == PLACEHOLDER_TRACK))
    identity = normalised("show_artist").isNotNull() & normalised("show_track").isNotNull()
    kind = (F.when((F.col("content_kind") == "track") & identity & ~placeholder, F.lit(MUSIC))
            .when(F.col("content_kind").isin("episode", "audiobook"), F.lit(PODCAST))
            .otherwise(F.lit(OTHER)))
    ms = F.col("ms_played")
    classified = with_albums.select(
        "*", kind.alias("kind"), F.to_date("ended_at").alias("play_date"),
        F.coalesce("is_stream", ms >= STREAM_MS).alias("stream"),
        F.coalesce("skipped", ms < settings.skip_threshold_ms).alias("skip"),
    )
    music = F.col("kind") == MUSIC
    album_id = F.coalesce("catalogue_album_id", "name_album_id")
    album_key = F.coalesce(album_id, F.when(F.col("norm_album").isNotNull(),
                                            name_key(F.col("norm_show_artist"), F.col("norm_album"))))
    return classified.select(
        "listener", "play_key", "ended_at", "play_date", week_start(F.col("play_date")).alias("week_start"),
        F.hour("ended_at").alias("hour"), "ms_played", F.col("stream").alias("is_stream"),
        F.col("skip").alias("is_skip"), "kind",
        F.when(music, F.coalesce("eff_track_id", name_key(F.col("norm_show_artist"), normalised("show_track"))))
        .alias("track_key"),
        F.when(music, F.col("eff_track_id")).alias("track_id"),
        F.when(music, F.col("show_track")).alias("track_name"),
        F.when(music, F.col("norm_show_artist")).alias("artist_key"),
        F.when(music, F.col("show_artist")).alias("artist_name"),
        F.when(music, album_key).alias("album_key"),
        F.when(music, album_id).alias("album_id"),
        F.when(music & album_key.isNotNull(), F.col("show_album")).alias("album_name"),
        F.when(music, F.col("catalogue_artist_id")).alias("catalogue_artist_id"),
        F.when(music, F.col("catalogue_duration_ms")).alias("duration_ms"),
        F.when(music, F.col("catalogue_popularity")).alias("popularity"),
    )


def music_events(events: DataFrame) -> DataFrame:
    """The music plays of :func:`listening_events` (``kind = 'music'``): what every music table counts."""
    return events.where(F.col("kind") == MUSIC)


def _play_measures() -> list[Column]:
    """Aggregates every music table shares: plays, streams, skips and milliseconds."""
    return [F.count(F.lit(1)).alias("plays"), F.count_if("is_stream").alias("streams"),
            F.count_if("is_skip").alias("skips"), F.sum("ms_played").alias("ms_played")]


# ---------------------------------------------------------------------------------------------------
# Facts


def fact_track_breakdown(music: DataFrame) -> DataFrame:
    """One row per listener and track; key ``listener, track_key``.

    ``plays``, ``streams``, ``skips``, ``skip_rate = skips / plays``, ``ms_played``,
    ``listening_minutes = ms_played / 60,000``, ``avg_minutes_per_play``, the catalogue's
    ``duration_ms`` and ``popularity`` (null when the track is not in it), ``completion_ratio`` (mean
    over the plays of ``min(ms_played / duration_ms, 1)``, when the duration is known),
    ``first_played_at``/``last_played_at`` (``ended_at``) and ``days_played`` (distinct UTC dates).
    Names, ``artist_key`` and ``album_key`` are those of the latest play.
    """
    completion = F.when(F.col("duration_ms") > 0,
                        F.least(F.col("ms_played") / F.col("duration_ms"), F.lit(1.0)))
    per_track = music.groupBy("listener", "track_key").agg(
        *_play_measures(),
        exact_mean(completion).alias("completion_ratio"),
        F.min("ended_at").alias("first_played_at"), F.max("ended_at").alias("last_played_at"),
        distinct_count("play_date").alias("days_played"),
        latest("track_id", "track_name", "artist_key", "artist_name", "album_key", "album_name",
               "duration_ms", "popularity").alias("last"),
    )
    return per_track.select(
        "listener", "track_key", "last.track_id", "last.track_name", "last.artist_key", "last.artist_name",
        "last.album_key", "last.album_name", "plays", "streams", "skips",
        ratio("skips", "plays").alias("skip_rate"), "ms_played",
        minutes("ms_played").alias("listening_minutes"),
        F.round(F.col("ms_played") / F.col("plays") / MS_PER_MINUTE, RATIO_DECIMALS).alias("avg_minutes_per_play"),
        "last.duration_ms", "last.popularity", "completion_ratio", "first_played_at", "last_played_at",
        "days_played",
    )


# ---------------------------------------------------------------------------------------------------
# Artists


def artist_loyalty(music: DataFrame, settings: GoldSettings) -> DataFrame:
    """One row per listener and artist the listener streamed; key ``listener, artist_key``.

    Weeks are ISO weeks; only streams count. ``stream_weeks`` = weeks in which the listener streamed
    the artist; ``window_weeks`` = weeks in which the listener streamed any music, from the week of
    their first stream of the artist to their last such week; ``return_rate = stream_weeks /
    window_weeks``; ``persistence = 1 − exp(−stream_weeks / k)`` (k = ``--loyalty-persistence-weeks``,
    4); ``loyalty_score = round(100 × return_rate × persistence, 2)`` (0–100).
    """
    artist_weeks = music.where("is_stream").select("listener", "artist_key", "week_start").distinct()
    # Every week the listener streamed music is some artist's week, so the dense rank of a week from
    # the listener's last one back is the number of their active weeks from it to the end: a window
    # instead of a join of each artist with the listener's weeks.
    from_the_end = Window.partitionBy("listener").orderBy(F.desc("week_start"))
    ranked = artist_weeks.select("*", F.dense_rank().over(from_the_end).alias("weeks_to_end"))
    per_artist = ranked.groupBy("listener", "artist_key").agg(
        F.count(F.lit(1)).alias("stream_weeks"), F.max("weeks_to_end").cast("long").alias("window_weeks"))
    rate = F.col("stream_weeks") / F.col("window_weeks")
    persistence = 1 - F.exp(-F.col("stream_weeks") / F.lit(float(settings.loyalty_persistence_weeks)))
    return per_artist.select(
        "listener", "artist_key", "stream_weeks", "window_weeks",
        F.round(rate, RATIO_DECIMALS).alias("return_rate"),
        F.round(persistence, RATIO_DECIMALS).alias("persistence"),
        F.round(100 * rate * persistence, 2).alias("loyalty_score"),
    )


def agg_listener_artists(music: DataFrame, artists: DataFrame, settings: GoldSettings) -> DataFrame:
    """One row per listener and artist; key ``listener, artist_key`` (the normalised artist name).

    ``plays``, ``streams``, ``skips``, ``skip_rate``, ``ms_played``, ``listening_minutes``,
    ``distinct_tracks``, ``distinct_albums`` (known albums), ``first_played_at``/``last_played_at``,
    ``active_weeks`` (ISO weeks with a play), the catalogue's ``artist_id`` (that of the artist's
    latest play of a catalogue track, else the catalogue artist of the same normalised name), its
    ``genres`` (sorted, comma-joined), ``artist_popularity`` and ``followers`` when known; ``rank_by_minutes`` (1 = most
    milliseconds, then streams, then artist_key) and ``rank_by_tracks`` (most distinct tracks, then
    milliseconds, then artist_key) within the listener; and :func:`artist_loyalty` (``loyalty_score``
    0 and ``stream_weeks`` 0 for an artist never streamed, whose other loyalty columns are null).
    """
    in_catalogue = F.when(F.col("catalogue_artist_id").isNotNull(),
                          F.struct("ended_at", "play_key", "catalogue_artist_id"))
    per_artist = music.groupBy("listener", "artist_key").agg(
        *_play_measures(),
        distinct_count("track_key").alias("distinct_tracks"),
        distinct_count("album_key").alias("distinct_albums"),
        F.min("ended_at").alias("first_played_at"), F.max("ended_at").alias("last_played_at"),
        distinct_count("week_start").alias("active_weeks"),
        latest("artist_name").alias("last"),
        F.max(in_catalogue).alias("last_in_catalogue"),
    )
    # The artist id: the catalogue's for the artist's latest play of a catalogue track, else the
    # catalogue artist with the same normalised name (the smallest id).
    by_name = (artists.where(F.col("artist_id").isNotNull())
               .select(normalised("name").alias("artist_key"), "artist_id")
               .groupBy("artist_key").agg(F.min("artist_id").alias("name_artist_id")))
    identified = per_artist.join(F.broadcast(by_name), "artist_key", how="left").select(
        "*", F.coalesce("last_in_catalogue.catalogue_artist_id", "name_artist_id").alias("artist_id"))
    catalogue = first_per_key(
        artists.where(F.col("artist_id").isNotNull()).select(
            "artist_id",
            F.when(F.size("genres") > 0, F.array_join(F.array_sort(F.array_distinct("genres")), ", "))
            .alias("genres"),
            F.col("popularity").alias("artist_popularity"), "followers"),
        ["artist_id"], [F.col(c).asc_nulls_last() for c in ("genres", "artist_popularity", "followers")])
    described = (identified.join(F.broadcast(catalogue), "artist_id", how="left")
                 .join(artist_loyalty(music, settings), ["listener", "artist_key"], how="left"))
    listener = Window.partitionBy("listener")
    by_minutes = listener.orderBy(F.desc("ms_played"), F.desc("streams"), F.asc("artist_key"))
    by_tracks = listener.orderBy(F.desc("distinct_tracks"), F.desc("ms_played"), F.asc("artist_key"))
    return described.select(
        "listener", "artist_key", "last.artist_name", "artist_id", "plays", "streams", "skips",
        ratio("skips", "plays").alias("skip_rate"), "ms_played", minutes("ms_played").alias("listening_minutes"),
        "distinct_tracks", "distinct_albums", "first_played_at", "last_played_at", "active_weeks", "genres",
        "artist_popularity", "followers",
        F.row_number().over(by_minutes).alias("rank_by_minutes"),
        F.row_number().over(by_tracks).alias("rank_by_tracks"),
        F.coalesce("stream_weeks", F.lit(0).cast("long")).alias("stream_weeks"), "window_weeks", "return_rate",
        F.coalesce("persistence", F.lit(0.0)).alias("persistence"),
        F.coalesce("loyalty_score", F.lit(0.0)).alias("loyalty_score"),
    )


# ---------------------------------------------------------------------------------------------------
# Albums


def agg_listener_albums(music: DataFrame, albums: DataFrame) -> DataFrame:
    """One row per listener and album played; key ``listener, album_key`` (plays without an album are
    left out: the classic export names none).

    ``plays``, ``streams``, ``skips``, ``ms_played``, ``listening_minutes``, ``distinct_tracks`` played,
    first/last played, the catalogue's ``album_id``, ``total_tracks``, ``album_type``,
    ``release_date``, ``release_year`` and ``label`` when known, and ``album_completion =
    min(distinct_tracks / total_tracks, 1)``. Names are the catalogue's, else the latest play's.
    """
    per_album = music.where(F.col("album_key").isNotNull()).groupBy("listener", "album_key").agg(
        *_play_measures(),
        distinct_count("track_key").alias("distinct_tracks"),
        F.min("ended_at").alias("first_played_at"), F.max("ended_at").alias("last_played_at"),
        latest("album_id", "album_name", "artist_name").alias("last"),
    )
    columns = ["name", "artist_name", "album_type", "total_tracks", "release_date", "release_year", "label"]
    catalogue = first_per_key(albums.where(F.col("album_id").isNotNull()).select("album_id", *columns),
                              ["album_id"], [F.col(c).asc_nulls_last() for c in columns])
    played_album, catalogue = per_album.alias("played"), F.broadcast(catalogue).alias("catalogue")
    joined = played_album.join(catalogue, F.col("played.last.album_id") == F.col("catalogue.album_id"), how="left")
    total_tracks = F.col("catalogue.total_tracks")
    return joined.select(
        "played.listener", "played.album_key", F.col("played.last.album_id").alias("album_id"),
        F.coalesce("catalogue.name", "played.last.album_name").alias("album_name"),
        F.coalesce("catalogue.artist_name", "played.last.artist_name").alias("artist_name"),
        "played.plays", "played.streams", "played.skips", "played.ms_played",
        minutes("played.ms_played").alias("listening_minutes"),
        "played.distinct_tracks", "played.first_played_at", "played.last_played_at",
        "catalogue.album_type", "catalogue.total_tracks", "catalogue.release_date", "catalogue.release_year",
        "catalogue.label",
        # least() skips nulls: the guard keeps an unknown total null rather than 1.
        F.when(total_tracks > 0, F.least(ratio("played.distinct_tracks", total_tracks), F.lit(1.0)))
        .alias("album_completion"),
    )


# ---------------------------------------------------------------------------------------------------
# Time


def dim_date(events: DataFrame) -> DataFrame:
    """One row per UTC date with at least one play (of any listener, any kind), with its calendar
    attributes (:func:`~spark_jobs.common.gold.calendar`); key ``date``."""
    return calendar(events.select(F.col("play_date").alias("date")))


def _periods(moment: Column, grains: tuple[str, ...]) -> Column:
    """An array with one struct per grain: ``grain``, ``period`` (the string key), ``period_start``
    (day, week, month), ``day_of_week_number`` (weekday grains) and ``hour`` (hour grains)."""
    date = F.to_date(moment)
    dow, hour = iso_day_of_week(date), F.hour(moment)
    no_date, no_int = F.lit(None).cast("date"), F.lit(None).cast("int")
    two_digit_hour = F.lpad(hour.cast("string"), 2, "0")
    rows = {
        "day": (F.date_format(date, "yyyy-MM-dd"), date, no_int, no_int),
        "week": (iso_week_label(date), week_start(date), no_int, no_int),
        "month": (F.date_format(date, "yyyy-MM"), F.trunc(date, "month"), no_int, no_int),
        "weekday": (dow.cast("string"), no_date, dow, no_int),
        "hour": (two_digit_hour, no_date, no_int, hour),
        "weekday_hour": (F.concat(dow.cast("string"), F.lit("-"), two_digit_hour), no_date, dow, hour),
    }
    return F.array(*[
        F.struct(F.lit(g).alias("grain"), rows[g][0].alias("period"), rows[g][1].alias("period_start"),
                 rows[g][2].alias("day_of_week_number"), rows[g][3].alias("hour"))
        for g in grains
    ])


def agg_listening_timeline(events: DataFrame) -> DataFrame:
    """One row per listener, grain and period with plays; key ``listener, grain, period``.

    Grains (UTC, by ``ended_at``): ``day`` (``2026-01-31``), ``week`` (ISO, ``2026-W05``), ``month``
    (``2026-01``) with their ``period_start`` date (and ``date`` on day rows); the cyclic ``weekday``
    (``1`` = Monday … ``7``), ``hour`` (``00`` … ``23``) and ``weekday_hour`` (``1-00`` … ``7-23``) with
    ``day_of_week_number`` and ``hour``. Measures over every kind: ``plays``, ``streams``, ``skips``,
    ``ms_played``, ``listening_minutes``; split by kind: ``music_plays``, ``music_minutes``,
    ``podcast_minutes`` (episodes and audiobooks), ``other_minutes``; music only: ``distinct_artists``,
    ``distinct_tracks``; and for the period grains ``new_artists`` (artists whose first stream by the
    listener, ever, falls in the period; null on the cyclic grains).
    """
    music, podcast = F.col("kind") == MUSIC, F.col("kind") == PODCAST

    def kind_ms(condition: Column) -> Column:
        return F.sum(F.when(condition, F.col("ms_played")).otherwise(F.lit(0).cast("long")))

    exploded = events.select("*", F.explode(_periods(F.col("ended_at"), GRAINS)).alias("p"))
    keys = ["listener", "grain", "period", "period_start", "day_of_week_number", "hour"]
    per_period = exploded.groupBy(
        "listener", *(F.col(f"p.{c}").alias(c) for c in keys[1:])).agg(
        F.count(F.lit(1)).alias("plays"), F.count_if("is_stream").alias("streams"),
        F.count_if("is_skip").alias("skips"), F.sum("ms_played").alias("ms_played"),
        F.count_if(music).alias("music_plays"), kind_ms(music).alias("music_ms"),
        kind_ms(podcast).alias("podcast_ms"), kind_ms(F.col("kind") == OTHER).alias("other_ms"),
        distinct_count("artist_key").alias("distinct_artists"),
        distinct_count("track_key").alias("distinct_tracks"),
    )
    firsts = (music_events(events).where("is_stream").groupBy("listener", "artist_key")
              .agg(F.min("ended_at").alias("first_stream_at")))
    new_artists = (firsts.select("listener", F.explode(_periods(F.col("first_stream_at"), PERIOD_GRAINS)).alias("p"))
                   .groupBy("listener", F.col("p.grain").alias("grain"), F.col("p.period").alias("period"))
                   .agg(F.count(F.lit(1)).alias("new_artists")))
    joined = per_period.join(new_artists, ["listener", "grain", "period"], how="left")
    return joined.select(
        "listener", "grain", "period", "period_start",
        F.when(F.col("grain") == "day", F.col("period_start")).alias("date"),
        "day_of_week_number", "hour", "plays", "streams", "skips", "ms_played",
        minutes("ms_played").alias("listening_minutes"), "music_plays",
        minutes("music_ms").alias("music_minutes"), minutes("podcast_ms").alias("podcast_minutes"),
        minutes("other_ms").alias("other_minutes"), "distinct_artists", "distinct_tracks",
        F.when(F.col("grain").isin(*PERIOD_GRAINS), F.coalesce("new_artists", F.lit(0).cast("long")))
        .alias("new_artists"),
    )


# ---------------------------------------------------------------------------------------------------
# Top tracks


def tier(rank: Column) -> Column:
    """``Top 10`` (1–10), ``Top 11-25`` (11–25), ``Top 26-50`` (26–50)."""
    expr = None
    for bound, label in TIERS:
        expr = F.when(rank <= bound, F.lit(label)) if expr is None else expr.when(rank <= bound, F.lit(label))
    return expr


def agg_top_tracks(track_breakdown: DataFrame) -> DataFrame:
    """One row per listener and rank, for each listener's top 50 streamed tracks; key ``listener, rank``.

    Tracks with at least one stream, ranked by ``streams``, then ``ms_played``, then ``track_key``
    (each rank is one track), with their ``tier`` and the track's names and measures from
    :func:`fact_track_breakdown`.
    """
    order = Window.partitionBy("listener").orderBy(F.desc("streams"), F.desc("ms_played"), F.asc("track_key"))
    ranked = (track_breakdown.where(F.col("streams") > 0)
              .select("*", F.row_number().over(order).alias("rank"))
              .where(F.col("rank") <= TOP_TRACKS))
    return ranked.select(
        "listener", "rank", tier(F.col("rank")).alias("tier"), "track_key", "track_id", "track_name",
        "artist_key", "artist_name", "album_name", "streams", "plays", "skips", "ms_played",
        "listening_minutes", "first_played_at", "last_played_at",
    )


# ---------------------------------------------------------------------------------------------------
# The application


def gold_tables(plays: DataFrame, tracks: DataFrame, artists: DataFrame, albums: DataFrame,
                settings: GoldSettings) -> tuple[dict[str, DataFrame], list[DataFrame]]:
    """Every gold table from the silver frames, and the frames cached on the way (to unpersist)."""
    played = played_items(plays).cache()
    events = listening_events(played, tracks, albums, settings).cache()
    music = music_events(events)
    breakdown = fact_track_breakdown(music).cache()
    tables = {
        "fact_track_breakdown": breakdown,
        "agg_listener_artists": agg_listener_artists(music, artists, settings),
        "agg_listener_albums": agg_listener_albums(music, albums),
        "dim_date": dim_date(events),
        "agg_listening_timeline": agg_listening_timeline(events),
        "agg_top_tracks": agg_top_tracks(breakdown),
    }
    return tables, [breakdown, events, played]


# ---------------------------------------------------------------------------------------------------
# Incremental runs: the listeners whose gold changed


def catalogue_listeners(plays: DataFrame, tracks: DataFrame, changed_tracks: DataFrame, changed_artists: DataFrame,
                        changed_albums: DataFrame) -> DataFrame:
    """The listeners whose gold a change of the catalogue can change; one column ``listener``.

    ``tracks``: the catalogue's tracks before and after the change; ``changed_*``: the old and new rows of
    the catalogue keys that changed. A play reaches the catalogue through its track id, or its normalised
    artist and track names (:func:`resolved_track_ids`), then the catalogue track's album and artist
    ids and names, or the normalised artist name alone (artists and albums by name). So a listener is
    touched when one of their plays names a changed track id or a changed artist name (of a changed
    track, artist or album), or reaches a catalogue track that is one, or whose album or artist changed.
    """
    names = (changed_tracks.select(normalised("artist_name").alias("norm_artist"))
             .unionByName(changed_artists.select(normalised("name").alias("norm_artist")))
             .unionByName(changed_albums.select(normalised("artist_name").alias("norm_artist")))
             .where(F.col("norm_artist").isNotNull()).distinct())
    track_ids = changed_tracks.select("track_id").distinct()
    catalogue = tracks.select("track_id", normalised("artist_name").alias("norm_artist"),
                              normalised("name").alias("norm_track"), "album_id", "artist_id")
    touched = (catalogue.join(track_ids, "track_id", how="left_semi")
               .unionByName(catalogue.join(names, "norm_artist", how="left_semi"))
               .unionByName(catalogue.join(changed_albums.select("album_id").distinct(), "album_id", how="left_semi"))
               .unionByName(catalogue.join(changed_artists.select("artist_id").distinct(), "artist_id",
                                           how="left_semi"))
               .select("track_id", "norm_artist", "norm_track").distinct())
    played = plays.select("listener", "track_id", normalised("artist_name").alias("norm_artist"),
                          normalised("track_name").alias("norm_track"))
    return (played.join(track_ids, "track_id", how="left_semi")
            .unionByName(played.join(names, "norm_artist", how="left_semi"))
            .unionByName(played.join(touched.select("track_id").distinct(), "track_id", how="left_semi"))
            .unionByName(played.join(touched.select("norm_artist", "norm_track").distinct(),
                                     ["norm_artist", "norm_track"], how="left_semi"))
            .select("listener").distinct())


GOLD_KEYS = {
    "fact_track_breakdown": ("listener", "track_key"),
    "agg_listener_artists": ("listener", "artist_key"),
    "agg_listener_albums": ("listener", "album_key"),
    "dim_date": ("date",),
    "agg_listening_timeline": ("listener", "grain", "period"),
    "agg_top_tracks": ("listener", "rank"),
}
CATALOGUE = ("tracks", "artists", "albums")


def _sql_text(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def merge_listeners(spark: SparkSession, rows: DataFrame, uri: str, key: tuple[str, ...],
                    listeners: list[str] | None) -> None:
    """One MERGE making the gold table at ``uri`` hold ``rows`` for ``listeners`` (None: for every key):
    rows inserted, updated where a column differs, and the listeners' other rows deleted."""
    from delta.tables import DeltaTable

    matches = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in key)
    differs = "NOT (" + " AND ".join(f"t.`{c}` <=> s.`{c}`" for c in rows.columns) + ")"
    values = {f"`{c}`": f"s.`{c}`" for c in rows.columns}
    gone = None if listeners is None else f"t.listener IN ({', '.join(_sql_text(v) for v in listeners)})"
    (DeltaTable.forPath(spark, uri).alias("t").merge(rows.alias("s"), matches)
     .whenMatchedUpdate(condition=differs, set=values)
     .whenNotMatchedInsert(values=values)
     .whenNotMatchedBySourceDelete(condition=gone)
     .execute())


def changed_listeners(spark: SparkSession, plan: GoldPlan, uris: dict[str, str], silver: dict[str, DataFrame]
                      ) -> tuple[list[str], int]:
    """The listeners an incremental run recomputes: those of the plays silver inserted, updated or deleted
    since the last gold run, and those a catalogue change touches (:func:`catalogue_listeners`, which scans
    the plays' names and track ids: only when the catalogue changed). Returns them, and how many the
    catalogue alone added."""
    def feed(name: str) -> DataFrame | None:
        if name not in plan.since:
            return None
        return changed_rows(spark, uris[name], plan.since[name], plan.silver_versions[name])

    plays = feed("plays")
    by_plays = {r["listener"] for r in plays.select("listener").distinct().collect()} if plays is not None else set()
    feeds = {name: feed(name) for name in CATALOGUE}
    if all(f is None for f in feeds.values()):
        return sorted(by_plays), 0
    changed = {name: (f if f is not None else silver[name]).select(*silver[name].columns)
               .where(F.lit(f is not None)) for name, f in feeds.items()}
    tracks = silver["tracks"]
    if "tracks" in plan.since:
        tracks = tracks.unionByName(read_at(spark, uris["tracks"], plan.since["tracks"]).select(*tracks.columns))
    touched = catalogue_listeners(silver["plays"], tracks, changed["tracks"], changed["artists"], changed["albums"])
    by_catalogue = {r["listener"] for r in touched.collect()}
    return sorted(by_plays | by_catalogue), len(by_catalogue - by_plays)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv, "Spotify gold: silver plays and catalogue → listening analytics",
                      options=GoldSettings().options())
    settings = GoldSettings.from_options(args.extra)
    spark = spark_session(f"pulse-{args.source}-gold")
    fit_to_input(spark, [args.zone("silver"), args.zone("gold")])
    datasets = {d.name: d for d in (PLAYS, TRACKS, ARTISTS, ALBUMS)}
    uris = {name: args.zone("silver", name) for name in datasets}
    if not path_exists(spark, uris["plays"]):
        raise FileNotFoundError(f"silver dataset {uris['plays']} does not exist: run the spotify silver job first")
    # A run fed by exports alone may have no catalogue: it reads as empty, and is not in the plan.
    present = {name: uri for name, uri in uris.items() if path_exists(spark, f"{uri}/_delta_log")}
    gold_uris = {table: args.zone("gold", table) for table in GOLD_KEYS}
    plan = gold_plan(spark, args.zone("gold"), present, gold_uris, args.full_refresh,
                     settings.options())
    log.info("gold: %s", plan.describe())
    silver = {name: (read_at(spark, present[name], plan.silver_versions[name]) if name in present
                     else spark.createDataFrame([], d.schema)).select(*(F.col(f.name).cast(f.dataType)
                                                                        for f in d.schema))
              for name, d in datasets.items()}
    counts: dict = {"mode": plan.mode, "reason": plan.reason, "silver_versions": plan.silver_versions}

    if plan.incremental:
        listeners, by_catalogue = changed_listeners(spark, plan, uris, silver)
        counts["slices"] = {"listeners": len(listeners), "listeners_by_catalogue": by_catalogue}
        log.info("gold: recomputing %d listeners (%d of them for a catalogue change)", len(listeners), by_catalogue)
        if listeners:
            plays = silver["plays"].where(F.col("listener").isin(listeners))
            tables, cached = gold_tables(plays, silver["tracks"], silver["artists"], silver["albums"], settings)
            for table, frame in tables.items():
                if table != "dim_date":
                    merge_listeners(spark, frame, gold_uris[table], GOLD_KEYS[table], listeners)
            for frame in cached:
                frame.unpersist()
            timeline = spark.read.format("delta").load(gold_uris["agg_listening_timeline"])
            dates = dim_date_of_timeline(timeline)
            merge_listeners(spark, dates.coalesce(1), gold_uris["dim_date"], GOLD_KEYS["dim_date"], None)
    else:
        tables, cached = gold_tables(silver["plays"], silver["tracks"], silver["artists"], silver["albums"], settings)
        for table, frame in tables.items():
            write_gold(frame, args, table, SMALL_TABLES)
        for frame in cached:
            frame.unpersist()
    for uri in gold_uris.values():  # the warehouse load reads what each MERGE changed from it
        ensure_change_feed(spark, uri)
    record_gold_mark(spark, args.zone("gold"), plan, gold_uris, args.run_date)
    write_json(spark, f"{args.zone('gold')}/_counts.json", counts)


def dim_date_of_timeline(timeline: DataFrame) -> DataFrame:
    """:func:`dim_date` from the gold timeline: its day rows are every listener's dates with a play."""
    return calendar(timeline.where(F.col("grain") == "day").select("date"))


if __name__ == "__main__":
    main(sys.argv[1:])
