"""Spotify listening analytics: the gold tables and what the quality gate asserts about them.

They mirror ``spark_jobs/spotify/gold.py``; every definition and formula is in
``docs/spotify_metrics.md``. The Spotify :class:`~pulse.sources.base.Source` takes ``GOLD_TABLES`` as
its ``gold_tables`` and ``GOLD_JOB_ARGS`` as its ``gold_job_args``.

Every table is per listener (``listener`` leads each key) except ``dim_date``, a calendar of
the dates with plays. A run may be fed by streaming-history exports alone, by the Web API alone
(recently played and the catalogue) or by both; only ``agg_listener_albums`` can then be legitimately
empty (the classic export names no album, and without the API there is no catalogue to find one in).
"""

from pulse.sources.base import ForeignKey, GoldTable
from spark_jobs.spotify.settings import GoldSettings

_RATIO = (0, 1)
_NON_NEGATIVE = (0, None)
_AT_LEAST_ONE = (1, None)
_POPULARITY = (0, 100)

# The gold job's thresholds, passed to the job on its command line; their one definition is
# spark_jobs/spotify/settings.py.
GOLD_JOB_ARGS = GoldSettings().job_args()

_PLAY_MEASURES = ("plays", "streams", "skips", "ms_played", "listening_minutes")

GOLD_TABLES = (
    GoldTable(
        "fact_track_breakdown",
        key=("listener", "track_key"),
        not_null=("track_name", "artist_key", "artist_name", *_PLAY_MEASURES, "skip_rate", "avg_minutes_per_play",
                  "first_played_at", "last_played_at", "days_played"),
        bounds={"plays": _AT_LEAST_ONE, "streams": _NON_NEGATIVE, "skips": _NON_NEGATIVE, "skip_rate": _RATIO,
                "ms_played": _NON_NEGATIVE, "listening_minutes": _NON_NEGATIVE,
                "completion_ratio": _RATIO, "days_played": _AT_LEAST_ONE, "popularity": _POPULARITY,
                "duration_ms": _NON_NEGATIVE},
        references=(
            ForeignKey(("listener", "artist_key"), "agg_listener_artists"),
            ForeignKey(("listener", "album_key"), "agg_listener_albums"),
        ),
    ),
    GoldTable(
        "agg_listener_artists",
        key=("listener", "artist_key"),
        not_null=("artist_name", *_PLAY_MEASURES, "skip_rate", "distinct_tracks", "distinct_albums",
                  "first_played_at", "last_played_at", "active_weeks", "rank_by_minutes", "rank_by_tracks",
                  "stream_weeks", "persistence", "loyalty_score"),
        bounds={"plays": _AT_LEAST_ONE, "skip_rate": _RATIO, "listening_minutes": _NON_NEGATIVE,
                "distinct_tracks": _AT_LEAST_ONE, "active_weeks": _AT_LEAST_ONE,
                "rank_by_minutes": _AT_LEAST_ONE, "rank_by_tracks": _AT_LEAST_ONE,
                "stream_weeks": _NON_NEGATIVE, "window_weeks": _AT_LEAST_ONE, "return_rate": _RATIO,
                "persistence": _RATIO, "loyalty_score": (0, 100), "artist_popularity": _POPULARITY,
                "followers": _NON_NEGATIVE},
    ),
    GoldTable(
        "agg_listener_albums",
        key=("listener", "album_key"),
        not_null=("album_name", *_PLAY_MEASURES, "distinct_tracks", "first_played_at", "last_played_at"),
        bounds={"plays": _AT_LEAST_ONE, "listening_minutes": _NON_NEGATIVE, "distinct_tracks": _AT_LEAST_ONE,
                "total_tracks": _AT_LEAST_ONE, "album_completion": _RATIO},
        allow_empty=True,
    ),
    GoldTable(
        "dim_date",
        key=("date",),
        not_null=("year", "quarter", "month", "month_name", "iso_year", "iso_week", "day_of_month", "day_of_week",
                  "day_of_week_number", "is_weekend", "week_start", "month_start"),
        bounds={"iso_week": (1, 53), "day_of_week_number": (1, 7), "quarter": (1, 4), "month": (1, 12)},
    ),
    GoldTable(
        "agg_listening_timeline",
        key=("listener", "grain", "period"),
        not_null=("plays", "streams", "skips", "ms_played", "listening_minutes", "music_plays", "music_minutes",
                  "podcast_minutes", "other_minutes", "distinct_artists", "distinct_tracks"),
        bounds={"plays": _AT_LEAST_ONE, "day_of_week_number": (1, 7), "hour": (0, 23),
                "listening_minutes": _NON_NEGATIVE, "new_artists": _NON_NEGATIVE},
        # Day rows carry their date; the other grains leave it null (not checked).
        references=(ForeignKey(("date",), "dim_date"),),
    ),
    GoldTable(
        "agg_top_tracks",
        key=("listener", "rank"),
        not_null=("tier", "track_key", "track_name", "artist_name", "streams", "plays", "ms_played",
                  "listening_minutes"),
        bounds={"rank": (1, 50), "streams": _AT_LEAST_ONE},
        references=(ForeignKey(("listener", "track_key"), "fact_track_breakdown"),),
    ),
)
