-- reads: mart.kpi_value, mart.kpi_target; parameters period_start, period_type, previous_start
-- writes: nothing: a query whose rows are the result
-- The city's KPIs (agency `*`) of the period, with the previous period's value for the change.
-- Params: $period_type, $period_start, $previous_start.
SELECT
    v.kpi_code,
    v.numerator,
    v.denominator,
    v.value,
    coalesce(v.target, t.target) AS target,
    v.met,
    p.value AS previous_value
FROM mart.kpi_value AS v
LEFT JOIN mart.kpi_target AS t USING (kpi_code)
LEFT JOIN mart.kpi_value AS p
    ON p.period_type = v.period_type AND p.period_start = $previous_start
   AND p.agency_code = '*' AND p.kpi_code = v.kpi_code
WHERE v.period_type = $period_type AND v.period_start = $period_start AND v.agency_code = '*';
