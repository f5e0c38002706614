"""Creator analytics: the creator platform's four REST resources into a star schema."""

from pulse.sources.base import Endpoint, ForeignKey, GoldTable, Source

_CREATOR = ForeignKey(("creator_id",), "dim_creators")
_PLATFORM = ForeignKey(("platform",), "dim_platforms")

CREATOR = Source(
    name="creator",
    dag_id="creator_analytics",
    title="Creator analytics",
    conn_id="creator_api",
    health_path="api/health",
    endpoints=(
        Endpoint("demographics", "api/demographics", page_size=1000),
        Endpoint("engagement", "api/engagement", page_size=1000),
        Endpoint("content", "api/content", page_size=1000),
        Endpoint("competitors", "api/competitors", page_size=100),
    ),
    silver_job="creator/silver.py",
    gold_job="creator/gold.py",
    gold_tables=(
        GoldTable("dim_creators", key=("creator_id",), not_null=("subscription_tier", "creator_segment")),
        GoldTable("dim_platforms", key=("platform",)),
        GoldTable("dim_time", key=("date",)),
        GoldTable("dim_content_types", key=("content_type",)),
        GoldTable(
            "fact_engagement",
            key=("creator_id", "platform", "date"),
            not_null=("engagement_score", "performance_band"),
            bounds={"engagement_rate": (0, 1), "click_through_rate": (0, 1), "engagement_score": (0, None)},
            references=(_CREATOR, _PLATFORM, ForeignKey(("date",), "dim_time")),
        ),
        GoldTable(
            "fact_content",
            key=("content_id",),
            not_null=("engagement_score", "monetization_category"),
            bounds={"engagement_rate": (0, 1), "completion_rate": (0, 100), "revenue_generated": (0, None)},
            references=(
                _CREATOR,
                _PLATFORM,
                ForeignKey(("published_date",), "dim_time", ("date",)),
                ForeignKey(("content_type",), "dim_content_types"),
            ),
        ),
        GoldTable("benchmark_competitors", key=("platform_name",)),
        GoldTable("benchmark_niche", key=("creator_segment", "platform", "subscription_tier")),
    ),
    tags=("creator", "medallion", "pulse"),
)
