-- reads: mart.dq_dossier_without_procedure_version, mart.dq_finished_without_received; parameters
--        period_end, period_start
-- writes: nothing: a query whose rows are the result
-- The records a KPI had to leave out (kpis.md), counted for the period [$period_start, $period_end).
SELECT 'dossier_without_procedure_version' AS finding, count(*) AS records
FROM mart.dq_dossier_without_procedure_version
WHERE received_at >= $period_start AND received_at < $period_end
UNION ALL
SELECT 'finished_without_received', count(*)
FROM mart.dq_finished_without_received
WHERE finished_at >= $period_start AND finished_at < $period_end;
