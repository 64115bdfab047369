-- reads: mart.focus_procedure, mart.kpi_value, core.dim_agency
-- writes: nothing: a query whose rows are the result
-- Per agency, its $focus_top procedures offered online (TOAN_TRINH / MOT_PHAN) that took the most
-- paper dossiers in [$period_start, $period_end), with the ONLINE_RATE points the agency would
-- have gained had they been filed online: 100 * paper / the agency's ONLINE_RATE denominator of
-- the period (a quarter's denominator is not the sum of the months' focus rows, which skip months
-- without paper). Params: $period_type, $period_start, $period_end, $focus_top.
WITH per_procedure AS (
    SELECT
        agency_code,
        procedure_code,
        arg_max(procedure_name, month_start) AS procedure_name,
        arg_max(service_level, month_start) AS service_level,
        sum(paper_received) AS paper_received,
        sum(online_received) AS online_received
    FROM mart.focus_procedure
    WHERE month_start >= $period_start AND month_start < $period_end
    GROUP BY ALL
),
ranked AS (
    SELECT
        *,
        row_number() OVER (PARTITION BY agency_code ORDER BY paper_received DESC, procedure_code) AS rank_in_agency
    FROM per_procedure
)
SELECT
    r.agency_code,
    a.agency_name,
    a.agency_code IS NULL OR a.is_inferred AS unknown_agency,
    r.rank_in_agency,
    r.procedure_code,
    r.procedure_name,
    r.service_level,
    r.paper_received,
    r.online_received,
    v.denominator AS agency_received,
    100.0 * r.paper_received / v.denominator AS online_rate_gain_pts
FROM ranked AS r
LEFT JOIN mart.kpi_value AS v
    ON v.period_type = $period_type AND v.period_start = $period_start
   AND v.agency_code = r.agency_code AND v.kpi_code = 'ONLINE_RATE'
LEFT JOIN core.dim_agency AS a ON a.agency_code = r.agency_code
WHERE r.rank_in_agency <= $focus_top
ORDER BY r.agency_code, r.rank_in_agency;
