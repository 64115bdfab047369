-- reads: mart.kpi_value, core.dim_agency
-- writes: views mart.kpi_wide_month
-- One row per agency (and `*`) and month, one column per KPI value: the shape spreadsheets and
-- dashboards want. Read from mart.kpi_value, so it can never disagree with it.
CREATE OR REPLACE VIEW mart.kpi_wide_month AS
SELECT
    v.period_start AS month_start,
    v.agency_code,
    any_value(a.agency_name) AS agency_name,
    max(v.value) FILTER (WHERE v.kpi_code = 'ONLINE_REMOTE_RATE') AS online_remote_rate,
    max(v.value) FILTER (WHERE v.kpi_code = 'ONLINE_RATE') AS online_rate,
    max(v.value) FILTER (WHERE v.kpi_code = 'POSTAL_RECEIPT_RATE') AS postal_receipt_rate,
    max(v.value) FILTER (WHERE v.kpi_code = 'DIGITIZED_RATE') AS digitized_rate,
    max(v.value) FILTER (WHERE v.kpi_code = 'DVCTT_COVERAGE') AS dvctt_coverage,
    max(v.value) FILTER (WHERE v.kpi_code = 'FEE_PROC_ONLINE_PAYABLE_RATE') AS fee_proc_online_payable_rate,
    max(v.value) FILTER (WHERE v.kpi_code = 'FEE_PROC_WITH_ONLINE_TX_RATE') AS fee_proc_with_online_tx_rate,
    max(v.value) FILTER (WHERE v.kpi_code = 'ONLINE_PAYMENT_TX_RATE') AS online_payment_tx_rate,
    max(v.value) FILTER (WHERE v.kpi_code = 'DOSSIER_ONLINE_PAYMENT_RATE') AS dossier_online_payment_rate,
    max(v.value) FILTER (WHERE v.kpi_code = 'ON_TIME_RATE') AS on_time_rate,
    max(v.value) FILTER (WHERE v.kpi_code = 'POSTAL_RETURN_RATE') AS postal_return_rate,
    max(v.value) FILTER (WHERE v.kpi_code = 'AVG_DAYS_ONLINE') AS avg_days_online,
    max(v.value) FILTER (WHERE v.kpi_code = 'AVG_DAYS_OFFLINE') AS avg_days_offline,
    count(*) FILTER (WHERE v.met) AS targets_met,
    count(v.met) AS targets_measured
FROM mart.kpi_value AS v
LEFT JOIN core.dim_agency AS a ON a.agency_code = v.agency_code
WHERE v.period_type = 'month'
GROUP BY v.period_start, v.agency_code;
