-- reads: mart.kpi_value, mart.agency_ancestor, mart.kpi_target
-- writes: views mart.kpi_rollup
-- Roll-ups along the agency hierarchy: each agency with everything below it (parent_code).
-- Only the fact-based KPIs add up across agencies (each record has exactly one agency, so the
-- numerators and denominators of the children sum to the parent's). The catalogue KPIs and
-- FEE_PROC_WITH_ONLINE_TX_RATE count procedures, which agencies share: they are not rolled up.
CREATE OR REPLACE VIEW mart.kpi_rollup AS
SELECT
    v.period_type,
    v.period_start,
    c.ancestor_code AS agency_code,
    v.kpi_code,
    sum(v.numerator) AS numerator,
    sum(v.denominator) AS denominator,
    sum(v.numerator) / sum(v.denominator) AS value,
    any_value(t.target) AS target,
    sum(v.numerator) / sum(v.denominator) >= any_value(t.target) AS met,
    count(DISTINCT v.agency_code) AS agencies
FROM mart.kpi_value AS v
JOIN mart.agency_ancestor AS c ON c.agency_code = v.agency_code
LEFT JOIN mart.kpi_target AS t ON t.kpi_code = v.kpi_code
WHERE v.agency_code <> '*'
  AND v.kpi_code NOT IN ('DVCTT_COVERAGE', 'FEE_PROC_ONLINE_PAYABLE_RATE', 'FEE_PROC_WITH_ONLINE_TX_RATE')
GROUP BY v.period_type, v.period_start, c.ancestor_code, v.kpi_code;
