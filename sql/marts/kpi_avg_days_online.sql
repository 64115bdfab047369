-- AVG_DAYS_ONLINE (kpis.md): average processing time in calendar days of online dossiers.
-- numerator: sum of (NgayKetThucXuLy - NgayTiepNhan) in days (seconds / 86400);
-- denominator: dossiers finished in P with KenhThucHien = 2.
-- A finished dossier without NgayTiepNhan has no duration: it is left out here only (and
-- reported as a data-quality finding, mart.dq_finished_without_received).
-- The integer seconds of the months are summed and divided once, so the quarter and year sums
-- are exact and do not depend on row order.
SELECT
    p.period_type,
    p.period_start,
    CASE WHEN grouping(m.agency_code) = 1 THEN '*' ELSE m.agency_code END AS agency_code,
    'AVG_DAYS_ONLINE' AS kpi_code,
    sum(m.online_seconds) / 86400.0 AS numerator,
    sum(m.online_finished) AS denominator
FROM mart.kpi_month_term AS m
JOIN kpi_period_month AS p USING (month_start)
GROUP BY GROUPING SETS ((p.period_type, p.period_start, m.agency_code), (p.period_type, p.period_start))
-- Term rows carry every KPI of their agency, 0 where it has none: only denominators > 0 count.
HAVING sum(m.online_finished) > 0
