"""The creator silver and gold logic in DuckDB, on the same bronze: a one-machine floor for `make bench`.

Not a second implementation of Pulse: the bench times it to say how far the Spark jobs are from what a
single-process columnar engine does with the same work on the same files. It does the expensive part of
each Spark job the same way:

- silver: parse every bronze payload once, type each field (a value that does not read as its type
  makes the row invalid, as in ``spark_jobs.common.silver.type_payloads``), split valid from invalid,
  keep the latest version of each natural key by ``(updated_at, run_date, record_index)``;
- gold: ``fact_content``, ``fact_engagement`` joined to the posts of its day, the creator × platform
  summary, ``dim_creators`` and the niche benchmark with exact percentiles.

The cheap checks and normalisations (spelling of platforms, range and cross-field rules) are left
out, so the floor is, if anything, lower than the real logic's. Output: Parquet under
``<lake>/_duckdb_floor/``.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

# name → (key, {field: DuckDB type}); mirrors spark_jobs/creator/schemas.py's payloads
DATASETS = {
    "demographics": (("user_id",), {
        "user_id": "VARCHAR", "age": "BIGINT", "age_group": "VARCHAR", "device": "VARCHAR",
        "creator_segment": "VARCHAR", "signup_date": "TIMESTAMPTZ", "active_status": "VARCHAR",
        "subscription_tier": "VARCHAR", "updated_at": "TIMESTAMPTZ"}),
    "competitors": (("competitor_id",), {
        "competitor_id": "VARCHAR", "platform_name": "VARCHAR", "founding_year": "BIGINT",
        "headquarter_location": "VARCHAR", "commission_percentage": "BIGINT", "supported_countries": "BIGINT",
        "market_share_percentage": "DOUBLE", "sentiment_score": "DOUBLE", "app_store_rating": "DOUBLE",
        "google_play_rating": "DOUBLE"}),
    "content": (("content_id",), {
        "content_id": "VARCHAR", "creator_id": "VARCHAR", "platform": "VARCHAR", "content_type": "VARCHAR",
        "title": "VARCHAR", "description": "VARCHAR", "published_date": "TIMESTAMPTZ", "day_of_week": "VARCHAR",
        "time_of_day": "VARCHAR", "likes": "BIGINT", "comments": "BIGINT", "shares": "BIGINT", "views": "BIGINT",
        "impressions": "BIGINT", "average_view_time": "DOUBLE", "completion_rate": "DOUBLE",
        "creator_segment": "VARCHAR", "monetization_enabled": "BOOLEAN", "revenue_generated": "DOUBLE",
        "updated_at": "TIMESTAMPTZ"}),
    "engagement": (("creator_id", "platform", "date"), {
        "creator_id": "VARCHAR", "platform": "VARCHAR", "date": "DATE", "total_likes": "BIGINT",
        "total_comments": "BIGINT", "total_shares": "BIGINT", "average_view_duration": "DOUBLE",
        "impressions": "BIGINT", "reach": "BIGINT", "click_through_rate": "DOUBLE", "updated_at": "TIMESTAMPTZ"}),
}
OPTIONAL = {"title", "description", "updated_at"}


def _silver_sql(bronze_glob: str, key: tuple[str, ...], fields: dict[str, str]) -> tuple[str, str]:
    """The statements building ``typed_<ds>`` (every row, typed, with ``invalid``) and its latest versions."""
    raw = ", ".join(f"json_extract_string(j, '$.{f}') AS raw_{f}" for f in fields)
    typed = ", ".join(f"TRY_CAST(raw_{f} AS {t}) AS {f}" for f, t in fields.items())
    broken = " OR ".join(
        (f"(raw_{f} IS NOT NULL AND TRY_CAST(raw_{f} AS {t}) IS NULL)"
         + ("" if f in OPTIONAL else f" OR raw_{f} IS NULL"))
        for f, t in fields.items())
    typed_sql = f"""
        SELECT run_date, record_index, {typed}, ({broken}) AS invalid
        FROM (SELECT run_date, record_index, {raw}
              FROM (SELECT run_date, record_index, payload::JSON AS j
                    FROM read_parquet('{bronze_glob}', hive_partitioning = true)))"""
    order = "updated_at DESC NULLS LAST, " if "updated_at" in fields else ""
    latest_sql = f"""
        SELECT * EXCLUDE (invalid, run_date, record_index, rn) FROM (
            SELECT *, row_number() OVER (PARTITION BY {', '.join(key)}
                                         ORDER BY {order}run_date DESC, record_index DESC) AS rn
            FROM typed WHERE NOT invalid)
        WHERE rn = 1"""
    return typed_sql, latest_sql


GOLD = {
    "fact_content": """
        SELECT content_id, creator_id, platform, content_type, title, published_date AS published_at,
               CAST(published_date AS DATE) AS published_date, likes, comments, shares, views, impressions,
               likes + comments + shares AS engagement_score,
               round((likes + comments + shares) / NULLIF(impressions, 0), 6) AS engagement_rate,
               round((likes + comments + shares) / NULLIF(views, 0), 6) AS engagement_rate_by_views,
               monetization_enabled, CAST(revenue_generated AS DECIMAL(18, 2)) AS revenue_generated,
               CASE WHEN NOT monetization_enabled THEN 'Not Monetized'
                    WHEN revenue_generated >= 500 THEN 'Top Earner'
                    WHEN revenue_generated >= 50 THEN 'Mid Earner' ELSE 'Low Earner' END AS monetization_category
        FROM silver_content""",
    "fact_engagement": """
        WITH days AS (
            SELECT creator_id, platform, published_date AS date, count(*) AS posts_published,
                   sum(engagement_score) AS content_engagement_score, sum(revenue_generated) AS content_revenue
            FROM fact_content GROUP BY ALL)
        SELECT e.creator_id, e.platform, e.date, total_likes, total_comments, total_shares, impressions, reach,
               total_likes + total_comments + total_shares AS engagement_score,
               round((total_likes + total_comments + total_shares) / NULLIF(impressions, 0), 6) AS engagement_rate,
               round((total_likes + total_comments + total_shares) / NULLIF(reach, 0), 6)
                   AS engagement_rate_by_reach,
               click_through_rate, average_view_duration,
               CASE WHEN reach >= 100000 THEN 'viral' WHEN reach >= 25000 THEN 'trending'
                    ELSE 'moderate' END AS performance_band,
               CASE WHEN reach >= 100000 THEN 3 WHEN reach >= 25000 THEN 2 ELSE 1 END AS performance_band_order,
               coalesce(posts_published, 0) AS posts_published,
               coalesce(content_engagement_score, 0) AS content_engagement_score,
               coalesce(content_revenue, 0) AS content_revenue
        FROM silver_engagement e LEFT JOIN days USING (creator_id, platform, date)""",
    "creator_platforms": """
        SELECT creator_id, platform, count(*) AS days_active, sum(impressions) AS impressions, sum(reach) AS reach,
               sum(engagement_score) AS engagement_score, sum(posts_published) AS posts,
               sum(content_revenue) AS revenue,
               round(sum(engagement_score) / NULLIF(sum(impressions), 0), 6) AS engagement_rate,
               round(sum(content_revenue) / NULLIF(sum(posts_published), 0), 6) AS revenue_per_post
        FROM fact_engagement GROUP BY ALL""",
    "dim_creators": """
        WITH totals AS (
            SELECT creator_id, count(*) AS platforms_active, sum(reach) AS total_reach,
                   sum(engagement_score) AS engagement_score, sum(impressions) AS impressions, sum(posts) AS posts,
                   sum(revenue) AS revenue
            FROM creator_platforms GROUP BY ALL),
        days AS (SELECT creator_id, count(DISTINCT date) AS days_active FROM fact_engagement GROUP BY ALL)
        SELECT user_id AS creator_id, age, age_group, device, creator_segment, active_status, subscription_tier,
               signup_date AS signup_at, coalesce(platforms_active, 0) AS platforms_active,
               coalesce(days_active, 0) AS days_active, coalesce(total_reach, 0) AS total_reach,
               round(total_reach / NULLIF(days_active, 0), 6) AS avg_daily_reach,
               coalesce(engagement_score, 0) AS engagement_score, coalesce(impressions, 0) AS impressions,
               round(engagement_score / NULLIF(impressions, 0), 6) AS engagement_rate,
               coalesce(posts, 0) AS posts, coalesce(revenue, 0) AS revenue
        FROM silver_demographics d
        LEFT JOIN totals t ON t.creator_id = d.user_id LEFT JOIN days USING (creator_id)""",
    "benchmark_niche": """
        SELECT creator_segment, platform, subscription_tier, count(*) AS creators, sum(p.posts) AS posts,
               sum(reach) AS total_reach, sum(p.revenue) AS total_revenue,
               round(avg(p.engagement_rate::DECIMAL(38, 18)), 6) AS engagement_rate_mean,
               quantile_cont(p.engagement_rate, [0.25, 0.5, 0.75, 0.9]) AS engagement_rate_percentiles,
               quantile_cont(revenue_per_post, [0.25, 0.5, 0.75, 0.9]) AS revenue_per_post_percentiles
        FROM creator_platforms p JOIN dim_creators USING (creator_id) GROUP BY ALL""",
}


def run_floor(lake: str | Path, threads: int | None = None) -> dict[str, int]:
    """Build the floor's silver and gold from ``<lake>/bronze/creator``; returns each table's row count."""
    lake = Path(lake)
    out = lake / "_duckdb_floor"
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with duckdb.connect() as db:
        db.execute(f"SET threads = {threads or os.cpu_count()}")
        db.execute("SET enable_progress_bar = false")
        for name, (key, fields) in DATASETS.items():
            # The bench writes each bronze Delta table once, so its data files are its current version (the
            # glob keeps out _delta_log, whose checkpoints are Parquet too).
            typed_sql, latest_sql = _silver_sql(f"{lake}/bronze/creator/{name}/run_date=*/*.parquet", key, fields)
            db.execute(f"CREATE OR REPLACE TEMP TABLE typed AS {typed_sql}")
            db.execute(f"COPY (SELECT * FROM typed WHERE invalid) TO '{out}/quarantine_{name}.parquet'")
            db.execute(f"CREATE OR REPLACE TEMP TABLE silver_{name} AS {latest_sql}")
            db.execute(f"COPY silver_{name} TO '{out}/silver_{name}.parquet'")
            counts[f"silver_{name}"] = db.execute(f"SELECT count(*) FROM silver_{name}").fetchone()[0]
        for name, sql in GOLD.items():
            db.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")
            db.execute(f"COPY {name} TO '{out}/{name}.parquet'")
            counts[name] = db.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
    return counts
