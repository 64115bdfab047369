-- reads: mart.kpi_value, mart.agency_final_successor, mart.kpi_target
-- writes: views mart.kpi_restated
-- History restated onto the agencies that exist after a reorganization: the fact-based KPI rows
-- of every agency are added to the end of its successor chain (mart.agency_final_successor), so
-- a merged commune's past shows under the ward that absorbed it. Catalogue KPIs are per agency
-- level on a given day and do not move with a merger: they are not restated.
CREATE OR REPLACE VIEW mart.kpi_restated AS
SELECT
    v.period_type,
    v.period_start,
    coalesce(s.successor_code, v.agency_code) AS agency_code,
    v.kpi_code,
    sum(v.numerator) AS numerator,
    sum(v.denominator) AS denominator,
    sum(v.numerator) / sum(v.denominator) AS value,
    any_value(t.target) AS target,
    sum(v.numerator) / sum(v.denominator) >= any_value(t.target) AS met,
    count(DISTINCT v.agency_code) AS source_agencies
FROM mart.kpi_value AS v
LEFT JOIN mart.agency_final_successor AS s ON s.agency_code = v.agency_code
LEFT JOIN mart.kpi_target AS t ON t.kpi_code = v.kpi_code
WHERE v.agency_code <> '*'
  AND v.kpi_code NOT IN ('DVCTT_COVERAGE', 'FEE_PROC_ONLINE_PAYABLE_RATE', 'FEE_PROC_WITH_ONLINE_TX_RATE')
GROUP BY v.period_type, v.period_start, coalesce(s.successor_code, v.agency_code), v.kpi_code;
