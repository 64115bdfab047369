-- reads: kpi_period_term
-- writes: nothing: its rows (period, agency, kpi_code, numerator, denominator) go to kpi_result
-- POSTAL_RETURN_RATE (kpis.md): share of returned results delivered by the public postal service.
-- denominator: dossiers with TrangThaiHoSo 10 whose local NgayTra date is in P;
-- numerator: of those, HinhThucTra = 1.
SELECT period_type, period_start, agency_code, 'POSTAL_RETURN_RATE' AS kpi_code,
       postal_returned AS numerator, returned AS denominator
FROM kpi_period_term
-- Term rows carry every KPI of their agency, 0 where it has none: only denominators > 0 count.
WHERE returned > 0
