-- ONLINE_RATE (kpis.md): share of dossiers received online.
-- numerator: received in P with KenhThucHien = 2; denominator: dossiers received in P.
-- Rows: every agency (the dossier's own MaDonVi) and `*` for all agencies together.
SELECT
    p.period_type,
    p.period_start,
    CASE WHEN grouping(m.agency_code) = 1 THEN '*' ELSE m.agency_code END AS agency_code,
    'ONLINE_RATE' AS kpi_code,
    sum(m.online) AS numerator,
    sum(m.received) AS denominator
FROM mart.kpi_month_term AS m
JOIN kpi_period_month AS p USING (month_start)
GROUP BY GROUPING SETS ((p.period_type, p.period_start, m.agency_code), (p.period_type, p.period_start))
-- Term rows carry every KPI of their agency, 0 where it has none: only denominators > 0 count.
HAVING sum(m.received) > 0
