-- reads: mart.kpi_value, mart.kpi_target
-- writes: intermediate.kpi_target_applied, kpi_target_change
-- Targets can change without any fact changing (a new seed, an edit of mart.kpi_target), and
-- every kpi_value row must carry its KPI's current target, so incremental runs stay equal to a
-- full rebuild. intermediate.kpi_target_applied holds the targets the rows carry: the KPIs whose
-- target differs from it are the only ones to update (refresh_targets.sql), none on an ordinary
-- run, rather than checking every row on each refresh (decision 0031). A warehouse from before
-- the table takes the targets its rows carry.
CREATE TABLE IF NOT EXISTS intermediate.kpi_target_applied AS
SELECT DISTINCT kpi_code, target FROM mart.kpi_value;

-- A target added, changed or removed (null: its rows lose target and met). A KPI whose rows
-- disagree among themselves has two applied targets, so it is in here either way.
CREATE OR REPLACE TEMP TABLE kpi_target_change AS
SELECT DISTINCT coalesce(t.kpi_code, a.kpi_code) AS kpi_code, t.target
FROM mart.kpi_target AS t
FULL JOIN intermediate.kpi_target_applied AS a ON a.kpi_code = t.kpi_code
WHERE t.target IS DISTINCT FROM a.target;
