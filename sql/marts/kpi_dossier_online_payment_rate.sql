-- DOSSIER_ONLINE_PAYMENT_RATE (kpis.md): share of fee-bearing dossiers paid online.
-- denominator: dossiers received in P whose procedure version — the version of its MaTTHC valid
-- on its local NgayTiepNhan date — has CoPhiLePhi; numerator: of those, the dossiers with >= 1
-- successful online payment (payment.MaHoSo = the dossier), on any date, at any agency.
-- A dossier whose MaTTHC has no (non-inferred) version valid on that date is left out here only
-- (reported in mart.dq_dossier_without_procedure_version).
WITH fee_dossier AS (
    SELECT r.period_type, r.period_start, r.agency_code, r.dossier_id
    FROM kpi_received AS r
    JOIN core.dim_procedure AS v
        ON v.procedure_code = r.procedure_code
       AND v.valid_from <= r.received_at::DATE
       AND (v.valid_to IS NULL OR v.valid_to >= r.received_at::DATE)
    WHERE v.has_fee AND NOT v.is_inferred
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
    d.period_type,
    d.period_start,
    CASE WHEN grouping(d.agency_code) = 1 THEN '*' ELSE d.agency_code END AS agency_code,
    'DOSSIER_ONLINE_PAYMENT_RATE' AS kpi_code,
    count(*) FILTER (WHERE p.dossier_id IS NOT NULL) AS numerator,
    count(*) AS denominator
FROM fee_dossier AS d
LEFT JOIN paid_online AS p ON p.dossier_id = d.dossier_id
GROUP BY GROUPING SETS ((d.period_type, d.period_start, d.agency_code), (d.period_type, d.period_start))
