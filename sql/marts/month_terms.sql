-- The KPI terms per (month, agency): for each KPI of kpis.md on the facts, the count (or integer
-- sum) behind its numerator and its denominator, from one pass over the facts per event kind.
-- Counts and sums are additive and every record is dated in exactly one month per event kind, so
-- a quarter, a year or the `*` row is the sum of month rows (the KPI files add them up).
-- Kept in the warehouse so that rebuilding a quarter or a year reads only the months whose facts
-- changed: after any run each stored month equals its facts, exactly as mart.kpi_value does
-- (a load marks dirty every month in which a record it touched counts, old or new state).
-- agency_code is the dossier's or the payment's own MaDonVi; null only for payments without
-- one, which count for `*` alone. A month has rows exactly when an event of kpis.md "Periods"
-- falls in it. A derived cache, created here when missing: a change to its shape (or to
-- kpi_month_paid_dossier's) is a migration that drops both and marks every period dirty, as
-- sql/migrations/0003_kpi_terms_rebuilt.sql does.
CREATE TABLE IF NOT EXISTS intermediate.kpi_month_term (
    month_start       DATE NOT NULL,
    agency_code       VARCHAR,
    received          BIGINT NOT NULL,   -- received in the month (status not 1, 3)
    online_remote     BIGINT NOT NULL,   -- of those, KenhThucHien 2 and NopTuXa 1
    online            BIGINT NOT NULL,   -- of those, KenhThucHien 2
    postal            BIGINT NOT NULL,   -- of those, KenhThucHien 3
    digitized         BIGINT NOT NULL,   -- of those, HoSoCoThanhPhanSoHoa 1
    fee_received      BIGINT NOT NULL,   -- received, procedure version with CoPhiLePhi
    fee_paid_online   BIGINT NOT NULL,   -- of those, >= 1 successful online payment (any date)
    with_due          BIGINT NOT NULL,   -- finished in the month with a NgayHenTra
    on_time           BIGINT NOT NULL,   -- of those, NgayKetThucXuLy <= NgayHenTra
    online_finished   BIGINT NOT NULL,   -- finished, KenhThucHien 2, with NgayTiepNhan
    online_seconds    HUGEINT NOT NULL,  -- their summed processing time in seconds
    offline_finished  BIGINT NOT NULL,   -- finished, KenhThucHien 1 or 3, with NgayTiepNhan
    offline_seconds   HUGEINT NOT NULL,  -- their summed processing time in seconds
    returned          BIGINT NOT NULL,   -- status 10 with NgayTra in the month
    postal_returned   BIGINT NOT NULL,   -- of those, HinhThucTra 1
    successful        BIGINT NOT NULL,   -- payments successful in the month
    online_payments   BIGINT NOT NULL,   -- of those, truc-tuyen
    internal_received BIGINT NOT NULL,   -- received, version with NoiBo, offered online
    internal_online   BIGINT NOT NULL,   -- of those, KenhThucHien 2
    pilot_received    BIGINT NOT NULL,   -- received on a pilot day of a current registration
    pilot_online      BIGINT NOT NULL,   -- of those, KenhThucHien 2
    digitized_returned BIGINT NOT NULL   -- returned (as `returned`) with KetQuaSoHoa 1
);

-- The dossiers (MaHoSo) with a successful online payment, per month of the payment's local
-- ThoiGianGD. DOSSIER_ONLINE_PAYMENT_RATE counts a fee-bearing dossier as paid online when such a
-- payment exists on ANY date, so each month recomputed would probe every payment of all time;
-- these rows are the ones that can match, one per (month, paid dossier). Kept like the terms:
-- a load marks dirty the month of every payment it touched, in its old and new state, so after
-- the months below are recomputed each month's rows equal its payments. Complete only when every
-- month with payments was computed since the table was made: a full rebuild drops it, and the
-- migration that dropped it marked every period dirty. Every refresh probes all of its rows, so
-- the ids are stored uncompressed: FSST-decoding ~1.2M ids took ~30 ms of a month's refresh.
CREATE TABLE IF NOT EXISTS intermediate.kpi_month_paid_dossier (
    month_start  DATE NOT NULL,
    dossier_id   VARCHAR NOT NULL USING COMPRESSION uncompressed
);

-- The months recomputed from the facts: the requested months, and the months of a requested
-- quarter or year that hold no terms (never computed, e.g. a warehouse built before this table,
-- or without events, such as the rest of the current year). The facts are read over one range
-- covering them all: at worst the whole span of the requested periods, as before. A full rebuild
-- drops the table first, so it recomputes every month.
CREATE OR REPLACE TEMP TABLE kpi_fact_month AS
WITH needed AS (
    SELECT r.period_type, unnest(generate_series(
        r.period_start,
        r.period_start + CASE r.period_type
            WHEN 'month' THEN INTERVAL 0 MONTH
            WHEN 'quarter' THEN INTERVAL 2 MONTH
            ELSE INTERVAL 11 MONTH
        END,
        INTERVAL 1 MONTH
    ))::DATE AS month_start
    FROM kpi_requested_period AS r
)
SELECT DISTINCT n.month_start
FROM needed AS n
WHERE n.period_type = 'month'
   OR NOT EXISTS (
       SELECT 1 FROM intermediate.kpi_month_term AS t WHERE t.month_start = n.month_start
   );

-- Bounds of the facts read: variables rather than subqueries, because DuckDB prunes row groups
-- (zonemaps on the event timestamps) only on a filter whose value is known when the query is
-- bound. No month to recompute: NULL bounds, and the facts are not read at all.
SET VARIABLE kpi_fact_first = (SELECT min(month_start) FROM kpi_fact_month);
SET VARIABLE kpi_fact_end = (SELECT max(month_start) + INTERVAL 1 MONTH FROM kpi_fact_month)::DATE;

DELETE FROM intermediate.kpi_month_term
WHERE month_start IN (SELECT month_start FROM kpi_fact_month);
DELETE FROM intermediate.kpi_month_paid_dossier
WHERE month_start IN (SELECT month_start FROM kpi_fact_month);

INSERT INTO intermediate.kpi_month_paid_dossier
SELECT DISTINCT date_trunc('month', transacted_at)::DATE AS month_start, dossier_id
FROM core.fact_payment
WHERE status = 'thanh-cong' AND payment_method_code = 'truc-tuyen' AND dossier_id IS NOT NULL
  AND transacted_at >= getvariable('kpi_fact_first')
  AND transacted_at < getvariable('kpi_fact_end')
  AND date_trunc('month', transacted_at)::DATE IN (SELECT month_start FROM kpi_fact_month);

INSERT INTO intermediate.kpi_month_term BY NAME
WITH
-- Received in P: local NgayTiepNhan date in P, TrangThaiHoSo not 1 (registered) or 3 (rejected).
received AS (
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
      AND received_at >= getvariable('kpi_fact_first')
      AND received_at < getvariable('kpi_fact_end')
    GROUP BY ALL
),
-- PILOT_PAPER_FREE_RATE: received dossiers on a pilot day (operations.md): a current
-- registration of the dossier's agency and procedure covers its local NgayTiepNhan date, within
-- [start, end] and on one of its weekdays (none listed: every day). Registrations of one pair
-- combine: the semi-join counts a dossier once.
pilot AS (
    SELECT
        date_trunc('month', f.received_at)::DATE AS month_start,
        f.agency_code,
        count(*) AS pilot_received,
        count(*) FILTER (WHERE f.channel_code = 2) AS pilot_online
    FROM core.fact_dossier AS f
    SEMI JOIN core.dim_pilot_registration AS r
        ON r.agency_code = f.agency_code
       AND r.procedure_code = f.procedure_code
       AND r.registered_to IS NULL
       AND f.received_at::DATE >= r.start_date
       AND (r.end_date IS NULL OR f.received_at::DATE <= r.end_date)
       AND (r.weekdays IS NULL OR list_contains(r.weekdays, isodow(f.received_at)::SMALLINT))
    WHERE f.status NOT IN (1, 3)
      AND f.received_at >= getvariable('kpi_fact_first')
      AND f.received_at < getvariable('kpi_fact_end')
    GROUP BY ALL
),
-- The received dossiers whose procedure version (of their MaTTHC, valid on the local NgayTiepNhan
-- date, not inferred) counts for a KPI: one with CoPhiLePhi (DOSSIER_ONLINE_PAYMENT_RATE), or with
-- NoiBo and MucDoDVC TOAN_TRINH or MOT_PHAN (INTERNAL_ONLINE_RATE). A dossier without a version
-- is left out of these two only (reported in mart.dq_dossier_without_procedure_version).
versioned AS MATERIALIZED (
    SELECT date_trunc('month', f.received_at)::DATE AS month_start, f.agency_code, f.dossier_id,
           f.channel_code, v.has_fee,
           v.is_internal AND v.service_level IN ('TOAN_TRINH', 'MOT_PHAN') AS internal_online_service
    FROM core.fact_dossier AS f
    JOIN core.dim_procedure AS v
        ON v.procedure_code = f.procedure_code
       AND v.valid_from <= f.received_at::DATE
       AND (v.valid_to IS NULL OR v.valid_to >= f.received_at::DATE)
    WHERE f.status NOT IN (1, 3)
      AND f.received_at >= getvariable('kpi_fact_first')
      AND f.received_at < getvariable('kpi_fact_end')
      AND NOT v.is_inferred AND (v.has_fee OR internal_online_service)
),
internal AS (
    SELECT month_start, agency_code, count(*) AS internal_received,
           count(*) FILTER (WHERE channel_code = 2) AS internal_online
    FROM versioned
    WHERE internal_online_service
    GROUP BY ALL
),
-- DOSSIER_ONLINE_PAYMENT_RATE, per month the dossier was received: the fee-bearing ones, and of
-- those the ones with >= 1 successful online payment (payment.MaHoSo = the dossier) on any date,
-- at any agency.
fee_dossier AS (
    SELECT month_start, agency_code, dossier_id FROM versioned WHERE has_fee
),
-- Only the paid dossiers among those matter: the semi-join keeps the distinct small when few
-- months are recomputed.
paid_online AS (
    SELECT DISTINCT p.dossier_id
    FROM intermediate.kpi_month_paid_dossier AS p
    SEMI JOIN fee_dossier AS d ON d.dossier_id = p.dossier_id
),
fee AS (
    SELECT
        d.month_start,
        d.agency_code,
        count(*) AS fee_received,
        count(*) FILTER (WHERE p.dossier_id IS NOT NULL) AS fee_paid_online
    FROM fee_dossier AS d
    LEFT JOIN paid_online AS p ON p.dossier_id = d.dossier_id
    GROUP BY ALL
),
-- Finished in P: TrangThaiHoSo 9 or 10 and local NgayKetThucXuLy date in P. Processing times
-- are integer seconds (a dossier without NgayTiepNhan has none and is left out of the AVG_DAYS
-- terms only), so the sums do not depend on row order.
finished AS (
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
      AND finished_at >= getvariable('kpi_fact_first')
      AND finished_at < getvariable('kpi_fact_end')
    GROUP BY ALL
),
-- Returned in P: TrangThaiHoSo 10 with local NgayTra date in P.
returned AS (
    SELECT
        date_trunc('month', returned_at)::DATE AS month_start,
        agency_code,
        count(*) AS returned,
        count(*) FILTER (WHERE return_method = 1) AS postal_returned,
        count(*) FILTER (WHERE result_digitized) AS digitized_returned
    FROM core.fact_dossier
    WHERE status = 10
      AND returned_at >= getvariable('kpi_fact_first')
      AND returned_at < getvariable('kpi_fact_end')
    GROUP BY ALL
),
-- Successful in P: TrangThai thanh-cong and local ThoiGianGD date in P; online when
-- HinhThucThanhToan is truc-tuyen.
payment AS (
    SELECT
        date_trunc('month', transacted_at)::DATE AS month_start,
        agency_code,
        count(*) AS successful,
        count(*) FILTER (WHERE payment_method_code = 'truc-tuyen') AS online_payments
    FROM core.fact_payment
    WHERE status = 'thanh-cong'
      AND transacted_at >= getvariable('kpi_fact_first')
      AND transacted_at < getvariable('kpi_fact_end')
    GROUP BY ALL
),
-- One row per (month, agency), 0 for the terms without any record; GROUP BY keeps the null
-- agency of payments as one group.
term AS (
    SELECT month_start, agency_code, coalesce(sum(COLUMNS(* EXCLUDE (month_start, agency_code))), 0)
    FROM (
        FROM received UNION ALL BY NAME FROM internal UNION ALL BY NAME FROM pilot
        UNION ALL BY NAME FROM fee UNION ALL BY NAME FROM finished
        UNION ALL BY NAME FROM returned UNION ALL BY NAME FROM payment
    )
    GROUP BY month_start, agency_code
)
-- The bounds may span months kept as they are (between two recomputed ones): those stay out.
SELECT month_start, agency_code, COLUMNS(* EXCLUDE (month_start, agency_code))
FROM term
SEMI JOIN kpi_fact_month USING (month_start);
