-- ONLINE_PAYMENT_TX_RATE (kpis.md): share of successful payments made online.
-- numerator: online (truc-tuyen) payments successful in P; denominator: payments successful in P.
-- Rows: the payment's own MaDonVi, and `*`. A payment without MaDonVi is valid (source-api.md)
-- but names no agency: it counts for `*` only.
SELECT
    p.period_type,
    p.period_start,
    CASE WHEN grouping(m.agency_code) = 1 THEN '*' ELSE m.agency_code END AS agency_code,
    'ONLINE_PAYMENT_TX_RATE' AS kpi_code,
    sum(m.online_payments) AS numerator,
    sum(m.successful) AS denominator
FROM mart.kpi_month_term AS m
JOIN kpi_period_month AS p USING (month_start)
GROUP BY GROUPING SETS ((p.period_type, p.period_start, m.agency_code), (p.period_type, p.period_start))
-- Term rows carry every KPI of their agency, 0 where it has none: only denominators > 0 count.
HAVING sum(m.successful) > 0 AND (grouping(m.agency_code) = 1 OR m.agency_code IS NOT NULL)
