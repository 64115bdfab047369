-- reads: mart.kpi_value; parameters trend_end, trend_first
-- writes: nothing: a query whose rows are the result
-- The city's monthly values over the trend window [$trend_first, $trend_end).
SELECT period_start AS month_start, kpi_code, value, target, numerator, denominator
FROM mart.kpi_value
WHERE period_type = 'month' AND agency_code = '*'
  AND period_start >= $trend_first AND period_start < $trend_end
ORDER BY kpi_code, month_start;
