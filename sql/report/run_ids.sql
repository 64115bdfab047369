-- reads: audit.run_counts; parameters period_end, period_start
-- writes: nothing: a query whose rows are the result
-- The pipeline runs that loaded the period's windows [$period_start, $period_end).
SELECT run_id, min(window_start) AS first_window, max(window_end) AS last_window, sum(loaded) AS loaded
FROM audit.run_counts
WHERE window_start >= $period_start AND window_start < $period_end
GROUP BY run_id
ORDER BY last_window, run_id;
