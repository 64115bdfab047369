-- reads: row_failure, the stg_<entity> table named by parameter stg_table
-- writes: staged
-- Judge the staged rows of one entity: validity, reasons, superseded. Inputs:
--   parameter stg_table: the name of the entity's stg_<entity> table (see stg_<entity>.sql);
--   row_failure(row_id, reason, ordinal): one row per failed quarantining expectation per
--   record, as reported by GX (ordinal = the expectation's position in the suite).
-- Output: view staged — the stg columns, then is_valid, reasons, superseded, record, record_hash.
-- record and record_hash are kept for invalid rows only: the quarantine is their one reader, and
-- the landing zone keeps every line anyway (decision 0034).
-- superseded: valid, and a later valid state of the same key is elsewhere in the batch
-- (latest state_at wins; tie → the later window; a reference list orders by window only).
CREATE OR REPLACE TEMP VIEW staged AS
WITH failed AS (
    SELECT row_id, string_agg(reason, '; ' ORDER BY first_ordinal) AS reasons
    FROM (SELECT row_id, reason, min(ordinal) AS first_ordinal FROM row_failure GROUP BY ALL)
    GROUP BY row_id
),
judged AS (
    SELECT s.*, f.reasons IS NULL AS is_valid, f.reasons
    FROM query_table($stg_table) AS s
    LEFT JOIN failed AS f ON f.row_id = s.row_id
)
SELECT * EXCLUDE (state_at, is_valid, reasons, record),
       is_valid,
       reasons,
       is_valid AND row_number() OVER (
           PARTITION BY record_key, is_valid
           ORDER BY state_at DESC NULLS LAST, window_start DESC, row_id DESC) > 1 AS superseded,
       CASE WHEN NOT is_valid THEN record END         AS record,
       CASE WHEN NOT is_valid THEN sha256(record) END AS record_hash
FROM judged;
