-- reads: audit.quarantine; parameters period_end, period_start
-- writes: nothing: a query whose rows are the result
-- Why records of the period's windows were quarantined: each '; '-joined reason counted apart
-- (a record with two reasons counts once under each). The records themselves are never read
-- out. Params: $period_start, $period_end.
WITH quarantined AS (
    SELECT entity, unnest(string_split(reasons, '; ')) AS reason
    FROM audit.quarantine
    WHERE window_start >= $period_start AND window_start < $period_end
)
SELECT entity, trim(reason) AS reason, count(*) AS records
FROM quarantined
WHERE trim(reason) <> ''
GROUP BY ALL
ORDER BY records DESC, entity, reason;
