-- The Spotify source's reporting views: what BI and `python -m pulse.summary spotify` read.
--
-- Run inside the publish transaction right after the new gold tables are moved into schema gold
-- (dropping the old tables dropped the old views), and again by refresh_reporting. Every view is named
-- spotify_*, reads schema gold only and is per listener: listeners never mix. Each runs with the
-- reader's rights (security_invoker), so a per-listener login's row-level security holds through it
-- (include/sql/bi_access/grants.sql refuses such a view to those logins otherwise). Definitions, formulas
-- and worked examples: docs/spotify_metrics.md.
--
-- Conventions: minutes are computed from summed milliseconds (bigint, exact) or summed as numeric, and
-- rounded to 2 decimals; ratios to 6 decimals, percentages to 2; a ratio whose denominator is 0 is NULL.
-- "Music" is content_kind = 'track' with an identity; podcasts (episodes and audiobooks) and
-- unidentified items count in the listening minutes only. This file is kept ASCII.

-- One row per listener: the headline figures.
CREATE OR REPLACE VIEW reporting.spotify_kpis WITH (security_invoker = true) AS
WITH music AS (
    SELECT listener,
           sum(plays) AS plays,
           sum(streams) AS streams,
           sum(skips) AS skips,
           sum(ms_played) AS ms_played,
           count(*) AS distinct_tracks
    FROM gold.fact_track_breakdown
    GROUP BY listener
), artists AS (
    SELECT listener,
           count(*) AS distinct_artists,
           count(*) FILTER (WHERE stream_weeks > 0) AS streamed_artists,
           round(avg(loyalty_score::numeric) FILTER (WHERE stream_weeks > 0), 2) AS mean_loyalty
    FROM gold.agg_listener_artists
    GROUP BY listener
), top_artist AS (
    SELECT listener, artist_name, ms_played, loyalty_score
    FROM gold.agg_listener_artists
    WHERE rank_by_minutes = 1
), days AS (
    SELECT listener,
           count(*) AS active_days,
           sum(plays) AS all_plays,
           sum(ms_played) AS all_ms,
           sum(podcast_minutes::numeric) AS podcast_minutes,
           min(period_start) AS first_date,
           max(period_start) AS last_date
    FROM gold.agg_listening_timeline
    WHERE grain = 'day'
    GROUP BY listener
)
SELECT d.listener,
       round(d.all_ms / 60000.0, 2)::double precision AS listening_minutes,
       round(coalesce(m.ms_played, 0) / 60000.0, 2)::double precision AS music_minutes,
       round(d.podcast_minutes, 2)::double precision AS podcast_minutes,
       d.all_plays::bigint AS all_plays,
       coalesce(m.plays, 0)::bigint AS plays,
       coalesce(m.streams, 0)::bigint AS streams,
       coalesce(m.skips, 0)::bigint AS skips,
       round(m.skips::numeric / nullif(m.plays, 0), 6)::double precision AS skip_rate,
       coalesce(a.distinct_artists, 0) AS distinct_artists,
       coalesce(m.distinct_tracks, 0) AS distinct_tracks,
       t.artist_name AS top_artist,
       round(t.ms_played / 60000.0, 2)::double precision AS top_artist_minutes,
       t.loyalty_score AS top_artist_loyalty,
       a.mean_loyalty::double precision AS mean_loyalty,
       coalesce(a.streamed_artists, 0) AS streamed_artists,
       d.active_days,
       d.first_date,
       d.last_date
FROM days d
LEFT JOIN music m ON m.listener = d.listener
LEFT JOIN artists a ON a.listener = d.listener
LEFT JOIN top_artist t ON t.listener = d.listener
ORDER BY d.listener;

-- One row per listener and month with plays: the listening trend.
CREATE OR REPLACE VIEW reporting.spotify_listening_trend WITH (security_invoker = true) AS
SELECT listener,
       period AS month,
       period_start AS month_start,
       plays,
       streams,
       skips,
       round(skips::numeric / nullif(plays, 0), 6)::double precision AS skip_rate,
       music_plays,
       round(ms_played / 60000.0, 2)::double precision AS listening_minutes,
       round(music_minutes::numeric, 2)::double precision AS music_minutes,
       round(podcast_minutes::numeric, 2)::double precision AS podcast_minutes,
       round(other_minutes::numeric, 2)::double precision AS other_minutes,
       distinct_artists,
       distinct_tracks,
       new_artists
FROM gold.agg_listening_timeline
WHERE grain = 'month';

-- One row per listener and artist among the listener's 25 most listened (by music minutes).
CREATE OR REPLACE VIEW reporting.spotify_top_artists_by_minutes WITH (security_invoker = true) AS
SELECT listener,
       rank_by_minutes AS rank,
       artist_name,
       artist_id,
       round(ms_played / 60000.0, 2)::double precision AS listening_minutes,
       round(100.0 * ms_played / nullif(sum(ms_played) OVER (PARTITION BY listener), 0), 2)::double precision
           AS pct_of_music_minutes,
       plays,
       streams,
       skip_rate,
       distinct_tracks,
       loyalty_score,
       genres
FROM gold.agg_listener_artists
WHERE rank_by_minutes <= 25;

-- One row per listener and artist among the 25 with the most distinct tracks played.
CREATE OR REPLACE VIEW reporting.spotify_top_artists_by_tracks WITH (security_invoker = true) AS
SELECT listener,
       rank_by_tracks AS rank,
       artist_name,
       artist_id,
       distinct_tracks,
       distinct_albums,
       round(ms_played / 60000.0, 2)::double precision AS listening_minutes,
       streams,
       loyalty_score
FROM gold.agg_listener_artists
WHERE rank_by_tracks <= 25;

-- One row per listener and rank: the top 50 tracks by streams, with their tier.
CREATE OR REPLACE VIEW reporting.spotify_top_tracks WITH (security_invoker = true) AS
SELECT listener,
       rank,
       tier,
       track_name,
       artist_name,
       album_name,
       streams,
       plays,
       round(ms_played / 60000.0, 2)::double precision AS listening_minutes,
       track_key
FROM gold.agg_top_tracks;

-- One row per listener, ISO weekday (1 = Monday) and UTC hour: all 168 cells, 0 where nothing played
-- (the heatmap). pct_of_listening is the cell's share of the listener's listening milliseconds.
CREATE OR REPLACE VIEW reporting.spotify_weekly_activity WITH (security_invoker = true) AS
WITH listeners AS (
    SELECT DISTINCT listener FROM gold.agg_listening_timeline
), cells AS (
    SELECT l.listener, d.day_of_week_number, h.hour
    FROM listeners l
    CROSS JOIN generate_series(1, 7) AS d(day_of_week_number)
    CROSS JOIN generate_series(0, 23) AS h(hour)
)
SELECT c.listener,
       c.day_of_week_number,
       (ARRAY['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'])[c.day_of_week_number]
           AS day_of_week,
       c.hour,
       coalesce(t.plays, 0) AS plays,
       coalesce(t.streams, 0) AS streams,
       round(coalesce(t.ms_played, 0) / 60000.0, 2)::double precision AS listening_minutes,
       round(coalesce(t.music_minutes, 0)::numeric, 2)::double precision AS music_minutes,
       round(coalesce(t.podcast_minutes, 0)::numeric, 2)::double precision AS podcast_minutes,
       round(100.0 * coalesce(t.ms_played, 0)
             / nullif(sum(coalesce(t.ms_played, 0)) OVER (PARTITION BY c.listener), 0), 2)::double precision
           AS pct_of_listening
FROM cells c
LEFT JOIN gold.agg_listening_timeline t
       ON t.listener = c.listener AND t.grain = 'weekday_hour'
      AND t.day_of_week_number = c.day_of_week_number AND t.hour = c.hour;

-- One row per listener and artist the listener streamed: loyalty, most loyal first (loyalty_rank).
CREATE OR REPLACE VIEW reporting.spotify_artist_loyalty WITH (security_invoker = true) AS
SELECT listener,
       row_number() OVER (PARTITION BY listener ORDER BY loyalty_score DESC, ms_played DESC, artist_key)
           AS loyalty_rank,
       artist_name,
       loyalty_score,
       return_rate,
       persistence,
       stream_weeks,
       window_weeks,
       active_weeks,
       first_played_at,
       last_played_at,
       round(ms_played / 60000.0, 2)::double precision AS listening_minutes,
       streams,
       rank_by_minutes
FROM gold.agg_listener_artists
WHERE stream_weeks > 0;

-- One row per listener and artist played (music): what the artist search lists and the drill-down
-- starts from. rank_by_minutes and rank_by_tracks are the ranks of the two top-artist views.
CREATE OR REPLACE VIEW reporting.spotify_artists WITH (security_invoker = true) AS
SELECT listener,
       artist_key,
       artist_name,
       artist_id,
       rank_by_minutes,
       rank_by_tracks,
       round(ms_played / 60000.0, 2)::double precision AS listening_minutes,
       ms_played,
       plays,
       streams,
       skips,
       skip_rate,
       distinct_tracks,
       distinct_albums,
       loyalty_score,
       stream_weeks,
       active_weeks,
       first_played_at,
       last_played_at,
       genres
FROM gold.agg_listener_artists;

-- One row per listener and album with plays (music plays that name an album).
CREATE OR REPLACE VIEW reporting.spotify_albums WITH (security_invoker = true) AS
SELECT listener,
       album_key,
       album_name,
       artist_name,
       round(ms_played / 60000.0, 2)::double precision AS listening_minutes,
       ms_played,
       plays,
       streams,
       distinct_tracks,
       total_tracks,
       album_completion,
       release_year,
       first_played_at,
       last_played_at
FROM gold.agg_listener_albums;

-- One row per listener and track (music): the drill-down's levels artist -> album -> track. A track
-- whose plays name no album (classic exports) has a NULL album_key. Sum ms_played for an artist's or an
-- album's minutes within a selection (listening minutes = sum(ms_played) / 60,000).
CREATE OR REPLACE VIEW reporting.spotify_tracks WITH (security_invoker = true) AS
SELECT listener,
       track_key,
       track_name,
       artist_key,
       artist_name,
       album_key,
       album_name,
       round(ms_played / 60000.0, 2)::double precision AS listening_minutes,
       ms_played,
       plays,
       streams,
       skips,
       skip_rate,
       days_played,
       first_played_at,
       last_played_at
FROM gold.fact_track_breakdown;
