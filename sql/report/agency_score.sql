-- Agencies ordered by the share of their target KPIs met, then the mean gap to the targets
-- (the scorecard's ordering). Params: $period_type, $period_start.
WITH score AS (
    SELECT
        v.agency_code,
        count(*) FILTER (WHERE v.met) AS targets_met,
        count(*) AS targets_measured,
        avg(v.value - v.target) AS mean_gap
    FROM mart.kpi_value AS v
    WHERE v.period_type = $period_type AND v.period_start = $period_start
      AND v.agency_code <> '*' AND v.target IS NOT NULL
    GROUP BY v.agency_code
)
SELECT
    rank() OVER (ORDER BY s.targets_met / s.targets_measured DESC, s.mean_gap DESC) AS rank,
    s.agency_code,
    a.agency_name,
    a.is_inferred,
    s.targets_met,
    s.targets_measured,
    s.mean_gap
FROM score AS s
LEFT JOIN core.dim_agency AS a USING (agency_code)
ORDER BY rank, s.agency_code;
