-- reads: mart.kpi_value, core.dim_agency; parameters census_kpis, min_records, period_start,
--        period_type
-- writes: nothing: a query whose rows are the result
-- Agencies ranked by each KPI that has a target (rank 1 = highest value), with their gap to it.
-- An official trusts a rank only between agencies of the agency list with enough records: rank
-- only those (row_group 'ranked') whose denominator is at least $min_records, except for the
-- KPIs of $census_kpis (their denominator is the agency's whole catalogue, not a sample of the
-- period); the others are listed apart, known agencies with too few records ('few_records') and
-- codes that are inferred or absent from core.dim_agency ('unknown'). Ties share a rank; the
-- agency code breaks them for a stable order.
-- Params: $period_type, $period_start, $min_records, $census_kpis.
WITH measured AS (
    SELECT
        v.kpi_code,
        v.agency_code,
        a.agency_name,
        a.agency_level,
        a.agency_code IS NULL OR a.is_inferred AS is_inferred,
        v.value,
        v.target,
        v.value - v.target AS gap,
        v.met,
        v.numerator,
        v.denominator,
        CASE
            WHEN a.agency_code IS NULL OR a.is_inferred THEN 'unknown'
            WHEN v.denominator < $min_records AND NOT list_contains($census_kpis, v.kpi_code) THEN 'few_records'
            ELSE 'ranked'
        END AS row_group
    FROM mart.kpi_value AS v
    LEFT JOIN core.dim_agency AS a USING (agency_code)
    WHERE v.period_type = $period_type AND v.period_start = $period_start
      AND v.agency_code <> '*' AND v.target IS NOT NULL
)
SELECT
    *,
    CASE WHEN row_group = 'ranked'
         THEN rank() OVER (PARTITION BY kpi_code, row_group = 'ranked' ORDER BY value DESC) END AS rank,
    count(*) FILTER (WHERE row_group = 'ranked') OVER (PARTITION BY kpi_code) AS agencies_ranked
FROM measured
ORDER BY kpi_code, row_group = 'unknown', row_group = 'few_records', value DESC, agency_code;
