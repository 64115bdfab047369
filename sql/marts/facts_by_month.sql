-- The shared definitions of kpis.md, aggregated once per rebuild to (month, agency): one pass
-- over the facts per event kind, with a FILTER count (or sum) per KPI term. The KPI files add
-- the months of each period up and add the `*` row (kpi_period_month, periods_build.sql).
-- Only counts, integer sums and, where a KPI needs a distinct set, the set itself are kept, so
-- the quarters, years and `*` rows are exact. Timestamps in core are local wall time, so the
-- month of a timestamp is its local month.
-- The bounds (scan_bounds.sql) are constants once bound, so DuckDB skips the row groups outside
-- the requested periods.

-- Received in P: local NgayTiepNhan date in P, TrangThaiHoSo not 1 (registered) or 3 (rejected).
-- Agency: the dossier's own MaDonVi (never null).
CREATE OR REPLACE TEMP TABLE kpi_received_month AS
SELECT
    date_trunc('month', received_at)::DATE AS month_start,
    agency_code,
    count(*) AS received,
    count(*) FILTER (WHERE channel_code = 2 AND remote_submission) AS online_remote,
    count(*) FILTER (WHERE channel_code = 2) AS online,
    count(*) FILTER (WHERE channel_code = 3) AS postal,
    count(*) FILTER (WHERE has_digitized) AS digitized
FROM core.fact_dossier
WHERE status NOT IN (1, 3)
  AND received_at >= getvariable('kpi_first')
  AND received_at < getvariable('kpi_end')
GROUP BY ALL;

-- DOSSIER_ONLINE_PAYMENT_RATE's terms, per month the dossier was received: dossiers whose
-- procedure version (of its MaTTHC, valid on its local NgayTiepNhan date, not inferred) has
-- CoPhiLePhi, and of those the ones with >= 1 successful online payment (payment.MaHoSo = the
-- dossier) on any date, at any agency. A dossier without such a version is left out here only
-- (reported in mart.dq_dossier_without_procedure_version).
CREATE OR REPLACE TEMP TABLE kpi_fee_dossier_month AS
WITH fee_dossier AS MATERIALIZED (
    SELECT date_trunc('month', f.received_at)::DATE AS month_start, f.agency_code, f.dossier_id
    FROM core.fact_dossier AS f
    JOIN core.dim_procedure AS v
        ON v.procedure_code = f.procedure_code
       AND v.valid_from <= f.received_at::DATE
       AND (v.valid_to IS NULL OR v.valid_to >= f.received_at::DATE)
    WHERE f.status NOT IN (1, 3)
      AND f.received_at >= getvariable('kpi_first')
      AND f.received_at < getvariable('kpi_end')
      AND v.has_fee AND NOT v.is_inferred
),
-- Only the payments of those dossiers matter: the semi-join keeps the distinct small when few
-- periods are built.
paid_online AS (
    SELECT DISTINCT p.dossier_id
    FROM core.fact_payment AS p
    SEMI JOIN fee_dossier AS d ON d.dossier_id = p.dossier_id
    WHERE p.status = 'thanh-cong' AND p.payment_method_code = 'truc-tuyen'
)
SELECT
    d.month_start,
    d.agency_code,
    count(*) AS fee_received,
    count(*) FILTER (WHERE p.dossier_id IS NOT NULL) AS fee_paid_online
FROM fee_dossier AS d
LEFT JOIN paid_online AS p ON p.dossier_id = d.dossier_id
GROUP BY ALL;

-- Finished in P: TrangThaiHoSo 9 or 10 and local NgayKetThucXuLy date in P. Processing times are
-- kept as integer seconds (a dossier without NgayTiepNhan has none and is left out of the
-- AVG_DAYS terms only), so the sums do not depend on row order and are divided once per period.
CREATE OR REPLACE TEMP TABLE kpi_finished_month AS
SELECT
    date_trunc('month', finished_at)::DATE AS month_start,
    agency_code,
    count(*) FILTER (WHERE due_at IS NOT NULL) AS with_due,
    count(*) FILTER (WHERE due_at IS NOT NULL AND finished_at <= due_at) AS on_time,
    count(*) FILTER (WHERE channel_code = 2 AND received_at IS NOT NULL) AS online_finished,
    sum(date_diff('second', received_at, finished_at))
        FILTER (WHERE channel_code = 2 AND received_at IS NOT NULL) AS online_seconds,
    count(*) FILTER (WHERE channel_code IN (1, 3) AND received_at IS NOT NULL) AS offline_finished,
    sum(date_diff('second', received_at, finished_at))
        FILTER (WHERE channel_code IN (1, 3) AND received_at IS NOT NULL) AS offline_seconds
FROM core.fact_dossier
WHERE status IN (9, 10)
  AND finished_at >= getvariable('kpi_first')
  AND finished_at < getvariable('kpi_end')
GROUP BY ALL;

-- Returned in P: TrangThaiHoSo 10 with local NgayTra date in P.
CREATE OR REPLACE TEMP TABLE kpi_returned_month AS
SELECT
    date_trunc('month', returned_at)::DATE AS month_start,
    agency_code,
    count(*) AS returned,
    count(*) FILTER (WHERE return_method = 1) AS postal_returned
FROM core.fact_dossier
WHERE status = 10
  AND returned_at >= getvariable('kpi_first')
  AND returned_at < getvariable('kpi_end')
GROUP BY ALL;

-- Successful in P: TrangThai thanh-cong and local ThoiGianGD date in P; online when
-- HinhThucThanhToan is truc-tuyen. Agency is the payment's own MaDonVi, which may be null: such
-- a payment counts for `*` only.
CREATE OR REPLACE TEMP TABLE kpi_payment_month AS
SELECT
    date_trunc('month', transacted_at)::DATE AS month_start,
    agency_code,
    count(*) AS successful,
    count(*) FILTER (WHERE payment_method_code = 'truc-tuyen') AS online
FROM core.fact_payment
WHERE status = 'thanh-cong'
  AND transacted_at >= getvariable('kpi_first')
  AND transacted_at < getvariable('kpi_end')
GROUP BY ALL;

-- FEE_PROC_WITH_ONLINE_TX_RATE counts distinct procedures over a whole period, which months do
-- not add up to: keep the set of (month, agency, procedure) with an online payment successful in
-- the month (the payment's own MaDonVi and MaTTHC); the KPI file takes the union over a period.
CREATE OR REPLACE TEMP TABLE kpi_online_tx_month AS
SELECT DISTINCT
    date_trunc('month', transacted_at)::DATE AS month_start,
    agency_code,
    procedure_code
FROM core.fact_payment
WHERE status = 'thanh-cong'
  AND payment_method_code = 'truc-tuyen'
  AND procedure_code IS NOT NULL
  AND transacted_at >= getvariable('kpi_first')
  AND transacted_at < getvariable('kpi_end');
