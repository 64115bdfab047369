-- reads: mart.kpi_value
-- writes: views mart.kpi_ranking, mart.kpi_agency_score
-- Rankings of agencies against the targets.
-- Per KPI: each agency's value, its gap to the target and its rank among the agencies measured.
CREATE OR REPLACE VIEW mart.kpi_ranking AS
SELECT
    period_type,
    period_start,
    kpi_code,
    agency_code,
    value,
    target,
    met,
    value - target AS gap_to_target,
    rank() OVER (PARTITION BY period_type, period_start, kpi_code ORDER BY value DESC) AS rank,
    count(*) OVER (PARTITION BY period_type, period_start, kpi_code) AS agencies_ranked
FROM mart.kpi_value
WHERE agency_code <> '*' AND target IS NOT NULL;

-- Per agency: how many of its target KPIs it meets, and its overall rank (share met, then the
-- mean gap to target) — the ordering the scorecard uses.
CREATE OR REPLACE VIEW mart.kpi_agency_score AS
WITH score AS (
    SELECT
        period_type,
        period_start,
        agency_code,
        count(*) FILTER (WHERE met) AS targets_met,
        count(*) AS targets_measured,
        avg(value - target) AS mean_gap_to_target
    FROM mart.kpi_value
    WHERE agency_code <> '*' AND target IS NOT NULL
    GROUP BY ALL
)
SELECT
    *,
    targets_met / targets_measured AS share_met,
    rank() OVER (
        PARTITION BY period_type, period_start
        ORDER BY targets_met / targets_measured DESC, mean_gap_to_target DESC
    ) AS rank
FROM score;
