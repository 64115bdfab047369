-- reads: audit.run_counts; parameters runs
-- writes: nothing: a query whose rows are the result
-- The latest runs (by the last window they loaded) with their counts over every entity.
SELECT run_id,
       min(window_start) AS first_window,
       max(window_end)   AS last_window,
       sum(extracted)    AS extracted,
       sum(loaded)       AS loaded,
       sum(quarantined)  AS quarantined,
       sum(duplicates)   AS duplicates
FROM audit.run_counts
GROUP BY run_id
ORDER BY last_window DESC, run_id DESC
LIMIT $runs;
