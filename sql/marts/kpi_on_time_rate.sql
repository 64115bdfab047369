-- ON_TIME_RATE (kpis.md): share of finished dossiers finished by their due date.
-- denominator: dossiers finished in P with a NgayHenTra;
-- numerator: of those, NgayKetThucXuLy <= NgayHenTra, compared as timestamps to the second.
-- An agency whose finished dossiers all lack a NgayHenTra has no row (denominator 0).
SELECT
    p.period_type,
    p.period_start,
    CASE WHEN grouping(m.agency_code) = 1 THEN '*' ELSE m.agency_code END AS agency_code,
    'ON_TIME_RATE' AS kpi_code,
    sum(m.on_time) AS numerator,
    sum(m.with_due) AS denominator
FROM mart.kpi_month_term AS m
JOIN kpi_period_month AS p USING (month_start)
GROUP BY GROUPING SETS ((p.period_type, p.period_start, m.agency_code), (p.period_type, p.period_start))
-- Term rows carry every KPI of their agency, 0 where it has none: only denominators > 0 count.
HAVING sum(m.with_due) > 0
