-- reads: mart.kpi_gap, core.dim_agency
-- writes: nothing: a query whose rows are the result
-- Every target missed in the period, by the city (`*`) or an agency, with the records that would
-- have met it (records_needed, in the unit of the KPI's numerator). Params: $period_type, $period_start.
SELECT
    g.agency_code,
    a.agency_name,
    g.agency_code <> '*' AND (a.agency_code IS NULL OR a.is_inferred) AS unknown_agency,
    g.kpi_code,
    g.numerator,
    g.denominator,
    g.value,
    g.target,
    g.gap_pts,
    g.records_needed,
    g.unit_vi,
    g.unit_en
FROM mart.kpi_gap AS g
LEFT JOIN core.dim_agency AS a ON a.agency_code = g.agency_code
WHERE g.period_type = $period_type AND g.period_start = $period_start AND g.records_needed > 0
ORDER BY g.agency_code, g.kpi_code;
