-- reads: load_dossier_applied, load_payment_applied, load_agency_changed,
--        load_procedure_changed, load_pilot_match, core.fact_dossier, core.fact_payment,
--        macros core.kpi_dossier_events, core.kpi_periods_of
-- writes: load_touched_date, load_dirty_period, audit.kpi_dirty_period
-- KPI periods to rebuild (kpis.md): every month, quarter and year in which a record this load
-- touched counts, in the state it replaced and in its new state, by the rule of
-- migration 0004 (the one the rebuild counts by). Dates are taken whatever the
-- status (a superset of "received/finished/returned in P" is safe; a subset is not).
CREATE OR REPLACE TEMP TABLE load_touched_date AS
WITH payment_dossier AS (
    SELECT dossier_id FROM load_payment_applied WHERE dossier_id IS NOT NULL
    UNION
    SELECT old_dossier_id FROM load_payment_applied WHERE old_dossier_id IS NOT NULL
),
dimension_changed AS (
    SELECT (SELECT count(*) FROM load_agency_changed) + (SELECT count(*) FROM load_procedure_changed) > 0
        AS changed
),
touched(ts) AS (
    SELECT unnest(core.kpi_dossier_events(received_at, finished_at, returned_at)
                  || core.kpi_dossier_events(old_received_at, old_finished_at, old_returned_at))
    FROM load_dossier_applied
    UNION ALL
    SELECT unnest([transacted_at, old_transacted_at]) FROM load_payment_applied
    -- A payment changes DOSSIER_ONLINE_PAYMENT_RATE in the month its dossier was received.
    UNION ALL
    SELECT f.received_at FROM core.fact_dossier AS f SEMI JOIN payment_dossier USING (dossier_id)
    -- A reference change moves catalogue KPIs and procedure versions: every period with data.
    UNION ALL
    SELECT unnest(core.kpi_dossier_events(received_at, finished_at, returned_at))
    FROM core.fact_dossier
    WHERE (SELECT changed FROM dimension_changed)
    UNION ALL
    SELECT transacted_at FROM core.fact_payment
    WHERE (SELECT changed FROM dimension_changed)
    -- A pilot registration opened or closed moves PILOT_PAPER_FREE_RATE in every month of its
    -- span (an open one: up to the latest dossier received).
    UNION ALL
    SELECT unnest(generate_series(
        date_trunc('month', start_date),
        date_trunc('month', coalesce(end_date, greatest(
            start_date, (SELECT max(received_at) FROM core.fact_dossier)::DATE))),
        INTERVAL 1 MONTH))
    FROM load_pilot_match
)
SELECT DISTINCT CAST(ts AS DATE) AS day FROM touched WHERE ts IS NOT NULL;

CREATE OR REPLACE TEMP TABLE load_dirty_period AS
SELECT DISTINCT period.period_type, period.period_start
FROM (SELECT unnest(core.kpi_periods_of(day)) AS period FROM load_touched_date);

INSERT INTO audit.kpi_dirty_period BY NAME
SELECT period_type, period_start FROM load_dirty_period
ON CONFLICT DO NOTHING;
