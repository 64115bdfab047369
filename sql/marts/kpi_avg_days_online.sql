-- AVG_DAYS_ONLINE (kpis.md): average processing time in calendar days of online dossiers.
-- numerator: sum of (NgayKetThucXuLy - NgayTiepNhan) in days (seconds / 86400);
-- denominator: dossiers finished in P with KenhThucHien = 2.
-- A finished dossier without NgayTiepNhan has no duration: it is left out here only (and
-- reported as a data-quality finding, mart.dq_finished_without_received).
-- Seconds are summed as integers and divided once, so the sum does not depend on row order.
SELECT
    period_type,
    period_start,
    CASE WHEN grouping(agency_code) = 1 THEN '*' ELSE agency_code END AS agency_code,
    'AVG_DAYS_ONLINE' AS kpi_code,
    sum(date_diff('second', received_at, finished_at)) / 86400.0 AS numerator,
    count(*) AS denominator
FROM kpi_finished
WHERE channel_code = 2 AND received_at IS NOT NULL
GROUP BY GROUPING SETS ((period_type, period_start, agency_code), (period_type, period_start))
