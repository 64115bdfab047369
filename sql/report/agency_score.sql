-- reads: mart.kpi_value, core.dim_agency; parameters census_kpis, min_records, period_start,
--        period_type
-- writes: nothing: a query whose rows are the result
-- Agencies ordered by the share of their target KPIs met, then the mean gap to the targets (the
-- scorecard's ordering), on the KPIs each is ranked by (ranking.sql: enough records, or a
-- catalogue KPI). Known agencies ranked by none ('few_records') and codes not in the agency list
-- ('unknown') get no rank; their figures are over all their target KPIs.
-- Params: $period_type, $period_start, $min_records, $census_kpis.
WITH measured AS (
    SELECT
        v.agency_code,
        a.agency_name,
        a.agency_code IS NULL OR a.is_inferred AS is_inferred,
        v.met,
        v.value - v.target AS gap,
        v.denominator >= $min_records OR list_contains($census_kpis, v.kpi_code) AS enough
    FROM mart.kpi_value AS v
    LEFT JOIN core.dim_agency AS a USING (agency_code)
    WHERE v.period_type = $period_type AND v.period_start = $period_start
      AND v.agency_code <> '*' AND v.target IS NOT NULL
),
grouped AS (
    SELECT
        *,
        CASE WHEN is_inferred THEN 'unknown'
             WHEN bool_or(enough) OVER (PARTITION BY agency_code) THEN 'ranked'
             ELSE 'few_records' END AS row_group
    FROM measured
),
score AS (
    SELECT
        agency_code,
        any_value(agency_name) AS agency_name,
        any_value(is_inferred) AS is_inferred,
        any_value(row_group) AS row_group,
        count(*) FILTER (WHERE met) AS targets_met,
        count(*) AS targets_measured,
        avg(gap) AS mean_gap
    FROM grouped
    WHERE enough OR row_group <> 'ranked'
    GROUP BY agency_code
)
SELECT
    CASE WHEN row_group = 'ranked'
         THEN rank() OVER (PARTITION BY row_group = 'ranked'
                           ORDER BY targets_met / targets_measured DESC, mean_gap DESC) END AS rank,
    *
FROM score
ORDER BY row_group = 'unknown', row_group = 'few_records', rank, targets_met / targets_measured DESC,
         mean_gap DESC, agency_code;
