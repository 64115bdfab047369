-- reads: core.fact_dossier, core.fact_payment
-- writes: kpi_requested_period
-- The periods a full rebuild requests: every month, quarter and year from the first to the last
-- event date on the facts. A superset of the periods (kpis.md "Periods") is enough: only the
-- requested periods with an event are built (periods_build.sql). min/max are cheap column scans,
-- where finding the distinct event days would cost a pass over every fact.
CREATE OR REPLACE TEMP TABLE kpi_requested_period AS
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
WHERE b.first_day IS NOT NULL;
