"""Which definition a view count was measured under, as Spark columns.

The rule is :mod:`pulse.creator_exports.definitions`' (the export readers label their rows with it); this
module is the same rule for the YouTube Data API's snapshots, as column expressions, because the ingest's
code does not ship to Spark. ``tests/spark/test_creator_cross_platform.py`` checks the two agree on every
case. In short (``docs/creator_metrics.md``, "Metric definitions"):

- YouTube counted a view after some watching (``youtube_views_watch_gated``) until Shorts switched to
  counting every play on 2025-03-31 and every format on 2026-08-24 (``youtube_views_playback_start``); a
  count over both rules is ``youtube_views_mixed``; a video of unknown format between the two dates is
  ``youtube_views_unknown``.
- A video no longer than a Short could be (60 s; 180 s when published from 2024-10-15) is taken as a Short:
  neither the API nor Studio marks Shorts.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column
from pyspark.sql import functions as F

YOUTUBE_VIEWS_WATCH_GATED = "youtube_views_watch_gated"
YOUTUBE_VIEWS_PLAYBACK_START = "youtube_views_playback_start"
YOUTUBE_VIEWS_MIXED = "youtube_views_mixed"
YOUTUBE_VIEWS_UNKNOWN = "youtube_views_unknown"
INSTAGRAM_IMPRESSIONS = "instagram_impressions"
INSTAGRAM_VIEWS = "instagram_views"
TIKTOK_VIEWS = "tiktok_views"

YOUTUBE_SHORTS_VIEW_CHANGE = dt.date(2025, 3, 31)
YOUTUBE_ALL_FORMATS_VIEW_CHANGE = dt.date(2026, 8, 24)
SHORTS_UP_TO_3_MINUTES_SINCE = dt.date(2024, 10, 15)

_ISO_DURATION = r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$"


def iso_duration_seconds(duration: Column) -> Column:
    """An ISO-8601 duration as the API writes it (``PT21M7S``, ``PT1H2S``, ``P1DT2H``, ``P0D``) in whole
    seconds; null when it is null or not such a duration."""
    parts = [F.coalesce(F.regexp_extract(duration, _ISO_DURATION, i).try_cast("long"), F.lit(0))
             for i in (1, 2, 3, 4)]
    seconds = parts[0] * 86_400 + parts[1] * 3_600 + parts[2] * 60 + parts[3]
    return F.when(duration.rlike(_ISO_DURATION) & (duration != "P") & (duration != "PT"), seconds)


def youtube_is_short(duration_seconds: Column, published: Column) -> Column:
    """Whether a video is a Short, as far as its duration tells: at most 60 s, or 180 s when published
    from 2024-10-15. Null without a duration."""
    limit = F.when(published >= F.lit(SHORTS_UP_TO_3_MINUTES_SINCE), F.lit(180)).otherwise(F.lit(60))
    return F.when(duration_seconds.isNotNull(), duration_seconds <= limit)


def youtube_view_definition(start: Column, end: Column, is_short: Column, channel_total: bool = False) -> Column:
    """The definition of YouTube views counted over the days ``[start, end]`` (a snapshot: the day it was
    taken, ``start == end``) for a Short, a long-form video (``is_short`` false), a video of unknown format
    (null), or all of a channel's videos (``channel_total``)."""
    shorts_change, all_change = F.lit(YOUTUBE_SHORTS_VIEW_CHANGE), F.lit(YOUTUBE_ALL_FORMATS_VIEW_CHANGE)
    known = (F.when(start.isNull() | end.isNull(), F.lit(YOUTUBE_VIEWS_UNKNOWN))
             .when(end < shorts_change, F.lit(YOUTUBE_VIEWS_WATCH_GATED))
             .when(start >= all_change, F.lit(YOUTUBE_VIEWS_PLAYBACK_START)))
    if channel_total:
        return known.otherwise(F.lit(YOUTUBE_VIEWS_MIXED))
    change = F.when(is_short, shorts_change).otherwise(all_change)
    return (known.when(is_short.isNull(), F.lit(YOUTUBE_VIEWS_UNKNOWN))
            .when(end < change, F.lit(YOUTUBE_VIEWS_WATCH_GATED))
            .when(start >= change, F.lit(YOUTUBE_VIEWS_PLAYBACK_START))
            .otherwise(F.lit(YOUTUBE_VIEWS_MIXED)))
