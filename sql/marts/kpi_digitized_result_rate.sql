-- reads: kpi_period_term
-- writes: nothing: its rows (period, agency, kpi_code, numerator, denominator) go to kpi_result
-- DIGITIZED_RESULT_RATE (kpis.md): results issued digitized (Circular 01/2023/TT-VPCP).
-- denominator: dossiers with TrangThaiHoSo 10 whose local NgayTra date is in P;
-- numerator: of those, KetQuaSoHoa = 1.
SELECT period_type, period_start, agency_code, 'DIGITIZED_RESULT_RATE' AS kpi_code,
       digitized_returned AS numerator, returned AS denominator
FROM kpi_period_term
-- Term rows carry every KPI of their agency, 0 where it has none: only denominators > 0 count.
WHERE returned > 0
