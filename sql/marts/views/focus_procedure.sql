-- reads: core.fact_dossier, core.dim_procedure, core.dim_agency
-- writes: views mart.focus_procedure
-- Where to push online first (city decision Art. 2.4: the procedures offered online that get many
-- dossiers): reads core.fact_dossier, core.dim_procedure and core.dim_agency; gives, per agency and
-- month received, each procedure whose version is offered online (MucDoDVC TOAN_TRINH or MOT_PHAN)
-- and that still received paper dossiers (KenhThucHien 1 or 3), ranked by those paper dossiers
-- (rank_in_agency 1 = the most; ties share a rank).
-- Received as kpis.md says (local NgayTiepNhan in the month, TrangThaiHoSo not 1 or 3); a dossier's
-- version is that of its MaTTHC valid on its NgayTiepNhan date (fact_dossier.procedure_sk, not
-- inferred): dossiers without one are left out, as in INTERNAL_ONLINE_RATE. received is the
-- agency's total received that month (the ONLINE_RATE denominator, agency_online_rate its value),
-- so online_rate_gain_pts = 100 * paper_received / received is what the agency's ONLINE_RATE would
-- gain, in percentage points, had those paper dossiers been filed online. paper_received and
-- online_received count the dossiers of the versions offered online; service_level and
-- procedure_name are those of the latest such version counted that month. The facts are counted
-- per version first, so the joins and the ranking see a few rows per procedure and month.
CREATE OR REPLACE VIEW mart.focus_procedure AS
WITH received AS (
    SELECT
        date_trunc('month', received_at)::DATE AS month_start,
        agency_code,
        procedure_sk,
        count(*) AS received,
        count(*) FILTER (WHERE channel_code = 2) AS online,
        count(*) FILTER (WHERE channel_code IN (1, 3)) AS paper
    FROM core.fact_dossier
    WHERE status NOT IN (1, 3) AND received_at IS NOT NULL
    GROUP BY ALL
),
agency_month AS (
    SELECT month_start, agency_code, CAST(sum(received) AS BIGINT) AS received, CAST(sum(online) AS BIGINT) AS online
    FROM received
    GROUP BY ALL
),
procedure_month AS (
    SELECT
        r.month_start,
        r.agency_code,
        v.procedure_code,
        arg_max(v.procedure_name, v.valid_from) AS procedure_name,
        arg_max(v.service_level, v.valid_from) AS service_level,
        CAST(sum(r.paper) AS BIGINT) AS paper_received,
        CAST(sum(r.online) AS BIGINT) AS online_received
    FROM received AS r
    JOIN core.dim_procedure AS v ON v.procedure_sk = r.procedure_sk
    WHERE NOT v.is_inferred AND v.service_level IN ('TOAN_TRINH', 'MOT_PHAN')
    GROUP BY ALL
)
SELECT
    p.month_start,
    p.agency_code,
    a.agency_name,
    p.procedure_code,
    p.procedure_name,
    p.service_level,
    p.paper_received,
    p.online_received,
    m.received,
    m.online / m.received AS agency_online_rate,
    rank() OVER (PARTITION BY p.month_start, p.agency_code ORDER BY p.paper_received DESC) AS rank_in_agency,
    100.0 * p.paper_received / m.received AS online_rate_gain_pts
FROM procedure_month AS p
JOIN agency_month AS m USING (month_start, agency_code)
LEFT JOIN core.dim_agency AS a ON a.agency_code = p.agency_code
WHERE p.paper_received > 0;
