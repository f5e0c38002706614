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
          listener: str | None = None, rank_up_to: tuple[str, int] | None = None) -> Table:
    """Rows of ``reporting.<view>`` (``columns``, default all), as a compact JSON-ready table; with
    ``listener``, only that listener's rows; with ``rank_up_to`` ``(column, n)``, only the rows whose rank
    ``column`` is at most ``n``."""
    cols = sql.SQL(", ").join(map(sql.Identifier, columns)) if columns else sql.SQL("*")
    query = sql.SQL("SELECT {} FROM reporting.{}").format(cols, sql.Identifier(view))
    conditions, params = [], []
    if listener is not None:
        conditions.append(sql.SQL("listener = %s"))
        params.append(listener)
    if rank_up_to is not None:
        conditions.append(sql.SQL("{} <= %s").format(sql.Identifier(rank_up_to[0])))
        params.append(rank_up_to[1])
    if conditions:
        query += sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions)
    if order:
        query += sql.SQL(" ORDER BY ") + sql.SQL(", ").join(map(sql.Identifier, order.split(",")))
    cur = conn.execute(query, params or None)
    return {"columns": [c.name for c in cur.description],
            "rows": [[_json_value(v) for v in row] for row in cur.fetchall()]}


TOP_VIDEOS_PER_ROLE = 10
"""The Competitors page ranks the videos of its selection: each platform's top videos of each role hold them."""


def creator_data(conn: Connection) -> dict | None:
    """Everything the three creator pages show; None when creator gold has not been published. The channel
    tables (``channels`` … ``top_videos``) may be empty: no YouTube crawl or export was published."""
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
        "channels": table(conn, "creator_channels", [
            "platform_name", "channel_id", "channel_title", "role", "niche", "source", "subscribers",
            "videos_tracked", "export_posts"], order="platform_name,channel_id"),
        "channel_days": table(conn, "creator_channel_days", [
            "date", "platform_name", "channel_id", "role", "view_definition", "videos", "gain_videos",
            "views_gained", "engagement", "engaged_views"], order="date,platform_name,channel_id,view_definition"),
        "channel_weeks": table(conn, "creator_channel_benchmark", [
            "period_start", "period_end", "platform_name", "channel_id", "channel_title", "role", "niche",
            "niche_channels", "subscribers", "subscribers_percentile", "subscriber_growth_percentile",
            "views_per_video_percentile", "engagement_per_view_percentile", "uploads_percentile"],
            order="period_start,platform_name,channel_id"),
        "top_videos": table(conn, "creator_top_videos", [
            "platform_name", "video_id", "title", "channel_title", "role", "snapshot_date", "views",
            "engagement_per_view", "view_definition"], order="platform_name,views_rank",
            rank_up_to=("views_rank_in_role", TOP_VIDEOS_PER_ROLE)),
        "sources": table(conn, "creator_content_by_source", [
            "platform", "source", "content_type", "metric_definition", "posts", "accounts", "views",
            "engagement_rate_by_views"], order="platform,source,content_type,metric_definition"),
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
