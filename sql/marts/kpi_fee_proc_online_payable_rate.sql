-- reads: kpi_catalogue_by_level, kpi_agency_on_day, kpi_catalogue
-- writes: nothing: its rows (period, agency, kpi_code, numerator, denominator) go to kpi_result
-- FEE_PROC_ONLINE_PAYABLE_RATE (kpis.md): share of fee-bearing procedures payable online.
-- On the last day d of P: numerator = catalogue versions with CoPhiLePhi and ThanhToanTrucTuyen,
-- denominator = catalogue versions with CoPhiLePhi (catalogue as in kpi_dvctt_coverage.sql).
WITH by_level AS (
    SELECT
        period_type, period_start, agency_level,
        count(*) FILTER (WHERE online_payment) AS numerator,
        count(*) AS denominator
    FROM kpi_catalogue_by_level
    WHERE has_fee
    GROUP BY ALL
)
SELECT a.period_type, a.period_start, a.agency_code, 'FEE_PROC_ONLINE_PAYABLE_RATE' AS kpi_code,
       b.numerator, b.denominator
FROM kpi_agency_on_day AS a
JOIN by_level AS b USING (period_type, period_start, agency_level)
UNION ALL
SELECT period_type, period_start, '*', 'FEE_PROC_ONLINE_PAYABLE_RATE',
       count(*) FILTER (WHERE online_payment),
       count(*)
FROM kpi_catalogue
WHERE has_fee
GROUP BY ALL
