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

CREATE OR REPLACE TEMP TABLE kpi_result (
    period_type   VARCHAR NOT NULL,
    period_start  DATE NOT NULL,
    agency_code   VARCHAR NOT NULL,
    kpi_code      VARCHAR NOT NULL,
    numerator     DOUBLE NOT NULL,
    denominator   BIGINT NOT NULL
);
