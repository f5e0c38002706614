-- How many rows each of a source's reporting views holds: the last statement of refresh_reporting, whose
-- rows are the task's return value (XCom and its log), so every run shows what BI will see.
-- params.view_prefix is a LIKE pattern, e.g. creator\_%.
SELECT v.table_name AS reporting_view,
       (xpath('/row/n/text()',
              query_to_xml(format('SELECT count(*) AS n FROM reporting.%I', v.table_name), false, true, ''))
       )[1]::text::bigint AS row_count
FROM information_schema.views AS v
WHERE v.table_schema = 'reporting' AND v.table_name LIKE '{{ params.view_prefix }}'
ORDER BY 1;
