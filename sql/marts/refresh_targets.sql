-- reads: kpi_target_change, intermediate.kpi_target_applied, mart.kpi_target
-- writes: mart.kpi_value, intermediate.kpi_target_applied
-- The KPIs whose target changed (target_changes.sql): their rows take the current target and met,
-- and the applied targets become the current ones.
UPDATE mart.kpi_value AS v
SET target = c.target, met = v.value >= c.target
FROM kpi_target_change AS c
WHERE c.kpi_code = v.kpi_code
  AND (v.target IS DISTINCT FROM c.target OR v.met IS DISTINCT FROM (v.value >= c.target));

DELETE FROM intermediate.kpi_target_applied;
INSERT INTO intermediate.kpi_target_applied
SELECT kpi_code, target FROM mart.kpi_target;
