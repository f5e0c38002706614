"""What each dashboard shows, read from the warehouse's ``reporting`` views (the semantic layer).

Every figure a dashboard shows is a column of a reporting view, or the view's formula applied to the
view's additive columns for the rows a filter keeps (documented per view in ``docs/*_metrics.md``):
the pages aggregate, they never define a measure of their own. ``pulse_meta.publish_log`` gives the
index its freshness.

Tables travel to the page as ``{"columns": [...], "rows": [[...], ...]}`` (compact; the page's
``Pulse.records`` turns them into objects), with JSON-ready values: numbers, ISO dates, text.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

from psycopg import Connection, sql

from pulse.sources import SOURCES

Table = dict[str, list]


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def view_exists(conn: Connection, schema: str, name: str) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL",
                        (f'"{schema}"."{name}"',)).fetchone()[0]


def table(conn: Connection, view: str, columns: list[str] | None = None, order: str | None = None,
          listener: str | None = None) -> Table:
    """Rows of ``reporting.<view>`` (``columns``, default all), as a compact JSON-ready table; with
    ``listener``, only that listener's rows."""
    cols = sql.SQL(", ").join(map(sql.Identifier, columns)) if columns else sql.SQL("*")
    query = sql.SQL("SELECT {} FROM reporting.{}").format(cols, sql.Identifier(view))
    if listener is not None:
        query += sql.SQL(" WHERE listener = %s")
    if order:
        query += sql.SQL(" ORDER BY ") + sql.SQL(", ").join(map(sql.Identifier, order.split(",")))
    cur = conn.execute(query, None if listener is None else (listener,))
    return {"columns": [c.name for c in cur.description],
            "rows": [[_json_value(v) for v in row] for row in cur.fetchall()]}


def creator_data(conn: Connection) -> dict | None:
    """Everything the two creator pages show; None when creator gold has not been published."""
    if not view_exists(conn, "reporting", "creator_kpis"):
        return None
    return {
        "kpis": table(conn, "creator_kpis"),
        "trend": table(conn, "creator_engagement_trend_by_platform", order="date,platform"),
        "bands": table(conn, "creator_performance_bands_by_date", order="date,platform,band_order"),
        "tiers": table(conn, "creator_subscription_tiers", order="tier_order"),
        "content": table(conn, "creator_content_by_date", order="date,content_type,platform"),
        "competitors": table(conn, "creator_benchmark_competitors", [
            "platform_name", "is_our_platform", "commission_percentage", "commission_percentage_rank",
            "market_share_percentage", "supported_countries", "app_store_rating", "google_play_rating"]),
        "niche": table(conn, "creator_benchmark_niche", order="creator_segment,platform,subscription_tier"),
    }


def spotify_data(conn: Connection, listener: str | None = None) -> dict | None:
    """Everything the Spotify page shows, for every listener or only ``listener``; None when Spotify gold
    has not been published."""
    if not view_exists(conn, "reporting", "spotify_kpis"):
        return None

    def rows(view: str, columns: list[str] | None = None, order: str | None = None) -> Table:
        return table(conn, view, columns, order, listener)

    return {
        "kpis": rows("spotify_kpis", order="listener"),
        "trend": rows("spotify_listening_trend", [
            "listener", "month", "month_start", "plays", "streams", "skips", "listening_minutes",
            "music_minutes", "podcast_minutes", "other_minutes", "distinct_artists", "new_artists"],
            order="listener,month"),
        "top_by_minutes": rows("spotify_top_artists_by_minutes", [
            "listener", "rank", "artist_name", "listening_minutes", "pct_of_music_minutes", "streams",
            "loyalty_score"], order="listener,rank"),
        "top_by_tracks": rows("spotify_top_artists_by_tracks", [
            "listener", "rank", "artist_name", "distinct_tracks", "distinct_albums", "listening_minutes"],
            order="listener,rank"),
        "weekly": rows("spotify_weekly_activity", [
            "listener", "day_of_week_number", "day_of_week", "hour", "plays", "listening_minutes",
            "pct_of_listening"], order="listener,day_of_week_number,hour"),
        "loyalty": rows("spotify_artist_loyalty", [
            "listener", "loyalty_rank", "artist_name", "loyalty_score", "stream_weeks", "window_weeks",
            "listening_minutes"], order="listener,loyalty_rank"),
        "artists": rows("spotify_artists", [
            "listener", "artist_key", "artist_name", "rank_by_minutes", "listening_minutes", "streams",
            "distinct_tracks", "distinct_albums", "loyalty_score", "genres"], order="listener,rank_by_minutes"),
        "tracks": rows("spotify_tracks", [
            "listener", "artist_key", "album_key", "album_name", "track_key", "track_name", "ms_played",
            "plays", "streams"], order="listener,artist_key,track_key"),
    }


def freshness(conn: Connection) -> list[dict]:
    """The last publish of each source (from ``pulse_meta.publish_log``), one entry per known source:
    ``published_at`` is None for a source never published."""
    published: dict[str, tuple] = {}
    if view_exists(conn, "pulse_meta", "publish_log"):
        for source, run_id, run_date, published_at, counts in conn.execute(
                "SELECT DISTINCT ON (source) source, run_id, run_date, published_at, row_counts "
                "FROM pulse_meta.publish_log ORDER BY source, published_at DESC"):
            published[source] = (run_id, run_date, published_at, counts)
    entries = []
    for name, source in SOURCES.items():
        run_id, run_date, published_at, counts = published.get(name, (None, None, None, None))
        entries.append({
            "source": name,
            "title": source.title,
            "dag_id": source.dag_id,
            "run_id": run_id,
            "run_date": _json_value(run_date),
            "published_at": _json_value(published_at),
            "gold_rows": sum((counts or {}).values()),
            "tables": len(counts or {}),
        })
    return entries
