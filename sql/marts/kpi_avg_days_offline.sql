-- reads: kpi_period_term
-- writes: nothing: its rows (period, agency, kpi_code, numerator, denominator) go to kpi_result
-- AVG_DAYS_OFFLINE (kpis.md): average processing time in calendar days of in-person and postal dossiers.
-- numerator: sum of (NgayKetThucXuLy - NgayTiepNhan) in days (seconds / 86400);
-- denominator: dossiers finished in P with KenhThucHien 1 or 3.
-- A finished dossier without NgayTiepNhan has no duration: it is left out here only (and
-- reported as a data-quality finding, mart.dq_finished_without_received).
-- The integer seconds of the months are summed and divided once, so the quarter and year sums
-- are exact and do not depend on row order.
SELECT period_type, period_start, agency_code, 'AVG_DAYS_OFFLINE' AS kpi_code,
       offline_seconds / 86400.0 AS numerator, offline_finished AS denominator
FROM kpi_period_term
-- Term rows carry every KPI of their agency, 0 where it has none: only denominators > 0 count.
WHERE offline_finished > 0
