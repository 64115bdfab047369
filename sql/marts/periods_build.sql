-- The periods this rebuild computes: those requested (all, or the dirty ones) that are periods
-- at all. A requested period that is no longer active only loses its rows.
-- period_end is the last local day of the period: the catalogue KPIs are taken on that day.
CREATE OR REPLACE TEMP TABLE kpi_build_period AS
SELECT
    a.period_type,
    a.period_start,
    (a.period_start + CASE a.period_type
        WHEN 'month' THEN INTERVAL 1 MONTH
        WHEN 'quarter' THEN INTERVAL 3 MONTH
        ELSE INTERVAL 1 YEAR
     END)::DATE - 1 AS period_end
FROM kpi_active_period AS a
SEMI JOIN kpi_requested_period AS r
    ON r.period_type = a.period_type AND r.period_start = a.period_start;

-- Per period type, the first day built and the day after the last: the bounds events.sql filters
-- the facts with. Variables rather than subqueries, because DuckDB prunes row groups only on a
-- filter whose value is known when the query is bound.
SET VARIABLE kpi_month_first = (SELECT min(period_start) FROM kpi_build_period WHERE period_type = 'month');
SET VARIABLE kpi_month_end = (SELECT max(period_end) + 1 FROM kpi_build_period WHERE period_type = 'month');
SET VARIABLE kpi_quarter_first = (SELECT min(period_start) FROM kpi_build_period WHERE period_type = 'quarter');
SET VARIABLE kpi_quarter_end = (SELECT max(period_end) + 1 FROM kpi_build_period WHERE period_type = 'quarter');
SET VARIABLE kpi_year_first = (SELECT min(period_start) FROM kpi_build_period WHERE period_type = 'year');
SET VARIABLE kpi_year_end = (SELECT max(period_end) + 1 FROM kpi_build_period WHERE period_type = 'year');

CREATE OR REPLACE TEMP TABLE kpi_result (
    period_type   VARCHAR NOT NULL,
    period_start  DATE NOT NULL,
    agency_code   VARCHAR NOT NULL,
    kpi_code      VARCHAR NOT NULL,
    numerator     DOUBLE NOT NULL,
    denominator   BIGINT NOT NULL
);
