-- Periods (kpis.md "Periods"): every month, quarter and year in which, over the loaded valid
-- records in their latest state (exactly what the facts hold), a dossier is received, finished
-- or returned, or a payment succeeds. Timestamps in core are local wall time, so ::DATE is the
-- local day.
CREATE OR REPLACE TEMP TABLE kpi_active_period AS
WITH event_day AS (
    SELECT DISTINCT received_at::DATE AS day
    FROM core.fact_dossier
    WHERE status NOT IN (1, 3) AND received_at IS NOT NULL
    UNION
    SELECT DISTINCT finished_at::DATE
    FROM core.fact_dossier
    WHERE status IN (9, 10) AND finished_at IS NOT NULL
    UNION
    SELECT DISTINCT returned_at::DATE
    FROM core.fact_dossier
    WHERE status = 10 AND returned_at IS NOT NULL
    UNION
    SELECT DISTINCT transacted_at::DATE
    FROM core.fact_payment
    WHERE status = 'thanh-cong'
),
granularity(period_type) AS (VALUES ('month'), ('quarter'), ('year'))
SELECT DISTINCT g.period_type, date_trunc(g.period_type, e.day)::DATE AS period_start
FROM event_day AS e
CROSS JOIN granularity AS g;
