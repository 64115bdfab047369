-- Agencies ranked by each KPI that has a target (rank 1 = highest value), with their gap to it.
-- Ties share a rank; the agency code breaks them for a stable order.
-- Params: $period_type, $period_start.
SELECT
    v.kpi_code,
    rank() OVER (PARTITION BY v.kpi_code ORDER BY v.value DESC) AS rank,
    count(*) OVER (PARTITION BY v.kpi_code) AS agencies_ranked,
    v.agency_code,
    a.agency_name,
    a.agency_level,
    a.is_inferred,
    v.value,
    v.target,
    v.value - v.target AS gap,
    v.met,
    v.numerator,
    v.denominator
FROM mart.kpi_value AS v
LEFT JOIN core.dim_agency AS a USING (agency_code)
WHERE v.period_type = $period_type AND v.period_start = $period_start
  AND v.agency_code <> '*' AND v.target IS NOT NULL
ORDER BY v.kpi_code, rank, v.agency_code;
