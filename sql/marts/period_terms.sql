-- reads: intermediate.kpi_month_term, kpi_period_month
-- writes: kpi_period_term
-- The month terms (intermediate.kpi_month_term) added up to each period to build, per agency and
-- for `*` (all agencies, payments without an agency included): the one roll-up the KPI files share.
-- agency_code is null only on the row of payments without an agency; their dossier terms are 0.
CREATE OR REPLACE TEMP TABLE kpi_period_term AS
SELECT
    p.period_type,
    p.period_start,
    CASE WHEN grouping(m.agency_code) = 1 THEN '*' ELSE m.agency_code END AS agency_code,
    sum(m.received) AS received,
    sum(m.online_remote) AS online_remote,
    sum(m.online) AS online,
    sum(m.postal) AS postal,
    sum(m.digitized) AS digitized,
    sum(m.fee_received) AS fee_received,
    sum(m.fee_paid_online) AS fee_paid_online,
    sum(m.with_due) AS with_due,
    sum(m.on_time) AS on_time,
    sum(m.online_finished) AS online_finished,
    sum(m.online_seconds) AS online_seconds,
    sum(m.offline_finished) AS offline_finished,
    sum(m.offline_seconds) AS offline_seconds,
    sum(m.returned) AS returned,
    sum(m.postal_returned) AS postal_returned,
    sum(m.successful) AS successful,
    sum(m.online_payments) AS online_payments,
    sum(m.internal_received) AS internal_received,
    sum(m.internal_online) AS internal_online,
    sum(m.pilot_received) AS pilot_received,
    sum(m.pilot_online) AS pilot_online,
    sum(m.digitized_returned) AS digitized_returned
FROM intermediate.kpi_month_term AS m
JOIN kpi_period_month AS p USING (month_start)
GROUP BY GROUPING SETS ((p.period_type, p.period_start, m.agency_code), (p.period_type, p.period_start));
