-- reads: mart.kpi_value, core.dim_agency; parameters period_start, period_type
-- writes: nothing: a query whose rows are the result
-- Online vs in-person processing time per agency (AVG_DAYS_ONLINE vs AVG_DAYS_OFFLINE), `*` first.
-- Params: $period_type, $period_start.
SELECT
    v.agency_code,
    any_value(a.agency_name) AS agency_name,
    any_value(a.is_inferred) AS is_inferred,
    max(v.value) FILTER (WHERE v.kpi_code = 'AVG_DAYS_ONLINE') AS online_days,
    max(v.denominator) FILTER (WHERE v.kpi_code = 'AVG_DAYS_ONLINE') AS online_dossiers,
    max(v.value) FILTER (WHERE v.kpi_code = 'AVG_DAYS_OFFLINE') AS offline_days,
    max(v.denominator) FILTER (WHERE v.kpi_code = 'AVG_DAYS_OFFLINE') AS offline_dossiers
FROM mart.kpi_value AS v
LEFT JOIN core.dim_agency AS a USING (agency_code)
WHERE v.period_type = $period_type AND v.period_start = $period_start
  AND v.kpi_code IN ('AVG_DAYS_ONLINE', 'AVG_DAYS_OFFLINE')
GROUP BY v.agency_code
ORDER BY v.agency_code <> '*', v.agency_code;
