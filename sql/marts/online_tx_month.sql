-- FEE_PROC_WITH_ONLINE_TX_RATE counts distinct procedures over a whole period, which month counts
-- do not add up to: the set of (month, agency, procedure) with an online payment successful in
-- the month (the payment's own MaDonVi and MaTTHC), over the requested periods; the KPI file
-- takes the union of a period's months. Payments are the smaller fact, and only online
-- successful ones are kept, so this is read afresh on every rebuild rather than stored.
-- Bounds as in month_terms.sql: from the first day of the earliest requested period to the day
-- after the end of the latest.
SET VARIABLE kpi_period_first = (SELECT min(period_start) FROM kpi_requested_period);
SET VARIABLE kpi_period_end = (
    SELECT max(period_start + CASE period_type
        WHEN 'month' THEN INTERVAL 1 MONTH
        WHEN 'quarter' THEN INTERVAL 3 MONTH
        ELSE INTERVAL 1 YEAR
    END)::DATE
    FROM kpi_requested_period
);

CREATE OR REPLACE TEMP TABLE kpi_online_tx_month AS
SELECT DISTINCT
    date_trunc('month', transacted_at)::DATE AS month_start,
    agency_code,
    procedure_code
FROM core.fact_payment
WHERE status = 'thanh-cong'
  AND payment_method_code = 'truc-tuyen'
  AND procedure_code IS NOT NULL
  AND transacted_at >= getvariable('kpi_period_first')
  AND transacted_at < getvariable('kpi_period_end');
