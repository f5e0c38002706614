-- pulse_meta.reporting_row_counts(pattern): how many rows each reporting view whose name is LIKE the pattern
-- holds. refresh_reporting calls it last (reporting_row_counts.sql). A function, because counting views
-- whose names are data needs dynamic SQL (the embedded server is built without libxml: no query_to_xml).
CREATE OR REPLACE FUNCTION pulse_meta.reporting_row_counts(view_pattern text)
RETURNS TABLE (reporting_view text, row_count bigint)
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    FOR reporting_view IN
        SELECT v.table_name::text FROM information_schema.views AS v
        WHERE v.table_schema = 'reporting' AND v.table_name LIKE view_pattern
        ORDER BY 1
    LOOP
        EXECUTE format('SELECT count(*) FROM reporting.%I', reporting_view) INTO row_count;
        RETURN NEXT;
    END LOOP;
END
$$;
