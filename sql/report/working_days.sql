-- reads: mart.processing_time_working_days; parameters period_end, period_start
-- writes: nothing: a query whose rows are the result
-- The working-day view of processing time (mart.processing_time_working_days, monthly) summed
-- over the months of the period [$period_start, $period_end), city-wide.
SELECT
    channel_group,
    sum(dossiers) AS dossiers,
    sum(working_days_total) / sum(dossiers) AS avg_working_days,
    sum(avg_calendar_days * dossiers) / sum(dossiers) AS avg_calendar_days
FROM mart.processing_time_working_days
WHERE agency_code = '*' AND month_start >= $period_start AND month_start < $period_end
GROUP BY channel_group
ORDER BY channel_group DESC;
