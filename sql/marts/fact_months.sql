-- reads: kpi_requested_period, intermediate.kpi_month_term
-- writes: intermediate.kpi_month_term, intermediate.kpi_month_paid_dossier (created when
--         missing), kpi_fact_month
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
-- the ids are stored uncompressed (decision 0033).
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

