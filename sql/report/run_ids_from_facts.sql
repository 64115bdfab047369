-- reads: core.fact_dossier, core.fact_payment; parameters period_end, period_start
-- writes: nothing: a query whose rows are the result
-- Fallback when no audit table can be read: the runs that wrote the facts counted in the period.
SELECT run_id, NULL::TIMESTAMP AS first_window, NULL::TIMESTAMP AS last_window, count(*) AS loaded
FROM (
    SELECT run_id FROM core.fact_dossier
    WHERE received_at >= $period_start AND received_at < $period_end
    UNION ALL
    SELECT run_id FROM core.fact_payment
    WHERE transacted_at >= $period_start AND transacted_at < $period_end
)
GROUP BY run_id
ORDER BY run_id;
