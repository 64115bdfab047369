-- reads: kpi_period_term
-- writes: nothing: its rows (period, agency, kpi_code, numerator, denominator) go to kpi_result
-- POSTAL_RECEIPT_RATE (kpis.md): share of dossiers received through the public postal service.
-- numerator: received in P with KenhThucHien = 3; denominator: dossiers received in P.
-- Rows: every agency (the dossier's own MaDonVi) and `*` for all agencies together.
SELECT period_type, period_start, agency_code, 'POSTAL_RECEIPT_RATE' AS kpi_code,
       postal AS numerator, received AS denominator
FROM kpi_period_term
-- Term rows carry every KPI of their agency, 0 where it has none: only denominators > 0 count.
WHERE received > 0
