-- reads: mart.pilot_compliance, core.dim_procedure, core.dim_agency
-- writes: nothing: a query whose rows are the result
-- Paper dossiers (KenhThucHien 1 or 3) received on the pilot days of [$period_start, $period_end)
-- (city decision Art. 2.3), per agency and registered procedure: how many, and their MaHoSo only
-- (no personal data). Params: $period_start, $period_end.
WITH per_pair AS (
    SELECT
        agency_code,
        procedure_code,
        sum(pilot_days) AS pilot_days,
        sum(received_on_pilot_days) AS received_on_pilot_days,
        sum(paper_on_pilot_days) AS paper_on_pilot_days,
        list_sort(flatten(list(paper_dossier_ids))) AS paper_dossier_ids
    FROM mart.pilot_compliance
    WHERE month_start >= $period_start AND month_start < $period_end
    GROUP BY ALL
),
procedure_name AS (
    SELECT procedure_code, arg_max(procedure_name, valid_from) AS procedure_name
    FROM core.dim_procedure
    WHERE NOT is_inferred
    GROUP BY ALL
)
SELECT
    p.agency_code,
    a.agency_name,
    a.agency_code IS NULL OR a.is_inferred AS unknown_agency,
    p.procedure_code,
    n.procedure_name,
    p.pilot_days,
    p.received_on_pilot_days,
    p.paper_on_pilot_days,
    p.paper_dossier_ids
FROM per_pair AS p
LEFT JOIN procedure_name AS n USING (procedure_code)
LEFT JOIN core.dim_agency AS a ON a.agency_code = p.agency_code
WHERE p.paper_on_pilot_days > 0
ORDER BY p.agency_code, p.paper_on_pilot_days DESC, p.procedure_code;
