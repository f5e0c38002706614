"""Which definition a view (or impression) count was measured under, from its platform and dates.

The numbers called "views" are not one quantity. Every row a reader yields carries
``metric_definition``, one of the names below, so silver and gold never add counts of two
definitions without saying so. The dates come from the platforms' change logs
(``shared/realdata/creator/sources/*/NOTES.md``):

- YouTube counted a view only after some watching ("watch-gated"; the Analytics API keeps that
  number as ``engagedViews``). Shorts switched to counting every play from 2025-03-31; every format
  switched to counting at playback start in the 2026-08-24 revision (announced 24-27 August 2026).
- Instagram reported ``impressions`` (and ``plays`` for reels) until Graph API v22, when ``views``
  replaced them for every version on 2025-04-21; Meta's exports switched their column from
  "Impressions" to "Views" with it. An Instagram file's column says which it holds.
- TikTok's "video views" have had one definition (a view counts when playback starts).
"""

from __future__ import annotations

from datetime import date

YOUTUBE_VIEWS_WATCH_GATED = "youtube_views_watch_gated"
"""A YouTube view counted after some watching: long-form before 2026-08-24, Shorts before 2025-03-31,
and Studio's "Engaged views" at any date."""
YOUTUBE_VIEWS_PLAYBACK_START = "youtube_views_playback_start"
"""A YouTube view counted when playback starts: Shorts from 2025-03-31, every format from 2026-08-24."""
YOUTUBE_VIEWS_MIXED = "youtube_views_mixed"
"""A YouTube count that adds views of both definitions: a period across a change date, or a channel
total between the two change dates (its Shorts counted at playback start, its long-form watch-gated)."""
YOUTUBE_VIEWS_UNKNOWN = "youtube_views_unknown"
"""A YouTube count whose period is not known (Table data without its period), or a video of unknown
format (no duration) between the two change dates."""
INSTAGRAM_IMPRESSIONS = "instagram_impressions"
"""Instagram's impressions (times shown), reported until 2025-04-21."""
INSTAGRAM_VIEWS = "instagram_views"
"""Instagram's views (every display or play), which replaced impressions and plays on 2025-04-21."""
TIKTOK_VIEWS = "tiktok_views"
"""TikTok's video views (counted when playback starts)."""

DEFINITIONS = (YOUTUBE_VIEWS_WATCH_GATED, YOUTUBE_VIEWS_PLAYBACK_START, YOUTUBE_VIEWS_MIXED, YOUTUBE_VIEWS_UNKNOWN,
               INSTAGRAM_IMPRESSIONS, INSTAGRAM_VIEWS, TIKTOK_VIEWS)

YOUTUBE_SHORTS_VIEW_CHANGE = date(2025, 3, 31)
YOUTUBE_ALL_FORMATS_VIEW_CHANGE = date(2026, 8, 24)
INSTAGRAM_VIEWS_SINCE = date(2025, 4, 21)
SHORTS_UP_TO_3_MINUTES_SINCE = date(2024, 10, 15)
"""Shorts could be up to 60 s long before this date, up to 180 s from it."""


def youtube_is_short(duration_seconds: int | None, published: date | None) -> bool | None:
    """Whether a video is a Short, as far as an export tells: Studio's exports do not mark Shorts, so
    a video no longer than a Short could be (60 s, or 180 s when published from 2024-10-15) counts as
    one. None without a duration."""
    if duration_seconds is None:
        return None
    limit = 180 if published is not None and published >= SHORTS_UP_TO_3_MINUTES_SINCE else 60
    return duration_seconds <= limit


def youtube_view_definition(start: date | None, end: date | None, is_short: bool | None,
                            channel_total: bool = False) -> str:
    """The definition of YouTube views counted over ``[start, end]`` (one day: ``start == end``) for a
    Short (``is_short``), a long-form video (False), a video of unknown format (None), or all of a
    channel's videos (``channel_total``)."""
    if start is None or end is None:
        return YOUTUBE_VIEWS_UNKNOWN
    if end < YOUTUBE_SHORTS_VIEW_CHANGE:
        return YOUTUBE_VIEWS_WATCH_GATED
    if start >= YOUTUBE_ALL_FORMATS_VIEW_CHANGE:
        return YOUTUBE_VIEWS_PLAYBACK_START
    if channel_total:
        return YOUTUBE_VIEWS_MIXED  # between the change dates a channel's Shorts and long-form count differently
    if is_short is None:
        return YOUTUBE_VIEWS_UNKNOWN
    change = YOUTUBE_SHORTS_VIEW_CHANGE if is_short else YOUTUBE_ALL_FORMATS_VIEW_CHANGE
    if end < change:
        return YOUTUBE_VIEWS_WATCH_GATED
    if start >= change:
        return YOUTUBE_VIEWS_PLAYBACK_START
    return YOUTUBE_VIEWS_MIXED


def instagram_definition(column: str) -> str:
    """The definition of an Instagram count by the column the export put it in."""
    return INSTAGRAM_VIEWS if column.strip().lower() == "views" else INSTAGRAM_IMPRESSIONS
