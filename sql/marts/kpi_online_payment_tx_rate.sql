-- ONLINE_PAYMENT_TX_RATE (kpis.md): share of successful payments made online.
-- numerator: online (truc-tuyen) payments successful in P; denominator: payments successful in P.
-- Rows: the payment's own MaDonVi, and `*`. A payment without MaDonVi is valid (source-api.md)
-- but names no agency: it counts for `*` only.
SELECT
    period_type,
    period_start,
    CASE WHEN grouping(agency_code) = 1 THEN '*' ELSE agency_code END AS agency_code,
    'ONLINE_PAYMENT_TX_RATE' AS kpi_code,
    count(*) FILTER (WHERE is_online) AS numerator,
    count(*) AS denominator
FROM kpi_payment_success
GROUP BY GROUPING SETS ((period_type, period_start, agency_code), (period_type, period_start))
HAVING grouping(agency_code) = 1 OR agency_code IS NOT NULL
