-- reads: load_dossier, load_payment, load_agency, load_procedure, load_pilot, load_window;
--        parameters batch_dir
-- writes: load_landed, load_count, load_problem
-- Consistency of the staged batch before anything is written. Every problem becomes one line of
-- a single clear error; a batch that passes here can be loaded without losing a record.
CREATE OR REPLACE TEMP VIEW load_landed AS
SELECT 'dossier' AS entity, record_key, window_start, is_valid, reasons, superseded, record, record_hash
FROM load_dossier
UNION ALL
SELECT 'payment', record_key, window_start, is_valid, reasons, superseded, record, record_hash
FROM load_payment
UNION ALL
SELECT 'agency', record_key, window_start, is_valid, reasons, superseded, record, record_hash
FROM load_agency
UNION ALL
SELECT 'procedure', record_key, window_start, is_valid, reasons, superseded, record, record_hash
FROM load_procedure
UNION ALL
SELECT 'pilot', record_key, window_start, is_valid, reasons, superseded, record, record_hash
FROM load_pilot;

-- Per window: loaded = valid and latest in the batch; quarantined = invalid; duplicates = copies
-- collapsed by the landing (manifest) plus valid states superseded by a later one in the batch.
CREATE OR REPLACE TEMP TABLE load_count AS
WITH landed AS (
    SELECT entity, window_start,
           count(*) FILTER (WHERE is_valid AND NOT superseded) AS loaded,
           count(*) FILTER (WHERE NOT is_valid)                AS quarantined,
           count(*) FILTER (WHERE is_valid AND superseded)     AS superseded
    FROM load_landed
    GROUP BY ALL
)
SELECT w.entity, w.window_start, w.window_end, w.extracted,
       coalesce(l.loaded, 0)                       AS loaded,
       coalesce(l.quarantined, 0)                  AS quarantined,
       w.duplicates + coalesce(l.superseded, 0)    AS duplicates
FROM load_window AS w
LEFT JOIN landed AS l USING (entity, window_start);

CREATE OR REPLACE TEMP TABLE load_problem (problem VARCHAR NOT NULL);

INSERT INTO load_problem
SELECT format('{} {} row(s) lack a bookkeeping column (window_start, is_valid, superseded, or an invalid row''s record or record_hash)',
              count(*), entity)
FROM load_landed
WHERE window_start IS NULL OR is_valid IS NULL OR superseded IS NULL
   OR (NOT is_valid AND (record IS NULL OR record_hash IS NULL))
GROUP BY entity;

INSERT INTO load_problem
SELECT format('{} invalid {} row(s) have no reason', count(*), entity)
FROM load_landed
WHERE NOT is_valid AND coalesce(trim(reasons), '') = ''
GROUP BY entity;

INSERT INTO load_problem
SELECT format('{} {} row(s) belong to window {} which windows.json does not list',
              count(*), l.entity, l.window_start)
FROM load_landed AS l
ANTI JOIN load_window AS w USING (entity, window_start)
WHERE l.window_start IS NOT NULL
GROUP BY l.entity, l.window_start;

INSERT INTO load_problem
SELECT format('windows.json lists {} window {} more than once', entity, window_start)
FROM load_window
GROUP BY entity, window_start
HAVING count(*) > 1;

-- A loaded (valid, latest) row must carry what its fact or dimension requires.
INSERT INTO load_problem
SELECT format('{} valid dossier row(s) lack dossier_id, procedure_code, agency_code, channel_code, status or updated_at',
              count(*))
FROM load_dossier
WHERE is_valid AND NOT superseded
  AND (dossier_id IS NULL OR procedure_code IS NULL OR agency_code IS NULL
       OR channel_code IS NULL OR status IS NULL OR updated_at IS NULL)
HAVING count(*) > 0;

INSERT INTO load_problem
SELECT format('{} valid payment row(s) lack transaction_id, amount_vnd, payment_method_code, status, transacted_at or updated_at',
              count(*))
FROM load_payment
WHERE is_valid AND NOT superseded
  AND (transaction_id IS NULL OR amount_vnd IS NULL OR payment_method_code IS NULL
       OR status IS NULL OR transacted_at IS NULL OR updated_at IS NULL)
HAVING count(*) > 0;

INSERT INTO load_problem
SELECT format('{} valid agency row(s) lack agency_code', count(*))
FROM load_agency
WHERE is_valid AND NOT superseded AND agency_code IS NULL
HAVING count(*) > 0;

INSERT INTO load_problem
SELECT format('{} valid procedure row(s) lack procedure_code or valid_from', count(*))
FROM load_procedure
WHERE is_valid AND NOT superseded AND (procedure_code IS NULL OR valid_from IS NULL)
HAVING count(*) > 0;

INSERT INTO load_problem
SELECT format('{} valid pilot row(s) lack agency_code, procedure_code or start_date', count(*))
FROM load_pilot
WHERE is_valid AND (agency_code IS NULL OR procedure_code IS NULL OR start_date IS NULL)
HAVING count(*) > 0;

-- "superseded" must leave exactly one latest state per key.
INSERT INTO load_problem
SELECT format('dossier {} has {} valid rows not marked superseded', dossier_id, count(*))
FROM load_dossier WHERE is_valid AND NOT superseded
GROUP BY dossier_id HAVING count(*) > 1;

INSERT INTO load_problem
SELECT format('payment {} has {} valid rows not marked superseded', transaction_id, count(*))
FROM load_payment WHERE is_valid AND NOT superseded
GROUP BY transaction_id HAVING count(*) > 1;

INSERT INTO load_problem
SELECT format('agency {} has {} valid rows not marked superseded', agency_code, count(*))
FROM load_agency WHERE is_valid AND NOT superseded
GROUP BY agency_code HAVING count(*) > 1;

INSERT INTO load_problem
SELECT format('procedure {} version {} has {} valid rows not marked superseded',
              procedure_code, valid_from, count(*))
FROM load_procedure WHERE is_valid AND NOT superseded
GROUP BY procedure_code, valid_from HAVING count(*) > 1;

-- The audit contract: extracted = loaded + quarantined + duplicates, per window.
INSERT INTO load_problem
SELECT format('counts do not balance for {} window {}: extracted {} <> loaded {} + quarantined {} + duplicates {}',
              entity, window_start, extracted, loaded, quarantined, duplicates)
FROM load_count
WHERE extracted <> loaded + quarantined + duplicates;

-- At most 20 problems are spelled out; the count says how many there are.
SELECT CASE WHEN count(*) > 0 THEN error(
           format('staged batch {} cannot be loaded ({} problem(s)): {}',
                  $batch_dir, (SELECT count(*) FROM load_problem),
                  string_agg(problem, '; ' ORDER BY problem)))
       END
FROM (SELECT problem FROM load_problem ORDER BY problem LIMIT 20);
