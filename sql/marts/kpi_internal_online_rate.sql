-- reads: kpi_period_term
-- writes: nothing: its rows (period, agency, kpi_code, numerator, denominator) go to kpi_result
-- INTERNAL_ONLINE_RATE (kpis.md): internal procedures offered online are received online only
-- (the city decision, Art. 2.2).
-- denominator: dossiers received in P whose procedure version has NoiBo and MucDoDVC
-- TOAN_TRINH or MOT_PHAN; numerator: of those, KenhThucHien = 2.
SELECT period_type, period_start, agency_code, 'INTERNAL_ONLINE_RATE' AS kpi_code,
       internal_online AS numerator, internal_received AS denominator
FROM kpi_period_term
-- Term rows carry every KPI of their agency, 0 where it has none: only denominators > 0 count.
WHERE internal_received > 0
