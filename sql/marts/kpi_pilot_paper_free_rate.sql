-- reads: kpi_period_term
-- writes: nothing: its rows (period, agency, kpi_code, numerator, denominator) go to kpi_result
-- PILOT_PAPER_FREE_RATE (kpis.md): no paper dossiers on the registered pilot days (the city
-- decision, Art. 2.3; registrations from operations.md TTHC_PILOT_FILE).
-- denominator: dossiers received in P on a pilot day; numerator: of those, KenhThucHien = 2.
-- No registration, no rows.
SELECT period_type, period_start, agency_code, 'PILOT_PAPER_FREE_RATE' AS kpi_code,
       pilot_online AS numerator, pilot_received AS denominator
FROM kpi_period_term
-- Term rows carry every KPI of their agency, 0 where it has none: only denominators > 0 count.
WHERE pilot_received > 0
