-- reads: load_landed, load_count, load_validation; parameters run_id
-- writes: audit.quarantine, audit.run_counts, audit.validation_result
-- Audit rows of the batch. Keyed by run_id (derived from the landed content), so a re-load of
-- the same batch rewrites the same rows and nothing else.

-- One row per invalid record per run: the same invalid record landed in two windows is one row
-- (the first window it appeared in).
INSERT INTO audit.quarantine BY NAME
SELECT $run_id AS run_id, entity,
       arg_min(record_key, window_start) AS record_key,
       arg_min(reasons, window_start)    AS reasons,
       arg_min(record, window_start)     AS record,
       min(window_start)                 AS window_start,
       record_hash
FROM load_landed
WHERE NOT is_valid
GROUP BY entity, record_hash
ON CONFLICT (run_id, entity, record_hash) DO UPDATE SET
    record_key = excluded.record_key, reasons = excluded.reasons,
    record = excluded.record, window_start = excluded.window_start;

INSERT INTO audit.run_counts BY NAME
SELECT $run_id AS run_id, entity, window_start, window_end,
       extracted, loaded, quarantined, duplicates
FROM load_count
ON CONFLICT (run_id, entity, window_start) DO UPDATE SET
    window_end = excluded.window_end, extracted = excluded.extracted, loaded = excluded.loaded,
    quarantined = excluded.quarantined, duplicates = excluded.duplicates;

INSERT INTO audit.validation_result BY NAME
SELECT $run_id AS run_id, entity, expectation, column_name,
       blocking, success, element_count, unexpected_count, reason
FROM load_validation
ON CONFLICT (run_id, entity, expectation, column_name) DO UPDATE SET
    blocking = excluded.blocking, success = excluded.success,
    element_count = excluded.element_count, unexpected_count = excluded.unexpected_count,
    reason = excluded.reason;
