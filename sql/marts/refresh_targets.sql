-- Targets can change without any fact changing (a new seed): keep every row's target and met in
-- step with mart.kpi_target, so incremental runs stay equal to a full rebuild.
UPDATE mart.kpi_value AS v
SET target = t.target, met = v.value >= t.target
FROM (
    SELECT k.kpi_code, t.target
    FROM (SELECT DISTINCT kpi_code FROM mart.kpi_value) AS k
    LEFT JOIN mart.kpi_target AS t USING (kpi_code)
) AS t
WHERE t.kpi_code = v.kpi_code
  AND (v.target IS DISTINCT FROM t.target OR v.met IS DISTINCT FROM (v.value >= t.target));
