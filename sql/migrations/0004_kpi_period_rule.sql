-- reads: nothing
-- writes: macros core.kpi_month, core.kpi_dossier_events, core.kpi_periods_of
-- Which KPI periods a record counts in (kpis.md "Periods"), written once for the two places that
-- need it: the load marks them dirty (sql/load/060_dirty_periods.sql) and the rebuild counts the
-- records in them (sql/marts/month_terms.sql). Kept in the warehouse, so neither creates them per
-- run; a change to the rule is a later migration that replaces them. Timestamps are local time.
--   A dossier counts in the month of its NgayTiepNhan (received_at), of its NgayKetThucXuLy
--   (finished_at) and of its NgayTra (returned_at): kpi_dossier_events lists them.
--   A payment counts in the month of its ThoiGianGD (transacted_at), and in the month its dossier
--   was received (DOSSIER_ONLINE_PAYMENT_RATE counts a payment on any date).
--   A month counts in its quarter and its year: kpi_periods_of lists the three.
CREATE OR REPLACE MACRO core.kpi_month(ts) AS CAST(date_trunc('month', ts) AS DATE);

CREATE OR REPLACE MACRO core.kpi_dossier_events(received_at, finished_at, returned_at) AS
    [received_at, finished_at, returned_at];

CREATE OR REPLACE MACRO core.kpi_periods_of(ts) AS [
    {'period_type': 'month',   'period_start': CAST(date_trunc('month', ts) AS DATE)},
    {'period_type': 'quarter', 'period_start': CAST(date_trunc('quarter', ts) AS DATE)},
    {'period_type': 'year',    'period_start': CAST(date_trunc('year', ts) AS DATE)}
];
