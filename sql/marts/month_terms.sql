-- reads: kpi_fact_month, core.fact_dossier, core.fact_payment, core.dim_procedure,
--        core.dim_pilot_registration, intermediate.kpi_month_paid_dossier, macro core.kpi_month;
--        parameters fact_first, fact_end
-- writes: intermediate.kpi_month_term, intermediate.kpi_month_paid_dossier
-- The terms of the months in kpi_fact_month (fact_months.sql), recomputed from the facts. Each
-- record counts in the months of its events (core.kpi_month, migration 0004).
-- The facts are read between the parameters fact_first and fact_end (the first month of
-- kpi_fact_month and the day after its last; NULL when it is empty: no fact is read). They are
-- literals, not subqueries, because DuckDB prunes row groups (zonemaps on the event timestamps)
-- only on a filter whose value is known when the query is bound (etl/kpi.py passes them).

DELETE FROM intermediate.kpi_month_term
WHERE month_start IN (SELECT month_start FROM kpi_fact_month);
DELETE FROM intermediate.kpi_month_paid_dossier
WHERE month_start IN (SELECT month_start FROM kpi_fact_month);

INSERT INTO intermediate.kpi_month_paid_dossier
SELECT DISTINCT core.kpi_month(transacted_at) AS month_start, dossier_id
FROM core.fact_payment
WHERE status = 'thanh-cong' AND payment_method_code = 'truc-tuyen' AND dossier_id IS NOT NULL
  AND transacted_at >= $fact_first
  AND transacted_at < $fact_end
  AND core.kpi_month(transacted_at) IN (SELECT month_start FROM kpi_fact_month);

INSERT INTO intermediate.kpi_month_term BY NAME
WITH
-- Received in P: local NgayTiepNhan date in P, TrangThaiHoSo not 1 (registered) or 3 (rejected).
received AS (
    SELECT
        core.kpi_month(received_at) AS month_start,
        agency_code,
        count(*) AS received,
        count(*) FILTER (WHERE channel_code = 2 AND remote_submission) AS online_remote,
        count(*) FILTER (WHERE channel_code = 2) AS online,
        count(*) FILTER (WHERE channel_code = 3) AS postal,
        count(*) FILTER (WHERE has_digitized) AS digitized
    FROM core.fact_dossier
    WHERE status NOT IN (1, 3)
      AND received_at >= $fact_first
      AND received_at < $fact_end
    GROUP BY ALL
),
-- PILOT_PAPER_FREE_RATE: received dossiers on a pilot day (operations.md): a current
-- registration of the dossier's agency and procedure covers its local NgayTiepNhan date, within
-- [start, end] and on one of its weekdays (none listed: every day). Registrations of one pair
-- combine: the semi-join counts a dossier once.
pilot AS (
    SELECT
        core.kpi_month(f.received_at) AS month_start,
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
      AND f.received_at >= $fact_first
      AND f.received_at < $fact_end
    GROUP BY ALL
),
-- The received dossiers whose procedure version (of their MaTTHC, valid on the local NgayTiepNhan
-- date, not inferred) counts for a KPI: one with CoPhiLePhi (DOSSIER_ONLINE_PAYMENT_RATE), or with
-- NoiBo and MucDoDVC TOAN_TRINH or MOT_PHAN (INTERNAL_ONLINE_RATE). A dossier without a version
-- is left out of these two only (reported in mart.dq_dossier_without_procedure_version).
versioned AS MATERIALIZED (
    SELECT core.kpi_month(f.received_at) AS month_start, f.agency_code, f.dossier_id,
           f.channel_code, v.has_fee,
           v.is_internal AND v.service_level IN ('TOAN_TRINH', 'MOT_PHAN') AS internal_online_service
    FROM core.fact_dossier AS f
    JOIN core.dim_procedure AS v
        ON v.procedure_code = f.procedure_code
       AND v.valid_from <= f.received_at::DATE
       AND (v.valid_to IS NULL OR v.valid_to >= f.received_at::DATE)
    WHERE f.status NOT IN (1, 3)
      AND f.received_at >= $fact_first
      AND f.received_at < $fact_end
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
        core.kpi_month(finished_at) AS month_start,
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
      AND finished_at >= $fact_first
      AND finished_at < $fact_end
    GROUP BY ALL
),
-- Returned in P: TrangThaiHoSo 10 with local NgayTra date in P.
returned AS (
    SELECT
        core.kpi_month(returned_at) AS month_start,
        agency_code,
        count(*) AS returned,
        count(*) FILTER (WHERE return_method = 1) AS postal_returned,
        count(*) FILTER (WHERE result_digitized) AS digitized_returned
    FROM core.fact_dossier
    WHERE status = 10
      AND returned_at >= $fact_first
      AND returned_at < $fact_end
    GROUP BY ALL
),
-- Successful in P: TrangThai thanh-cong and local ThoiGianGD date in P; online when
-- HinhThucThanhToan is truc-tuyen.
payment AS (
    SELECT
        core.kpi_month(transacted_at) AS month_start,
        agency_code,
        count(*) AS successful,
        count(*) FILTER (WHERE payment_method_code = 'truc-tuyen') AS online_payments
    FROM core.fact_payment
    WHERE status = 'thanh-cong'
      AND transacted_at >= $fact_first
      AND transacted_at < $fact_end
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
