"""Creator analytics: the creator platform's four REST resources into a star schema; and, into the
cross-platform model beside it (``dim_channels``, ``fact_video_snapshots``, ``fact_posts``,
``benchmark_channels``), the YouTube Data API crawl of our channels and competitors' (connection
``youtube_api``; skipped, saying so, where that connection is not defined) and the exports creators drop into
their inbox (``ExportInbox`` ``exports``: YouTube Studio, Instagram and TikTok exports in
``<inbox>/<account>/``, read by :mod:`pulse.creator_inbox`). Those four tables may be empty: a deployment
without YouTube or exports has nothing to put in them.

The gold tables, their keys and what the quality gate asserts about them mirror
``spark_jobs/creator/gold.py``; every formula is in ``docs/creator_metrics.md``.
"""

from pulse.inputs import ExportInbox, HttpEndpoint, YouTubeDataApi
from pulse.simulator_scale import SCALE_PARAM
from pulse.sources.base import ForeignKey, GoldTable, RowScope, Source
from spark_jobs.creator.settings import ACCOUNT_SEGMENTS_ARGS, GoldSettings

# The facts hold the creator API's rows and, beside them, the YouTube crawl's and the exports' (source
# youtube_api / export): a creator API row's creator is in dim_creators and it knows revenue and reach; another
# source's creator_id is a channel or account of dim_channels, and it knows what its source reports.
_API_ROWS = RowScope("creator_api_rows", "source = 'creator_api'")
_OTHER_ROWS = RowScope("other_source_rows", "source <> 'creator_api'")
_CREATOR = ForeignKey(("creator_id",), "dim_creators", scope=_API_ROWS)
_ACCOUNT = ForeignKey(("platform", "creator_id"), "dim_channels", ("platform_name", "channel_id"), scope=_OTHER_ROWS)
_PLATFORM = ForeignKey(("platform",), "dim_platforms")
_CHANNEL = ForeignKey(("platform", "channel_id"), "dim_channels")
_RATIO = (0, 1)
_NON_NEGATIVE = (0, None)

# The gold job's thresholds and our platform's name and commission, passed to the job on its command
# line; their one definition is spark_jobs/creator/settings.py.
GOLD_SETTINGS = GoldSettings()

CREATOR_API_ENDPOINTS = tuple(
    HttpEndpoint(name, conn_id="creator_api", path=f"api/{name}", health_path="api/health", page_size=size)
    for name, size in (("demographics", 1000), ("engagement", 1000), ("content", 1000), ("competitors", 100))
)
"""The creator API's four resources: the inputs silver requires (YouTube and the exports are optional)."""
EXPORT_INBOX = ExportInbox(name="exports", source_name="creator", exports_module="pulse.creator_inbox")

CREATOR = Source(
    name="creator",
    dag_id="creator_analytics",
    title="Creator analytics",
    inputs=(*CREATOR_API_ENDPOINTS, YouTubeDataApi(name="youtube", conn_id="youtube_api"), EXPORT_INBOX),
    silver_job="creator/silver.py",
    gold_job="creator/gold.py",
    gold_job_args=GOLD_SETTINGS.job_args(),
    # The niches a user gives channels and accounts: an Airflow Variable, read when gold runs.
    gold_runtime_args=ACCOUNT_SEGMENTS_ARGS,
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
            not_null=("posts_published", "source", "metric_definition"),
            not_null_in=((_API_ROWS, ("engagement_score", "performance_band", "performance_band_order",
                                      "impressions", "reach", "content_revenue")),),
            bounds={"engagement_rate": _RATIO, "engagement_rate_by_reach": _NON_NEGATIVE,
                    "click_through_rate": _RATIO, "engagement_score": _NON_NEGATIVE,
                    "impressions": _NON_NEGATIVE, "reach": _NON_NEGATIVE, "content_revenue": _NON_NEGATIVE},
            references=(_CREATOR, _ACCOUNT, _PLATFORM, ForeignKey(("date",), "dim_time")),
        ),
        GoldTable(
            "fact_content",
            key=("content_id",),
            not_null=("creator_id", "platform", "content_type", "source", "metric_definition"),
            not_null_in=((_API_ROWS, ("published_date", "engagement_score", "monetization_enabled",
                                      "revenue_generated", "monetization_category")),),
            bounds={"engagement_rate": _RATIO, "engagement_rate_by_views": _NON_NEGATIVE,
                    "completion_rate": (0, 100), "revenue_generated": _NON_NEGATIVE},
            references=(
                _CREATOR,
                _ACCOUNT,
                _PLATFORM,
                ForeignKey(("published_date",), "dim_time", ("date",)),
                ForeignKey(("content_type",), "dim_content_types"),
                # Every post joins its day's engagement: what makes content type × platform true. (Not an
                # exported post: its account may have no daily export.)
                ForeignKey(("creator_id", "platform", "published_date"), "fact_engagement",
                           ("creator_id", "platform", "date"), scope=_API_ROWS),
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
        GoldTable(
            "dim_channels",
            key=("platform", "channel_id"),
            not_null=("platform_name", "source", "videos_tracked"),
            bounds={"subscribers": _NON_NEGATIVE, "videos_tracked": _NON_NEGATIVE},
            allow_empty=True,
        ),
        GoldTable(
            "fact_video_snapshots",
            key=("platform", "video_id", "snapshot_date"),
            not_null=("channel_id", "views", "view_definition"),
            bounds={"views": _NON_NEGATIVE, "engagement_per_view": _NON_NEGATIVE},
            references=(_CHANNEL,),
            allow_empty=True,
        ),
        GoldTable(
            "fact_posts",
            key=("platform", "account", "content_id", "measurement"),
            not_null=("format", "as_of", "metric_definition"),
            bounds={"engagement_per_view": _NON_NEGATIVE, "engagement_per_impression": _NON_NEGATIVE},
            references=(ForeignKey(("platform", "account"), "dim_channels", ("platform", "channel_id")),),
            allow_empty=True,
        ),
        GoldTable(
            "benchmark_channels",
            key=("platform", "channel_id", "period_start"),
            not_null=("period_end", "videos", "uploads"),
            bounds={"engagement_per_view": _NON_NEGATIVE, "uploads": _NON_NEGATIVE,
                    **{f"{m}_percentile": _RATIO for m in ("subscribers", "subscriber_growth", "views_per_video",
                                                           "engagement_per_view", "uploads")}},
            references=(_CHANNEL,),
            allow_empty=True,
        ),
    ),
    extra_params={"simulator_scale": SCALE_PARAM},
)
