-- POSTAL_RETURN_RATE (kpis.md): share of returned results delivered by the public postal service.
-- denominator: dossiers with TrangThaiHoSo 10 whose local NgayTra date is in P;
-- numerator: of those, HinhThucTra = 1.
SELECT
    p.period_type,
    p.period_start,
    CASE WHEN grouping(m.agency_code) = 1 THEN '*' ELSE m.agency_code END AS agency_code,
    'POSTAL_RETURN_RATE' AS kpi_code,
    sum(m.postal_returned) AS numerator,
    sum(m.returned) AS denominator
FROM mart.kpi_month_term AS m
JOIN kpi_period_month AS p USING (month_start)
GROUP BY GROUPING SETS ((p.period_type, p.period_start, m.agency_code), (p.period_type, p.period_start))
-- Term rows carry every KPI of their agency, 0 where it has none: only denominators > 0 count.
HAVING sum(m.returned) > 0
