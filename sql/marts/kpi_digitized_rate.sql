-- DIGITIZED_RATE (kpis.md): share of dossiers with digitized components.
-- numerator: received in P with HoSoCoThanhPhanSoHoa = 1; denominator: dossiers received in P.
-- Rows: every agency (the dossier's own MaDonVi) and `*` for all agencies together.
SELECT
    period_type,
    period_start,
    CASE WHEN grouping(agency_code) = 1 THEN '*' ELSE agency_code END AS agency_code,
    'DIGITIZED_RATE' AS kpi_code,
    count(*) FILTER (WHERE has_digitized) AS numerator,
    count(*) AS denominator
FROM kpi_received
GROUP BY GROUPING SETS ((period_type, period_start, agency_code), (period_type, period_start))
