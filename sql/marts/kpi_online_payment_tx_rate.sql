-- reads: kpi_period_term
-- writes: nothing: its rows (period, agency, kpi_code, numerator, denominator) go to kpi_result
-- ONLINE_PAYMENT_TX_RATE (kpis.md): share of successful payments made online.
-- numerator: online (truc-tuyen) payments successful in P; denominator: payments successful in P.
-- Rows: the payment's own MaDonVi, and `*`. A payment without MaDonVi is valid (source-api.md)
-- but names no agency: it counts for `*` only.
SELECT period_type, period_start, agency_code, 'ONLINE_PAYMENT_TX_RATE' AS kpi_code,
       online_payments AS numerator, successful AS denominator
FROM kpi_period_term
-- Term rows carry every KPI of their agency, 0 where it has none: only denominators > 0 count.
WHERE successful > 0 AND agency_code IS NOT NULL  -- payments without an agency count for `*` only
