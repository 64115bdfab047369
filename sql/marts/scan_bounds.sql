-- The facts a rebuild reads: those dated from the first day of the earliest requested period to
-- the day after the end of the latest. Variables rather than subqueries, because DuckDB prunes
-- row groups (zonemaps on the event timestamps) only on a filter whose value is known when the
-- query is bound. Nothing requested: NULL bounds, and the facts are not read at all.
SET VARIABLE kpi_first = (SELECT min(period_start) FROM kpi_requested_period);
SET VARIABLE kpi_end = (
    SELECT max(period_start + CASE period_type
        WHEN 'month' THEN INTERVAL 1 MONTH
        WHEN 'quarter' THEN INTERVAL 3 MONTH
        ELSE INTERVAL 1 YEAR
    END)::DATE
    FROM kpi_requested_period
);
