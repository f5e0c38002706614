-- The Spotify original's gold table names, kept working as views over the tables that replaced them.
--
-- The original called per-listener aggregates dimensions (dim_artist_stats, dim_timeline_trends,
-- dim_top_tier_tracks, dim_album_stats) and its calendar dim_date_dimension; Pulse names them for what
-- they are (docs/spotify_metrics.md, "Table names"). fact_track_breakdown kept its name. Run in the
-- publish transaction before the reporting views, and again by refresh_reporting.
-- Like every view over gold, they run with the reader's rights (security_invoker), so a per-listener
-- login sees its own rows through them too.

-- A warehouse published by an earlier Pulse has tables under these names: they are replaced by the views.
DO $original_names$
DECLARE
    old_table text;
BEGIN
    FOR old_table IN
        SELECT tablename FROM pg_tables WHERE schemaname = 'gold' AND tablename IN
            ('dim_artist_stats', 'dim_album_stats', 'dim_timeline_trends', 'dim_top_tier_tracks', 'dim_date_dimension')
    LOOP
        EXECUTE format('DROP TABLE gold.%I CASCADE', old_table);
    END LOOP;
END
$original_names$;

CREATE OR REPLACE VIEW gold.dim_artist_stats WITH (security_invoker = true) AS SELECT * FROM gold.agg_listener_artists;
CREATE OR REPLACE VIEW gold.dim_album_stats WITH (security_invoker = true) AS SELECT * FROM gold.agg_listener_albums;
CREATE OR REPLACE VIEW gold.dim_timeline_trends WITH (security_invoker = true) AS SELECT * FROM gold.agg_listening_timeline;
CREATE OR REPLACE VIEW gold.dim_top_tier_tracks WITH (security_invoker = true) AS SELECT * FROM gold.agg_top_tracks;
CREATE OR REPLACE VIEW gold.dim_date_dimension WITH (security_invoker = true) AS SELECT * FROM gold.dim_date;
