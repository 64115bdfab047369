-- reads: kpi_period_term
-- writes: nothing: its rows (period, agency, kpi_code, numerator, denominator) go to kpi_result
-- ON_TIME_RATE (kpis.md): share of finished dossiers finished by their due date.
-- denominator: dossiers finished in P with a NgayHenTra;
-- numerator: of those, NgayKetThucXuLy <= NgayHenTra, compared as timestamps to the second.
-- An agency whose finished dossiers all lack a NgayHenTra has no row (denominator 0).
SELECT period_type, period_start, agency_code, 'ON_TIME_RATE' AS kpi_code,
       on_time AS numerator, with_due AS denominator
FROM kpi_period_term
-- Term rows carry every KPI of their agency, 0 where it has none: only denominators > 0 count.
WHERE with_due > 0
