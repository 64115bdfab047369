-- reads: mart.kpi_value, kpi_requested_period, kpi_result, mart.kpi_target
-- writes: mart.kpi_value
-- Swap in the recomputed rows: every requested period loses its old rows (also a period that is
-- no longer active), then gets the rows with a denominator > 0. value = numerator / denominator;
-- target from mart.kpi_target; met = value >= target, null where there is no target.
DELETE FROM mart.kpi_value AS v
WHERE EXISTS (
    SELECT 1 FROM kpi_requested_period AS r
    WHERE r.period_type = v.period_type AND r.period_start = v.period_start
);

-- The table has no key index (migrations/0001_baseline.sql): a KPI file giving a (period,
-- agency) twice fails the rebuild here, naming the row, instead of writing it twice.
SELECT error(format('KPI {} gives {} rows for {} {} agency {}',
                    kpi_code, count(*), period_type, period_start, agency_code))
FROM kpi_result
GROUP BY period_type, period_start, agency_code, kpi_code
HAVING count(*) > 1
LIMIT 1;

INSERT INTO mart.kpi_value BY NAME
SELECT
    r.period_type,
    r.period_start,
    r.agency_code,
    r.kpi_code,
    r.numerator,
    r.denominator,
    r.numerator / r.denominator AS value,
    t.target,
    r.numerator / r.denominator >= t.target AS met
FROM kpi_result AS r
LEFT JOIN mart.kpi_target AS t USING (kpi_code)
WHERE r.denominator > 0;
