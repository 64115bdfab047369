-- reads: core.fact_dossier, core.fact_payment, mart.kpi_value
-- writes: audit.kpi_dirty_period; drops intermediate.kpi_month_term,
--         intermediate.kpi_month_paid_dossier, mart.kpi_month_term
-- The KPI rebuild's derived caches (sql/marts/fact_months.sql) in the shape fact_months.sql
-- defines now. Warehouses made before this migration may hold them in an older shape (terms
-- without digitized_returned, no kpi_month_paid_dossier) or in mart (mart.kpi_month_term, where
-- earlier versions kept the terms), which kpi.py used to detect on every rebuild. They go, and
-- every period is marked dirty: the next rebuild recomputes every month from the facts into
-- tables fact_months.sql creates, as a full rebuild does. kpi_value itself is left as it is
-- until then (a reader of the warehouse in between sees the last values built).
DROP TABLE IF EXISTS mart.kpi_month_term;
DROP TABLE IF EXISTS intermediate.kpi_month_term;
DROP TABLE IF EXISTS intermediate.kpi_month_paid_dossier;

-- Every month, quarter and year from the first to the last event date on the facts (as
-- sql/marts/periods_all.sql, copied: a migration must not change when that file does), and every
-- period kpi_value holds (one no longer active then loses its rows).
INSERT INTO audit.kpi_dirty_period BY NAME
WITH event_bounds AS (
    SELECT min(first_at)::DATE AS first_day, max(last_at)::DATE AS last_day
    FROM (
        SELECT least(min(received_at), min(finished_at), min(returned_at)) AS first_at,
               greatest(max(received_at), max(finished_at), max(returned_at)) AS last_at
        FROM core.fact_dossier
        UNION ALL
        SELECT min(transacted_at), max(transacted_at) FROM core.fact_payment
    )
),
granularity(period_type, step) AS (
    VALUES ('month', INTERVAL 1 MONTH), ('quarter', INTERVAL 3 MONTH), ('year', INTERVAL 1 YEAR)
)
SELECT g.period_type, unnest(generate_series(
    date_trunc(g.period_type, b.first_day), date_trunc(g.period_type, b.last_day), g.step
))::DATE AS period_start
FROM event_bounds AS b
CROSS JOIN granularity AS g
WHERE b.first_day IS NOT NULL
UNION
SELECT DISTINCT period_type, period_start FROM mart.kpi_value
ON CONFLICT DO NOTHING;
