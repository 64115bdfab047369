-- POSTAL_RETURN_RATE (kpis.md): share of returned results delivered by the public postal service.
-- denominator: dossiers with TrangThaiHoSo 10 whose local NgayTra date is in P;
-- numerator: of those, HinhThucTra = 1.
SELECT
    period_type,
    period_start,
    CASE WHEN grouping(agency_code) = 1 THEN '*' ELSE agency_code END AS agency_code,
    'POSTAL_RETURN_RATE' AS kpi_code,
    count(*) FILTER (WHERE return_method = 1) AS numerator,
    count(*) AS denominator
FROM kpi_returned
GROUP BY GROUPING SETS ((period_type, period_start, agency_code), (period_type, period_start))
