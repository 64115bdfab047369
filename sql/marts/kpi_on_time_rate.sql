-- ON_TIME_RATE (kpis.md): share of finished dossiers finished by their due date.
-- denominator: dossiers finished in P with a NgayHenTra;
-- numerator: of those, NgayKetThucXuLy <= NgayHenTra, compared as timestamps to the second.
SELECT
    period_type,
    period_start,
    CASE WHEN grouping(agency_code) = 1 THEN '*' ELSE agency_code END AS agency_code,
    'ON_TIME_RATE' AS kpi_code,
    count(*) FILTER (WHERE finished_at <= due_at) AS numerator,
    count(*) AS denominator
FROM kpi_finished
WHERE due_at IS NOT NULL
GROUP BY GROUPING SETS ((period_type, period_start, agency_code), (period_type, period_start))
