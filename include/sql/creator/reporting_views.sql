-- The creator source's reporting views: what BI and `python -m pulse.summary creator` read.
--
-- Run inside the publish transaction right after the new gold tables are moved into schema gold
-- (dropping the old tables dropped the old views), and again by refresh_reporting. Every view is named
-- creator_* and reads schema gold only, with the reader's rights (security_invoker: row-level security on
-- gold holds through the view, see include/sql/bi_access/). Formulas, grains and worked examples:
-- docs/creator_metrics.md.
--
-- Conventions: averages of doubles are taken over numeric (exact, independent of row order) and
-- rounded to 6 decimals for ratios, 2 for everything else; money stays numeric(18,2); a ratio whose
-- denominator is 0 is NULL. Reach bands are a code and an order in gold; their labels are
-- reporting.creator_band_labels.
--
-- The facts hold every source's rows (gold.fact_*.source: creator_api, youtube_api, export). The platform's
-- own figures (creators, revenue, monetization, reach, engagement rate by impressions) are the creator API's
-- rows: the views below read those (source = 'creator_api'), as their numbers were always defined. The other
-- sources' rows are in creator_content_by_source and creator_account_days, per metric definition.

-- One row: the headline figures.
CREATE OR REPLACE VIEW reporting.creator_kpis WITH (security_invoker = true) AS
WITH days AS (
    SELECT sum(reach) AS total_reach,
           sum(impressions) AS total_impressions,
           sum(total_likes) AS total_likes,
           sum(engagement_score) AS total_engagement_score,
           avg(engagement_rate::numeric) AS avg_engagement_rate,
           min(date) AS first_date,
           max(date) AS last_date
    FROM gold.fact_engagement
    WHERE source = 'creator_api'
), posts AS (
    SELECT count(*) AS posts,
           count(*) FILTER (WHERE monetization_enabled) AS monetized_posts,
           coalesce(sum(revenue_generated), 0) AS total_revenue
    FROM gold.fact_content
    WHERE source = 'creator_api'
), creators AS (
    SELECT count(*) AS creators,
           count(*) FILTER (WHERE days_active > 0) AS active_creators
    FROM gold.dim_creators
)
SELECT coalesce(d.total_reach, 0)::bigint AS total_reach,
       coalesce(d.total_likes, 0)::bigint AS total_likes,
       p.total_revenue::numeric(18, 2) AS total_revenue,
       round(100.0 * p.monetized_posts / nullif(p.posts, 0), 2)::double precision AS monetized_content_pct,
       round(d.avg_engagement_rate, 6)::double precision AS avg_engagement_rate,
       c.creators,
       c.active_creators,
       p.posts,
       coalesce(d.total_impressions, 0)::bigint AS total_impressions,
       coalesce(d.total_engagement_score, 0)::bigint AS total_engagement_score,
       round(d.total_engagement_score::numeric / nullif(d.total_impressions, 0), 6)::double precision
           AS overall_engagement_rate,
       d.first_date,
       d.last_date
FROM days d CROSS JOIN posts p CROSS JOIN creators c;

-- One row per date: the engagement trend.
CREATE OR REPLACE VIEW reporting.creator_engagement_trend WITH (security_invoker = true) AS
SELECT e.date,
       t.year, t.month, t.month_name, t.iso_year, t.iso_week, t.week_start, t.day_of_week, t.is_weekend,
       count(DISTINCT e.creator_id) AS active_creators,
       sum(e.total_likes)::bigint AS total_likes,
       sum(e.total_comments)::bigint AS total_comments,
       sum(e.total_shares)::bigint AS total_shares,
       sum(e.engagement_score)::bigint AS engagement_score,
       sum(e.impressions)::bigint AS impressions,
       sum(e.reach)::bigint AS reach,
       round(sum(e.engagement_score)::numeric / nullif(sum(e.impressions), 0), 6)::double precision
           AS engagement_rate,
       round(avg(e.engagement_rate::numeric), 6)::double precision AS avg_engagement_rate,
       sum(e.posts_published)::bigint AS posts_published,
       sum(e.content_revenue)::numeric(18, 2) AS content_revenue
FROM gold.fact_engagement e
JOIN gold.dim_time t ON t.date = e.date
WHERE e.source = 'creator_api'
GROUP BY e.date, t.year, t.month, t.month_name, t.iso_year, t.iso_week, t.week_start, t.day_of_week,
         t.is_weekend;

-- One row per date and platform: the same trend, per platform. Its columns are additive, so any
-- selection of dates and platforms (the dashboards' filters, a BI slicer) sums them and recomputes each
-- ratio from its parts with the formulas of creator_kpis: reach, likes and revenue are sums,
-- engagement rate = sum(engagement_score) / sum(impressions), monetized content % =
-- 100 * sum(monetized_posts) / sum(posts_published).
CREATE OR REPLACE VIEW reporting.creator_engagement_trend_by_platform WITH (security_invoker = true) AS
WITH monetized AS (
    SELECT published_date AS date,
           platform,
           count(*) FILTER (WHERE monetization_enabled) AS monetized_posts
    FROM gold.fact_content
    WHERE source = 'creator_api'
    GROUP BY published_date, platform
)
SELECT e.date,
       e.platform,
       count(*) AS active_creators,
       sum(e.engagement_score)::bigint AS engagement_score,
       sum(e.impressions)::bigint AS impressions,
       sum(e.reach)::bigint AS reach,
       round(sum(e.engagement_score)::numeric / nullif(sum(e.impressions), 0), 6)::double precision
           AS engagement_rate,
       round(avg(e.engagement_rate::numeric), 6)::double precision AS avg_engagement_rate,
       sum(e.posts_published)::bigint AS posts_published,
       sum(e.content_revenue)::numeric(18, 2) AS content_revenue,
       sum(e.total_likes)::bigint AS total_likes,
       sum(e.total_comments)::bigint AS total_comments,
       sum(e.total_shares)::bigint AS total_shares,
       coalesce(max(m.monetized_posts), 0)::bigint AS monetized_posts
FROM gold.fact_engagement e
LEFT JOIN monetized m ON m.date = e.date AND m.platform = e.platform
WHERE e.source = 'creator_api'
GROUP BY e.date, e.platform;

-- One row per platform over the whole window.
CREATE OR REPLACE VIEW reporting.creator_platforms WITH (security_invoker = true) AS
SELECT platform,
       count(DISTINCT creator_id) AS active_creators,
       count(*) AS creator_days,
       sum(engagement_score)::bigint AS engagement_score,
       sum(impressions)::bigint AS impressions,
       sum(reach)::bigint AS reach,
       round(sum(engagement_score)::numeric / nullif(sum(impressions), 0), 6)::double precision
           AS engagement_rate,
       round(avg(engagement_rate::numeric), 6)::double precision AS avg_engagement_rate,
       sum(posts_published)::bigint AS posts,
       sum(content_revenue)::numeric(18, 2) AS revenue
FROM gold.fact_engagement
WHERE source = 'creator_api'
GROUP BY platform;

-- The label of each reach band code that gold stores (fact_engagement and dim_creators.performance_band).
CREATE OR REPLACE VIEW reporting.creator_band_labels WITH (security_invoker = true) AS
SELECT band_code, band_label
FROM (VALUES ('moderate', 'Moderate Reach'), ('trending', 'Trending Reach'), ('viral', 'Viral Reach'))
     AS band (band_code, band_label);

-- One row per reach band of creator-platform-days (fact_engagement.performance_band).
CREATE OR REPLACE VIEW reporting.creator_performance_bands WITH (security_invoker = true) AS
SELECT l.band_label AS performance_band,
       f.performance_band AS band_code,
       f.performance_band_order AS band_order,
       count(*) AS creator_days,
       round(100.0 * count(*) / sum(count(*)) OVER (), 2)::double precision AS pct_of_creator_days,
       count(DISTINCT f.creator_id) AS creators,
       sum(f.reach)::bigint AS reach,
       round(avg(f.reach::numeric), 2)::double precision AS avg_reach,
       round(avg(f.engagement_rate::numeric), 6)::double precision AS avg_engagement_rate
FROM gold.fact_engagement AS f
JOIN reporting.creator_band_labels AS l ON l.band_code = f.performance_band
WHERE f.source = 'creator_api'
GROUP BY l.band_label, f.performance_band, f.performance_band_order;

-- One row per date, platform and reach band of creator-platform-days: creator_performance_bands for any
-- selection of dates and platforms (its columns are additive).
CREATE OR REPLACE VIEW reporting.creator_performance_bands_by_date WITH (security_invoker = true) AS
SELECT f.date,
       f.platform,
       l.band_label AS performance_band,
       f.performance_band AS band_code,
       f.performance_band_order AS band_order,
       count(*) AS creator_days,
       sum(f.reach)::bigint AS reach,
       sum(f.engagement_score)::bigint AS engagement_score,
       sum(f.impressions)::bigint AS impressions
FROM gold.fact_engagement AS f
JOIN reporting.creator_band_labels AS l ON l.band_code = f.performance_band
WHERE f.source = 'creator_api'
GROUP BY f.date, f.platform, l.band_label, f.performance_band, f.performance_band_order;

-- One row per creator-level reach band (dim_creators.performance_band, of avg_daily_reach);
-- creators without engagement days are 'No Activity'.
CREATE OR REPLACE VIEW reporting.creator_performance_bands_by_creator WITH (security_invoker = true) AS
SELECT coalesce(l.band_label, 'No Activity') AS performance_band,
       c.performance_band AS band_code,
       coalesce(c.performance_band_order, 0) AS band_order,
       count(*) AS creators,
       round(100.0 * count(*) / sum(count(*)) OVER (), 2)::double precision AS pct_of_creators,
       sum(c.total_reach)::bigint AS total_reach,
       round(avg(c.avg_daily_reach::numeric), 2)::double precision AS avg_daily_reach,
       sum(c.posts)::bigint AS posts,
       sum(c.revenue)::numeric(18, 2) AS revenue
FROM gold.dim_creators AS c
LEFT JOIN reporting.creator_band_labels AS l ON l.band_code = c.performance_band
GROUP BY l.band_label, c.performance_band, c.performance_band_order;

-- One row per subscription tier.
CREATE OR REPLACE VIEW reporting.creator_subscription_tiers WITH (security_invoker = true) AS
SELECT subscription_tier,
       CASE subscription_tier WHEN 'Free' THEN 1 WHEN 'Basic' THEN 2 WHEN 'Premium' THEN 3
                              WHEN 'Enterprise' THEN 4 END AS tier_order,
       count(*) AS creators,
       count(*) FILTER (WHERE days_active > 0) AS active_creators,
       round(100.0 * count(*) / sum(count(*)) OVER (), 2)::double precision AS pct_of_creators,
       sum(posts)::bigint AS posts,
       sum(revenue)::numeric(18, 2) AS revenue,
       round(sum(revenue) / count(*), 2)::numeric(18, 2) AS revenue_per_creator,
       sum(total_reach)::bigint AS total_reach,
       sum(engagement_score)::bigint AS engagement_score,
       round(sum(engagement_score)::numeric / nullif(sum(impressions), 0), 6)::double precision
           AS engagement_rate
FROM gold.dim_creators
GROUP BY subscription_tier;

-- One row per content type and platform, from the posts themselves (the heatmap). avg_day_reach is the
-- mean reach of the creator-platform-days the posts were published on (every post joins its day).
CREATE OR REPLACE VIEW reporting.creator_content_type_platform WITH (security_invoker = true) AS
SELECT c.content_type,
       c.platform,
       count(*) AS posts,
       count(DISTINCT c.creator_id) AS creators,
       sum(c.engagement_score)::bigint AS engagement_score,
       round(avg(c.engagement_score::numeric), 2)::double precision AS avg_engagement_score,
       round(sum(c.engagement_score)::numeric / nullif(sum(c.impressions), 0), 6)::double precision
           AS engagement_rate,
       round(avg(c.engagement_rate::numeric), 6)::double precision AS avg_engagement_rate,
       round(sum(c.engagement_score)::numeric / nullif(sum(c.views), 0), 6)::double precision
           AS engagement_rate_by_views,
       sum(c.views)::bigint AS views,
       sum(c.impressions)::bigint AS impressions,
       round(avg(c.average_view_time::numeric), 2)::double precision AS avg_view_time,
       round(avg(c.completion_rate::numeric), 2)::double precision AS avg_completion_rate,
       count(*) FILTER (WHERE c.monetization_enabled) AS monetized_posts,
       sum(c.revenue_generated)::numeric(18, 2) AS revenue,
       round(avg(e.reach::numeric), 2)::double precision AS avg_day_reach
FROM gold.fact_content c
LEFT JOIN gold.fact_engagement e
       ON e.creator_id = c.creator_id AND e.platform = c.platform AND e.date = c.published_date
      AND e.source = c.source
WHERE c.source = 'creator_api'
GROUP BY c.content_type, c.platform;

-- One row per publishing date, content type and platform: creator_content_type_platform's additive
-- columns for any selection of dates and platforms (rate = sum(engagement_score) / sum(impressions)).
CREATE OR REPLACE VIEW reporting.creator_content_by_date WITH (security_invoker = true) AS
SELECT published_date AS date,
       content_type,
       platform,
       count(*) AS posts,
       count(*) FILTER (WHERE monetization_enabled) AS monetized_posts,
       sum(engagement_score)::bigint AS engagement_score,
       sum(impressions)::bigint AS impressions,
       sum(views)::bigint AS views,
       sum(revenue_generated)::numeric(18, 2) AS revenue
FROM gold.fact_content
WHERE source = 'creator_api'
GROUP BY published_date, content_type, platform;

-- One row per monetization category of posts.
CREATE OR REPLACE VIEW reporting.creator_monetization_categories WITH (security_invoker = true) AS
SELECT monetization_category,
       CASE monetization_category WHEN 'Not Monetized' THEN 1 WHEN 'Monetized, No Revenue' THEN 2
                                  WHEN 'Low Earner' THEN 3 WHEN 'Mid Earner' THEN 4
                                  WHEN 'Top Earner' THEN 5 END AS category_order,
       count(*) AS posts,
       round(100.0 * count(*) / sum(count(*)) OVER (), 2)::double precision AS pct_of_posts,
       sum(revenue_generated)::numeric(18, 2) AS revenue,
       round(avg(revenue_generated), 2)::numeric(18, 2) AS avg_revenue_per_post
FROM gold.fact_content
WHERE source = 'creator_api'
GROUP BY monetization_category;

-- One row per competitor platform plus ours (is_our_platform), ours first.
CREATE OR REPLACE VIEW reporting.creator_benchmark_competitors WITH (security_invoker = true) AS
SELECT *
FROM gold.benchmark_competitors
ORDER BY is_our_platform DESC, platform_name;

-- One row per creator segment x platform x subscription tier.
CREATE OR REPLACE VIEW reporting.creator_benchmark_niche WITH (security_invoker = true) AS
SELECT *
FROM gold.benchmark_niche
ORDER BY creator_segment, platform, subscription_tier;

-- --- Channels: ours against competitors (the cross-platform tables; docs/creator_metrics.md, "Channels
-- against competitors"). Empty when no YouTube crawl or export was published. The platform of these tables
-- is a code (youtube, instagram, tiktok); platform_name is its spelling in the API datasets' tables (YouTube),
-- so one platform filter or slicer selects both models. Views of different definitions are never added: a
-- row that sums views is one definition's (view_definition is part of its grain).

-- The name of each platform code of the cross-platform tables.
CREATE OR REPLACE VIEW reporting.creator_platform_names WITH (security_invoker = true) AS
SELECT platform, platform_name
FROM (VALUES ('youtube', 'YouTube'), ('instagram', 'Instagram'), ('tiktok', 'TikTok'))
     AS name (platform, platform_name);

-- One row per channel (YouTube, ours and competitors') or export account (ours): gold.dim_channels with
-- the platform's name and the posts exported for the account. total_views is left out: gold does not say
-- which view definition a channel's lifetime total is measured under.
CREATE OR REPLACE VIEW reporting.creator_channels WITH (security_invoker = true) AS
WITH posts AS (
    SELECT platform, account AS channel_id, count(DISTINCT content_id) AS export_posts
    FROM gold.fact_posts
    GROUP BY platform, account
)
SELECT c.platform,
       coalesce(n.platform_name, c.platform) AS platform_name,
       c.channel_id,
       c.title AS channel_title,
       c.role,
       c.is_ours,
       c.niche,
       c.source,
       c.subscribers,
       c.video_count,
       c.videos_tracked,
       coalesce(p.export_posts, 0) AS export_posts,
       c.first_snapshot_date,
       c.last_snapshot_date
FROM gold.dim_channels AS c
LEFT JOIN posts AS p ON p.platform = c.platform AND p.channel_id = c.channel_id
LEFT JOIN reporting.creator_platform_names AS n ON n.platform = c.platform;

-- One row per channel, snapshot day and view definition of its videos' snapshots (gold.fact_video_snapshots).
-- Additive columns, so a selection of days, channels or roles sums them and recomputes its ratio:
-- views gained per channel-day = sum(views_gained) / the rows with gain_videos > 0, engagement per view =
-- sum(engagement) / sum(engaged_views). views_gained is NULL when no video of the row has a gain that day
-- (the day after a missing one). Subscribers are weekly in gold: creator_channel_benchmark.
CREATE OR REPLACE VIEW reporting.creator_channel_days WITH (security_invoker = true) AS
SELECT s.snapshot_date AS date,
       s.platform,
       coalesce(n.platform_name, s.platform) AS platform_name,
       s.channel_id,
       c.title AS channel_title,
       c.role,
       c.is_ours,
       c.niche,
       s.view_definition,
       count(*) AS videos,
       count(s.views_gained) AS gain_videos,
       sum(s.views_gained)::bigint AS views_gained,
       sum(s.likes_gained)::bigint AS likes_gained,
       sum(s.comments_gained)::bigint AS comments_gained,
       sum(s.views)::bigint AS views,
       sum(s.likes + s.comments)::bigint AS engagement,
       sum(s.views) FILTER (WHERE s.likes IS NOT NULL AND s.comments IS NOT NULL)::bigint AS engaged_views,
       round(sum(s.likes + s.comments)::numeric
             / nullif(sum(s.views) FILTER (WHERE s.likes IS NOT NULL AND s.comments IS NOT NULL), 0), 6)
           ::double precision AS engagement_per_view
FROM gold.fact_video_snapshots AS s
JOIN gold.dim_channels AS c ON c.platform = s.platform AND c.channel_id = s.channel_id
LEFT JOIN reporting.creator_platform_names AS n ON n.platform = s.platform
GROUP BY s.snapshot_date, s.platform, n.platform_name, s.channel_id, c.title, c.role, c.is_ours, c.niche,
         s.view_definition;

-- One row per YouTube channel and ISO week: gold.benchmark_channels (the channel's figures and their
-- percentiles among the niche's channels that week), with niche_channels (how many channels the percentiles
-- rank, the channel included) and is_latest_week. A channel's own figures: not additive over channels.
CREATE OR REPLACE VIEW reporting.creator_channel_benchmark WITH (security_invoker = true) AS
SELECT b.period_start,
       b.period_end,
       b.platform,
       coalesce(n.platform_name, b.platform) AS platform_name,
       b.channel_id,
       b.title AS channel_title,
       b.role,
       b.is_ours,
       b.niche,
       count(*) OVER (PARTITION BY b.niche, b.period_start) AS niche_channels,
       b.subscribers,
       b.subscriber_growth,
       b.subscriber_growth_rate,
       b.subscriber_snapshots,
       b.videos,
       b.views_gained,
       b.gain_days,
       b.view_definition,
       round(b.views_per_video::numeric, 2)::double precision AS views_per_video,
       b.engagement_per_view,
       b.uploads,
       b.subscribers_percentile,
       b.subscriber_growth_percentile,
       b.views_per_video_percentile,
       b.engagement_per_view_percentile,
       b.uploads_percentile,
       b.period_start = max(b.period_start) OVER (PARTITION BY b.platform, b.channel_id) AS is_latest_week
FROM gold.benchmark_channels AS b
LEFT JOIN reporting.creator_platform_names AS n ON n.platform = b.platform;

-- One row per video: its latest snapshot (lifetime views, likes and comments as shown that day, with their
-- view_definition) and its channel's role; views_rank ranks the platform's videos by those views,
-- views_rank_in_role the videos of one role (ties: the smaller video_id first).
CREATE OR REPLACE VIEW reporting.creator_top_videos WITH (security_invoker = true) AS
WITH latest AS (
    SELECT DISTINCT ON (platform, video_id) *
    FROM gold.fact_video_snapshots
    ORDER BY platform, video_id, snapshot_date DESC
)
SELECT v.platform,
       coalesce(n.platform_name, v.platform) AS platform_name,
       v.video_id,
       v.title,
       v.channel_id,
       c.title AS channel_title,
       c.role,
       c.is_ours,
       c.niche,
       v.category,
       v.published_date,
       v.snapshot_date,
       v.views,
       v.likes,
       v.comments,
       v.engagement_per_view,
       v.view_definition,
       row_number() OVER (PARTITION BY v.platform ORDER BY v.views DESC, v.video_id) AS views_rank,
       row_number() OVER (PARTITION BY v.platform, c.role ORDER BY v.views DESC, v.video_id) AS views_rank_in_role
FROM latest AS v
JOIN gold.dim_channels AS c ON c.platform = v.platform AND c.channel_id = v.channel_id
LEFT JOIN reporting.creator_platform_names AS n ON n.platform = v.platform;

-- --- The facts' rows of the other sources: the YouTube crawl's videos and the exports' posts and account-days
-- (gold.fact_content, gold.fact_engagement with source youtube_api or export; docs/creator_metrics.md, "The
-- facts across sources"). One metric definition per row, so a row never adds incomparable counts; a total
-- across definitions is the reader's to take, knowingly.

-- One row per source, platform, content type and metric definition of the posts and videos: counts are the
-- posts' own (each at its widest measurement), additive; engagement_rate_by_views =
-- sum(engagement_score) / sum(views) over the posts with both (scored_posts).
CREATE OR REPLACE VIEW reporting.creator_content_by_source WITH (security_invoker = true) AS
SELECT c.source,
       c.platform,
       c.content_type,
       c.metric_definition,
       count(*) AS posts,
       count(DISTINCT c.creator_id) AS accounts,
       sum(c.views)::bigint AS views,
       sum(c.impressions)::bigint AS impressions,
       sum(c.likes)::bigint AS likes,
       sum(c.comments)::bigint AS comments,
       sum(c.shares)::bigint AS shares,
       count(*) FILTER (WHERE c.engagement_score IS NOT NULL AND c.views > 0) AS scored_posts,
       sum(c.engagement_score) FILTER (WHERE c.views > 0)::bigint AS engagement_score,
       round(sum(c.engagement_score) FILTER (WHERE c.views > 0)::numeric
             / nullif(sum(c.views) FILTER (WHERE c.engagement_score IS NOT NULL), 0), 6)::double precision
           AS engagement_rate_by_views
FROM gold.fact_content AS c
WHERE c.source <> 'creator_api'
GROUP BY c.source, c.platform, c.content_type, c.metric_definition;

-- One row per exported account-day (YouTube Studio's Totals, TikTok's Overview): the day's counts as the
-- export gave them, with the account's exported posts published that day.
CREATE OR REPLACE VIEW reporting.creator_account_days WITH (security_invoker = true) AS
SELECT e.source,
       e.platform,
       e.creator_id AS account,
       e.date,
       e.metric_definition,
       e.views,
       e.total_likes AS likes,
       e.total_comments AS comments,
       e.total_shares AS shares,
       e.engagement_score,
       e.posts_published
FROM gold.fact_engagement AS e
WHERE e.source <> 'creator_api';
