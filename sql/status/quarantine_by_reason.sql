-- reads: audit.quarantine; parameters days
-- writes: nothing: a query whose rows are the result
-- Records quarantined from the windows of the last $days local days (up to the latest window
-- quarantined from), counted per entity and reason; a record with two reasons counts under each.
WITH recent AS (
    SELECT entity, reasons
    FROM audit.quarantine
    WHERE window_start >= (SELECT max(window_start) FROM audit.quarantine) - to_days($days - 1)
)
SELECT entity, trim(reason) AS reason, count(*) AS records
FROM recent, unnest(string_split(reasons, '; ')) AS split(reason)
GROUP BY ALL
ORDER BY records DESC, entity, reason;
