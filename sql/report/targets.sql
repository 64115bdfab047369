-- reads: mart.kpi_target
-- writes: nothing: a query whose rows are the result
-- Every target, for KPIs the period may lack a row for. No params.
SELECT kpi_code, target, source FROM mart.kpi_target ORDER BY kpi_code;
