-- POSTAL_RECEIPT_RATE (kpis.md): share of dossiers received through the public postal service.
-- numerator: received in P with KenhThucHien = 3; denominator: dossiers received in P.
-- Rows: every agency (the dossier's own MaDonVi) and `*` for all agencies together.
SELECT
    period_type,
    period_start,
    CASE WHEN grouping(agency_code) = 1 THEN '*' ELSE agency_code END AS agency_code,
    'POSTAL_RECEIPT_RATE' AS kpi_code,
    count(*) FILTER (WHERE channel_code = 3) AS numerator,
    count(*) AS denominator
FROM kpi_received
GROUP BY GROUPING SETS ((period_type, period_start, agency_code), (period_type, period_start))
