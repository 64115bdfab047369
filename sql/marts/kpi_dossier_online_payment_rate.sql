-- DOSSIER_ONLINE_PAYMENT_RATE (kpis.md): share of fee-bearing dossiers paid online.
-- denominator: dossiers received in P whose procedure version has CoPhiLePhi; numerator: of
-- those, the dossiers with >= 1 successful online payment on any date, at any agency (both
-- counted per month of reception in month_terms.sql).
SELECT
    p.period_type,
    p.period_start,
    CASE WHEN grouping(m.agency_code) = 1 THEN '*' ELSE m.agency_code END AS agency_code,
    'DOSSIER_ONLINE_PAYMENT_RATE' AS kpi_code,
    sum(m.fee_paid_online) AS numerator,
    sum(m.fee_received) AS denominator
FROM mart.kpi_month_term AS m
JOIN kpi_period_month AS p USING (month_start)
GROUP BY GROUPING SETS ((p.period_type, p.period_start, m.agency_code), (p.period_type, p.period_start))
-- Term rows carry every KPI of their agency, 0 where it has none: only denominators > 0 count.
HAVING sum(m.fee_received) > 0
