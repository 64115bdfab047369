-- reads: kpi_period_term
-- writes: nothing: its rows (period, agency, kpi_code, numerator, denominator) go to kpi_result
-- ONLINE_REMOTE_RATE (kpis.md): share of dossiers submitted online remotely by the applicant.
-- numerator: received in P with KenhThucHien = 2 and NopTuXa = 1; denominator: dossiers received in P.
-- Rows: every agency (the dossier's own MaDonVi) and `*` for all agencies together.
SELECT period_type, period_start, agency_code, 'ONLINE_REMOTE_RATE' AS kpi_code,
       online_remote AS numerator, received AS denominator
FROM kpi_period_term
-- Term rows carry every KPI of their agency, 0 where it has none: only denominators > 0 count.
WHERE received > 0
