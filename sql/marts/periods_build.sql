-- The periods this rebuild computes: those requested (all, or the dirty ones) that are periods
-- at all (kpis.md "Periods": a dossier received, finished or returned, or a payment succeeding in
-- it). The month aggregates (facts_by_month.sql) cover every requested period, and a month has a
-- row in one of them exactly when such an event falls in it. A requested period that is no longer
-- active only loses its rows. period_end is the last local day: the catalogue KPIs are taken on it.
CREATE OR REPLACE TEMP TABLE kpi_build_period AS
WITH active_month AS (
    SELECT month_start FROM kpi_received_month
    UNION
    SELECT month_start FROM kpi_finished_month
    UNION
    SELECT month_start FROM kpi_returned_month
    UNION
    SELECT month_start FROM kpi_payment_month
)
SELECT DISTINCT
    r.period_type,
    r.period_start,
    (r.period_start + CASE r.period_type
        WHEN 'month' THEN INTERVAL 1 MONTH
        WHEN 'quarter' THEN INTERVAL 3 MONTH
        ELSE INTERVAL 1 YEAR
     END)::DATE - 1 AS period_end
FROM kpi_requested_period AS r
SEMI JOIN active_month AS m
    ON date_trunc(r.period_type, m.month_start) = r.period_start;

-- The months each built period adds up: counts and sums are additive, so a quarter or a year is
-- the sum of its months (every record is dated in exactly one month per event kind).
CREATE OR REPLACE TEMP TABLE kpi_period_month AS
SELECT p.period_type, p.period_start,
       unnest(generate_series(p.period_start, p.period_end, INTERVAL 1 MONTH))::DATE AS month_start
FROM kpi_build_period AS p;

CREATE OR REPLACE TEMP TABLE kpi_result (
    period_type   VARCHAR NOT NULL,
    period_start  DATE NOT NULL,
    agency_code   VARCHAR NOT NULL,
    kpi_code      VARCHAR NOT NULL,
    numerator     DOUBLE NOT NULL,
    denominator   BIGINT NOT NULL
);
