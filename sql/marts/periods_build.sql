-- reads: kpi_requested_period, intermediate.kpi_month_term
-- writes: kpi_build_period, kpi_period_month, kpi_result
-- The periods this rebuild computes: those requested (all, or the dirty ones) that are periods
-- at all (kpis.md "Periods": a dossier received, finished or returned, or a payment succeeding in
-- it). intermediate.kpi_month_term holds every month of the requested periods (month_terms.sql),
-- and a month has rows there exactly when such an event falls in it. A requested period that is
-- no longer active only loses its rows. period_end is the last local day: the catalogue KPIs are
-- taken on it.
CREATE OR REPLACE TEMP TABLE kpi_build_period AS
SELECT DISTINCT
    r.period_type,
    r.period_start,
    (r.period_start + CASE r.period_type
        WHEN 'month' THEN INTERVAL 1 MONTH
        WHEN 'quarter' THEN INTERVAL 3 MONTH
        ELSE INTERVAL 1 YEAR
     END)::DATE - 1 AS period_end
FROM kpi_requested_period AS r
SEMI JOIN (SELECT DISTINCT month_start FROM intermediate.kpi_month_term) AS m
    ON date_trunc(r.period_type, m.month_start) = r.period_start;

-- The months each built period adds up.
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
