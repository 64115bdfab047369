-- ONLINE_REMOTE_RATE (kpis.md): share of dossiers submitted online remotely by the applicant.
-- numerator: received in P with KenhThucHien = 2 and NopTuXa = 1; denominator: dossiers received in P.
-- Rows: every agency (the dossier's own MaDonVi) and `*` for all agencies together.
SELECT
    period_type,
    period_start,
    CASE WHEN grouping(agency_code) = 1 THEN '*' ELSE agency_code END AS agency_code,
    'ONLINE_REMOTE_RATE' AS kpi_code,
    count(*) FILTER (WHERE channel_code = 2 AND remote_submission) AS numerator,
    count(*) AS denominator
FROM kpi_received
GROUP BY GROUPING SETS ((period_type, period_start, agency_code), (period_type, period_start))
