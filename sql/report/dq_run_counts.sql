-- reads: audit.run_counts; parameters period_end, period_start
-- writes: nothing: a query whose rows are the result
-- Records extracted, loaded, quarantined and collapsed as duplicates for the windows of the
-- period [$period_start, $period_end), per entity.
SELECT
    entity,
    count(DISTINCT run_id) AS runs,
    count(*) AS windows,
    sum(extracted) AS extracted,
    sum(loaded) AS loaded,
    sum(quarantined) AS quarantined,
    sum(duplicates) AS duplicates
FROM audit.run_counts
WHERE window_start >= $period_start AND window_start < $period_end
GROUP BY entity
ORDER BY entity;
