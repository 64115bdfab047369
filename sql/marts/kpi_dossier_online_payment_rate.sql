-- reads: kpi_period_term
-- writes: nothing: its rows (period, agency, kpi_code, numerator, denominator) go to kpi_result
-- DOSSIER_ONLINE_PAYMENT_RATE (kpis.md): share of fee-bearing dossiers paid online.
-- denominator: dossiers received in P whose procedure version has CoPhiLePhi; numerator: of
-- those, the dossiers with >= 1 successful online payment on any date, at any agency (both
-- counted per month of reception in month_terms.sql).
SELECT period_type, period_start, agency_code, 'DOSSIER_ONLINE_PAYMENT_RATE' AS kpi_code,
       fee_paid_online AS numerator, fee_received AS denominator
FROM kpi_period_term
-- Term rows carry every KPI of their agency, 0 where it has none: only denominators > 0 count.
WHERE fee_received > 0
