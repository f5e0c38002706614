-- How many rows each of a source's reporting views holds: the last statement of refresh_reporting, whose
-- rows are the task's return value (XCom and its log), so every run shows what BI will see.
-- params.view_prefix is a LIKE pattern, e.g. creator\_%. The function: reporting_row_counts_function.sql.
SELECT reporting_view, row_count FROM pulse_meta.reporting_row_counts('{{ params.view_prefix }}');
