-- reads: audit.kpi_dirty_period
-- writes: nothing: a query whose rows are the result
-- The KPI periods a load marked and no rebuild has cleared yet.
SELECT period_type, period_start
FROM audit.kpi_dirty_period
ORDER BY period_start, period_type;
