"""YouTube Studio "Advanced mode" exports: ``Table data.csv``, ``Chart data.csv`` and ``Totals.csv``.

Studio's export ("Comma-separated values") is a zip or folder named like ``Content 2026-09-12_2026-10-01
<Channel name>`` holding three files:

- **Table data**: one row per video (the ``Content`` dimension: video id, title, publish time,
  duration) with the chosen metrics over the export's period; its first data row is ``Total``, whose
  dimension cells are empty (kept in the facts as ``totals``, not yielded). Ids starting with ``-`` are
  written with a leading space: trimmed. Its period is not in the file: it comes from the folder or zip
  name, or is given by the caller (e.g. from the same export's Totals).
- **Chart data**: ``Date``, the same dimension columns, and one metric: one row per video and day.
- **Totals**: ``Date`` and one metric: the channel's daily total.

Metric headers are matched by name (``Views``, ``Watch time (hours)``, ``Subscribers``, ``Impressions``
or 2026's ``Thumbnail impressions``, …); a column Pulse does not know is named in the facts'
``ignored_columns`` and left out of the rows.
"""

from __future__ import annotations

import re
from datetime import date

from pulse.creator_exports.definitions import youtube_is_short, youtube_view_definition
from pulse.creator_exports.tables import COUNT, DECIMAL, DURATION, PERCENT, RAW, TEXT, Layout
from pulse.creator_exports.values import BadValue, parse_day_month

PLATFORM = "youtube"
TABLE, CHART, TOTALS = "youtube_studio_table", "youtube_studio_chart", "youtube_studio_totals"

METRICS = {
    "views": ("views", COUNT),
    "engaged views": ("engaged_views", COUNT),
    "watch time (hours)": ("watch_time_hours", DECIMAL),
    "subscribers": ("subscribers_net", COUNT),
    "subscribers gained": ("subscribers_gained", COUNT),
    "subscribers lost": ("subscribers_lost", COUNT),
    "impressions": ("impressions", COUNT),
    "thumbnail impressions": ("impressions", COUNT),
    "impressions click-through rate (%)": ("ctr_percent", PERCENT),
    "thumbnail click-through rate (%)": ("ctr_percent", PERCENT),
    "new viewers": ("new_viewers", COUNT),
    "regular viewers": ("regular_viewers", COUNT),
    "returning viewers": ("returning_viewers", COUNT),
    "unique viewers": ("unique_viewers", COUNT),
    "average view duration": ("average_view_duration_seconds", DURATION),
    "average percentage viewed (%)": ("average_percentage_viewed", PERCENT),
    "stayed to watch (%)": ("stayed_to_watch_percent", PERCENT),
    "likes": ("likes", COUNT),
    "dislikes": ("dislikes", COUNT),
    "comments added": ("comments", COUNT),
    "shares": ("shares", COUNT),
    "estimated revenue (usd)": ("estimated_revenue_usd", DECIMAL),
    "your estimated revenue (usd)": ("estimated_revenue_usd", DECIMAL),
}
"""Studio's metric headers (lower-cased) → row key and kind. Every row has every key (None when the
export did not select that metric), so one format's rows have one shape."""
METRIC_KEYS = tuple(dict.fromkeys(key for key, _ in METRICS.values()))

CONTENT_COLUMNS = {
    "content": ("content_id", RAW),
    "video title": ("title", TEXT),
    "video publish time": ("published", RAW),
    "duration": ("duration_seconds", COUNT),
}
_PERIOD = re.compile(r"(\d{4}-\d{2}-\d{2})_(\d{4}-\d{2}-\d{2})(.*)")


def period_from_name(name: str) -> tuple[date, date, str | None] | None:
    """The period and channel name of a Studio export from the name of its folder or zip, e.g.
    ``Content 2026-09-12_2026-10-01 Studiostone Creative`` → (2026-09-12, 2026-10-01, "Studiostone
    Creative"); the path component nearest the file that has one, or None."""
    for part in reversed(re.split(r"[\\/]", name)):
        m = _PERIOD.search(part)
        if m:
            try:
                start, end = date.fromisoformat(m[1]), date.fromisoformat(m[2])
            except ValueError:
                continue
            channel = re.sub(r"\.zip$", "", m[3].strip(), flags=re.IGNORECASE).strip()
            return start, end, channel or None
    return None


def _metric_column(header: str) -> tuple[str, str] | None:
    return METRICS.get(header)


def _date(text, what: str) -> date | None:
    day_month = parse_day_month(str(text)) if text is not None else None
    if day_month is None:
        return None
    if day_month.year is None:
        raise BadValue(f"{what} {text!r} has no year")
    return day_month.on(day_month.year)


def _video(values: dict) -> dict:
    content_id = values.get("content_id")
    published = _date(values.get("published"), "Video publish time")
    return {"content_id": str(content_id).strip() if content_id not in (None, "") else None,
            "title": values.get("title"), "published": published,
            "duration_seconds": values.get("duration_seconds")}


def _metrics(values: dict) -> dict:
    return {key: values.get(key) for key in METRIC_KEYS}


def build_table_row(values: dict, ctx) -> dict | None:
    if str(values.get("content_id") or "").strip().lower() == "total":
        ctx.totals = _metrics(values)
        return None
    video = _video(values)
    if not video["content_id"]:
        raise BadValue("a row without a video id (Content) that is not the Total row")
    is_short = youtube_is_short(video["duration_seconds"], video["published"])
    return {**video, "date": None, "period_start": ctx.period_start, "period_end": ctx.period_end,
            "metric_definition": youtube_view_definition(ctx.period_start, ctx.period_end, is_short),
            **_metrics(values)}


def build_chart_row(values: dict, ctx) -> dict | None:
    day = _date(values.get("date"), "Date")
    if day is None:
        raise BadValue("a row without a Date")
    video = _video(values)
    is_short = youtube_is_short(video["duration_seconds"], video["published"])
    return {**video, "date": day, "period_start": day, "period_end": day,
            "metric_definition": youtube_view_definition(day, day, is_short), **_metrics(values)}


def build_totals_row(values: dict, ctx) -> dict | None:
    day = _date(values.get("date"), "Date")
    if day is None:
        raise BadValue("a row without a Date")
    return {"content_id": None, "title": None, "published": None, "duration_seconds": None, "date": day,
            "period_start": day, "period_end": day,
            "metric_definition": youtube_view_definition(day, day, None, channel_total=True), **_metrics(values)}


def row_day(values: dict) -> date | None:
    """The day of a Chart or Totals row (for the export's period), without building it."""
    return _date(values.get("date"), "Date")


LAYOUTS = (
    Layout(TABLE, PLATFORM, "YouTube Studio Table data (one row per video over the export's period)",
           CONTENT_COLUMNS, frozenset({"content", "video title"}), build_table_row, first_column="content",
           open_columns=_metric_column),
    Layout(CHART, PLATFORM, "YouTube Studio Chart data (one row per video and day)",
           {"date": ("date", RAW), **CONTENT_COLUMNS}, frozenset({"date", "content"}), build_chart_row,
           first_column="date", open_columns=_metric_column),
    Layout(TOTALS, PLATFORM, "YouTube Studio Totals (the channel's daily total of one metric)",
           {"date": ("date", RAW)}, frozenset({"date"}), build_totals_row, first_column="date",
           exact_columns=2, open_columns=_metric_column),
)

