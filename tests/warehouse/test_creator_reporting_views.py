"""The creator reporting views on a real Postgres, over gold that the real gold job wrote.

The gold job runs once on the tiny silver lake of ``tests/spark/test_creator_gold.py``; each test stages
that gold, passes it through the quality gate's own SQL, publishes it with the reporting views and
checks what BI would read against values computed by hand from the tiny lake:

- engagement days: c1 TikTok 18 Nov (score 125 / 1,000 impressions, reach 30,000), c1 TikTok 19 Nov
  (250 / 2,000, reach 120,000), c1 YouTube 19 Nov (50 / 500, reach 1,000), c2 TikTok 19 Nov (20 / 400,
  reach 5,000); c3 has no facts.
- posts (65 engagement each, 800 impressions): p1 c1 TikTok Video 18 Nov 120.50; p2 c1 TikTok Image
  19 Nov not monetized; p3 c1 YouTube Video 19 Nov 0.00; p4 c2 TikTok Video 19 Nov 600.00.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from pulse.quality import orphan_rows_sql, table_checks
from pulse.sources.creator import CREATOR
from pulse.warehouse import publish_gold, stage_gold
from tests.builders.creator import run_gold, write_tiny_silver

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def tiny_gold(spark, tmp_path_factory):
    lake = tmp_path_factory.mktemp("creator_lake")
    write_tiny_silver(spark, lake)
    run_gold(lake)
    return lake / "gold" / "creator"


def publish(conn, gold_root) -> None:
    stage_gold(conn, "creator", gold_root, [t.name for t in CREATOR.gold_tables])
    for table in CREATOR.gold_tables:
        for name, check in table_checks(table).items():
            query = f"SELECT {check['check_statement']} FROM staging_creator.{table.name}"
            assert conn.execute(query).fetchone()[0], f"quality check {table.name}.{name} failed"
        for fk in table.references:
            assert conn.execute(orphan_rows_sql("staging_creator", table, fk)).fetchone()[0], (table.name, fk)
    publish_gold(conn, "creator", {t.name: t.key for t in CREATOR.gold_tables}, CREATOR.reporting_sql(),
                 {"run_id": "test", "run_date": dt.date(2026, 11, 20)})


def view(conn, name: str, order: str = "1") -> list[dict]:
    cur = conn.execute(f"SELECT * FROM reporting.{name} ORDER BY {order}")
    return [dict(zip([c.name for c in cur.description], row, strict=True)) for row in cur.fetchall()]


def test_creator_kpis_is_one_row_of_headline_figures_computed_by_hand(pg_conn, tiny_gold):
    publish(pg_conn, tiny_gold)
    assert view(pg_conn, "creator_kpis") == [{
        "total_reach": 30_000 + 120_000 + 1_000 + 5_000,
        "total_likes": 100 + 200 + 50 + 10,
        "total_revenue": Decimal("720.50"),
        "monetized_content_pct": 75.0,  # p1, p3, p4 of 4 posts
        "avg_engagement_rate": 0.1,  # mean of 0.125, 0.125, 0.1, 0.05
        "creators": 3,
        "active_creators": 2,
        "posts": 4,
        "total_impressions": 3_900,
        "total_engagement_score": 445,
        "overall_engagement_rate": 0.114103,  # 445 / 3,900
        "first_date": dt.date(2026, 11, 18),
        "last_date": dt.date(2026, 11, 19),
    }]


def test_trend_bands_and_tiers_views_match_the_tiny_lake(pg_conn, tiny_gold):
    publish(pg_conn, tiny_gold)
    trend = view(pg_conn, "creator_engagement_trend", "date")
    assert [(r["date"].day, r["active_creators"], r["engagement_score"], r["engagement_rate"],
             r["posts_published"], r["content_revenue"], r["day_of_week"]) for r in trend] == [
        (18, 1, 125, 0.125, 1, Decimal("120.50"), "Wednesday"),
        (19, 2, 320, 0.110345, 3, Decimal("600.00"), "Thursday"),  # 320 / 2,900
    ]
    bands = view(pg_conn, "creator_performance_bands", "band_order")
    assert [(r["band_order"], r["creator_days"], r["pct_of_creator_days"], r["reach"]) for r in bands] == [
        (1, 2, 50.0, 6_000), (2, 1, 25.0, 30_000), (3, 1, 25.0, 120_000)]
    assert [(b["band_code"], b["performance_band"]) for b in bands] == [
        ("moderate", "Moderate Reach"), ("trending", "Trending Reach"), ("viral", "Viral Reach")]
    by_creator = view(pg_conn, "creator_performance_bands_by_creator", "band_order")
    assert [(r["performance_band"], r["creators"]) for r in by_creator] == [
        ("No Activity", 1), ("Moderate Reach", 1), ("Trending Reach", 1)]  # c3; c2 5,000/day; c1 75,500/day
    tiers = view(pg_conn, "creator_subscription_tiers", "tier_order")
    assert [(r["subscription_tier"], r["creators"], r["active_creators"], r["revenue"],
             r["revenue_per_creator"]) for r in tiers] == [
        ("Free", 2, 1, Decimal("120.50"), Decimal("60.25")),
        ("Premium", 1, 1, Decimal("600.00"), Decimal("600.00"))]


def test_content_type_by_platform_differs_per_cell_because_posts_join_their_days(pg_conn, tiny_gold):
    publish(pg_conn, tiny_gold)
    cells = view(pg_conn, "creator_content_type_platform", "content_type, platform")
    assert [(r["content_type"], r["platform"], r["posts"], r["engagement_score"], r["engagement_rate"],
             r["revenue"], r["avg_day_reach"]) for r in cells] == [
        ("Image", "TikTok", 1, 65, 0.08125, Decimal("0.00"), 120_000.0),
        ("Video", "TikTok", 2, 130, 0.08125, Decimal("720.50"), 17_500.0),  # days of 30,000 and 5,000
        ("Video", "YouTube", 1, 65, 0.08125, Decimal("0.00"), 1_000.0),
    ]
    categories = view(pg_conn, "creator_monetization_categories", "category_order")
    assert [(r["monetization_category"], r["posts"]) for r in categories] == [
        ("Not Monetized", 1), ("Monetized, No Revenue", 1), ("Mid Earner", 1), ("Top Earner", 1)]


def test_benchmarks_put_our_platform_first_and_every_view_reads_after_a_refresh(pg_conn, tiny_gold):
    publish(pg_conn, tiny_gold)
    competitors = view(pg_conn, "creator_benchmark_competitors", "is_our_platform DESC, platform_name")
    assert len(competitors) == 8
    assert (competitors[0]["platform_name"], competitors[0]["commission_percentage_rank"],
            competitors[0]["revenue_per_creator"]) == ("Mainstack", 1, Decimal("240.17"))
    assert len(view(pg_conn, "creator_benchmark_niche")) == 3
    pg_conn.execute(CREATOR.reporting_sql())  # what refresh_reporting re-applies
    names = [r[0] for r in pg_conn.execute(
        "SELECT table_name FROM information_schema.views WHERE table_schema = 'reporting' ORDER BY 1")]
    assert names and all(n.startswith("creator_") for n in names)
    assert {"creator_kpis", "creator_engagement_trend", "creator_performance_bands",
            "creator_subscription_tiers", "creator_content_type_platform", "creator_benchmark_competitors",
            "creator_benchmark_niche"} <= set(names)
    for name in names:
        assert pg_conn.execute(f"SELECT count(*) FROM reporting.{name}").fetchone()[0] > 0, name


def test_the_date_grain_views_add_up_to_the_headline_and_cell_figures(pg_conn, tiny_gold):
    """What the dashboards' filters sum (date x platform rows) gives back every figure of the other views."""
    publish(pg_conn, tiny_gold)
    kpis = view(pg_conn, "creator_kpis")[0]
    days = view(pg_conn, "creator_engagement_trend_by_platform", "date, platform")
    assert [(r["date"].day, r["platform"], r["total_likes"], r["posts_published"], r["monetized_posts"])
            for r in days] == [(18, "TikTok", 100, 1, 1), (19, "TikTok", 210, 2, 1), (19, "YouTube", 50, 1, 1)]
    assert sum(r["reach"] for r in days) == kpis["total_reach"]
    assert sum(r["total_likes"] for r in days) == kpis["total_likes"]
    assert sum(r["content_revenue"] for r in days) == kpis["total_revenue"]
    assert round(100 * sum(r["monetized_posts"] for r in days) / sum(r["posts_published"] for r in days),
                 2) == kpis["monetized_content_pct"]

    bands = view(pg_conn, "creator_performance_bands", "band_order")
    by_date = view(pg_conn, "creator_performance_bands_by_date", "band_order")
    for band in bands:
        rows = [r for r in by_date if r["band_order"] == band["band_order"]]
        assert (sum(r["creator_days"] for r in rows), sum(r["reach"] for r in rows)) == (
            band["creator_days"], band["reach"])

    for cell in view(pg_conn, "creator_content_type_platform"):
        rows = [r for r in view(pg_conn, "creator_content_by_date")
                if (r["content_type"], r["platform"]) == (cell["content_type"], cell["platform"])]
        score, impressions = sum(r["engagement_score"] for r in rows), sum(r["impressions"] for r in rows)
        assert (sum(r["posts"] for r in rows), score, sum(r["revenue"] for r in rows),
                round(score / impressions, 6)) == (cell["posts"], cell["engagement_score"], cell["revenue"],
                                                   cell["engagement_rate"])


def test_refresh_reporting_runs_every_statement_of_its_task_and_returns_each_views_row_count(pg_conn, tiny_gold):
    """The statements of the DAG's ``refresh_reporting`` task, rendered as Airflow renders them, on the real
    server the dev stack runs (built without libxml: the count must not need query_to_xml)."""
    import jinja2
    from airflow.sdk import DAG

    from pulse.config import SQL_DIR
    from pulse.pipeline import refresh_bi

    publish(pg_conn, tiny_gold)
    with DAG("refresh_reporting_statements", schedule=None, template_searchpath=[str(SQL_DIR)]) as dag:
        refresh_bi(CREATOR)
    task = dag.get_task("refresh_reporting")
    templates = jinja2.Environment(loader=jinja2.FileSystemLoader(str(SQL_DIR)))
    params = task.params.dump()
    cur = None
    for statement in task.sql:
        template = templates.get_template(statement) if statement.endswith(".sql") else templates.from_string(statement)
        cur = pg_conn.execute(template.render(params=params))
    returned = cur.fetchall()

    views = [r[0] for r in pg_conn.execute(
        "SELECT table_name FROM information_schema.views WHERE table_schema = 'reporting' "
        "AND table_name LIKE 'creator%' ORDER BY 1")]
    assert [name for name, _ in returned] == views
    assert returned == [(name, pg_conn.execute(f"SELECT count(*) FROM reporting.{name}").fetchone()[0])
                        for name in views]
    assert any(count > 0 for _, count in returned)
