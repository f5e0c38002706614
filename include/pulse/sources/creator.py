"""Creator analytics: the creator platform's four REST resources into a star schema; and, into bronze only
for now (silver does not read them yet), the YouTube Data API crawl of our channels and competitors'
(connection ``youtube_api``; skipped, saying so, where that connection is not defined) and the exports
creators drop into their inbox (``ExportInbox`` ``exports``: YouTube Studio, Instagram and TikTok exports in
``<inbox>/<account>/``, read by :mod:`pulse.creator_inbox`).

The gold tables, their keys and what the quality gate asserts about them mirror
``spark_jobs/creator/gold.py``; every formula is in ``docs/creator_metrics.md``.
"""

from pulse.inputs import ExportInbox, HttpEndpoint, YouTubeDataApi
from pulse.simulator_scale import SCALE_PARAM
from pulse.sources.base import ForeignKey, GoldTable, Source
from spark_jobs.creator.settings import GoldSettings

_CREATOR = ForeignKey(("creator_id",), "dim_creators")
_PLATFORM = ForeignKey(("platform",), "dim_platforms")
_RATIO = (0, 1)
_NON_NEGATIVE = (0, None)

# The gold job's thresholds and our platform's name and commission, passed to the job on its command
# line; their one definition is spark_jobs/creator/settings.py.
GOLD_SETTINGS = GoldSettings()

CREATOR_API_ENDPOINTS = tuple(
    HttpEndpoint(name, conn_id="creator_api", path=f"api/{name}", health_path="api/health", page_size=size)
    for name, size in (("demographics", 1000), ("engagement", 1000), ("content", 1000), ("competitors", 100))
)
"""The creator API's four resources: the inputs silver reads (YouTube and the exports land bronze only, for now)."""
EXPORT_INBOX = ExportInbox(name="exports", source_name="creator", exports_module="pulse.creator_inbox")

CREATOR = Source(
    name="creator",
    dag_id="creator_analytics",
    title="Creator analytics",
    inputs=(*CREATOR_API_ENDPOINTS, YouTubeDataApi(name="youtube", conn_id="youtube_api"), EXPORT_INBOX),
    silver_job="creator/silver.py",
    gold_job="creator/gold.py",
    gold_job_args=GOLD_SETTINGS.job_args(),
    gold_tables=(
        GoldTable(
            "dim_creators",
            key=("creator_id",),
            not_null=("subscription_tier", "creator_segment", "platforms_active", "days_active",
                      "total_reach", "engagement_score", "posts", "revenue"),
            bounds={"engagement_rate": _RATIO, "total_reach": _NON_NEGATIVE, "days_active": _NON_NEGATIVE,
                    "revenue": _NON_NEGATIVE},
        ),
        GoldTable("dim_platforms", key=("platform",)),
        GoldTable("dim_time", key=("date",),
                  not_null=("year", "iso_week", "day_of_week", "day_of_week_number", "is_weekend"),
                  bounds={"iso_week": (1, 53), "day_of_week_number": (1, 7)}),
        GoldTable("dim_content_types", key=("content_type",)),
        GoldTable(
            "fact_engagement",
            key=("creator_id", "platform", "date"),
            not_null=("engagement_score", "performance_band", "performance_band_order", "impressions", "reach",
                      "posts_published",
                      "content_revenue"),
            bounds={"engagement_rate": _RATIO, "engagement_rate_by_reach": _NON_NEGATIVE,
                    "click_through_rate": _RATIO, "engagement_score": _NON_NEGATIVE,
                    "impressions": _NON_NEGATIVE, "reach": _NON_NEGATIVE, "content_revenue": _NON_NEGATIVE},
            references=(_CREATOR, _PLATFORM, ForeignKey(("date",), "dim_time")),
        ),
        GoldTable(
            "fact_content",
            key=("content_id",),
            not_null=("creator_id", "platform", "content_type", "published_date", "engagement_score",
                      "monetization_enabled", "revenue_generated", "monetization_category"),
            bounds={"engagement_rate": _RATIO, "engagement_rate_by_views": _NON_NEGATIVE,
                    "completion_rate": (0, 100), "revenue_generated": _NON_NEGATIVE},
            references=(
                _CREATOR,
                _PLATFORM,
                ForeignKey(("published_date",), "dim_time", ("date",)),
                ForeignKey(("content_type",), "dim_content_types"),
                # Every post joins its day's engagement: what makes content type × platform true.
                ForeignKey(("creator_id", "platform", "published_date"), "fact_engagement",
                           ("creator_id", "platform", "date")),
            ),
        ),
        GoldTable(
            "benchmark_competitors",
            key=("platform_name",),
            not_null=("is_our_platform", "commission_percentage", "commission_percentage_rank"),
            bounds={"market_share_percentage": (0, 100), "app_store_rating": (0, 5),
                    "google_play_rating": (0, 5), "monetized_content_share": _RATIO,
                    "commission_percentage_rank": (1, None)},
        ),
        GoldTable(
            "benchmark_niche",
            key=("creator_segment", "platform", "subscription_tier"),
            not_null=("creators", "posts", "total_reach", "total_revenue"),
            bounds={"creators": (1, None), "engagement_rate_mean": _RATIO,
                    **{f"engagement_rate_p{p}": _RATIO for p in (25, 50, 75, 90)}},
        ),
    ),
    extra_params={"simulator_scale": SCALE_PARAM},
)
