-- reads: load_window, load_pilot, core.dim_pilot_registration; parameters run_id
-- writes: load_pilot_read, load_pilot_incoming, load_pilot_match, core.dim_pilot_registration
-- Paper-free pilot registrations (operations.md TTHC_PILOT_FILE), kept with their history in
-- core.dim_pilot_registration. Only a batch that read the file (a pilot window) changes them:
-- the current rows its file no longer holds are closed on the window's day, the new ones opened.
-- Re-loading the same file changes nothing. Rows for the same pair stay apart (they combine when
-- the KPI asks whether any covers a day); a row written twice is one registration.
CREATE OR REPLACE TEMP TABLE load_pilot_read AS
SELECT CAST(max(window_start) AS DATE) AS day FROM load_window WHERE entity = 'pilot';

CREATE OR REPLACE TEMP TABLE load_pilot_incoming AS
SELECT agency_code, procedure_code, start_date, end_date, weekdays,
       min(line_number) AS line_number, arg_min(row_text, line_number) AS row_text
FROM load_pilot
WHERE is_valid AND NOT superseded
GROUP BY agency_code, procedure_code, start_date, end_date, weekdays;

-- The current registrations matched with the file's: unmatched on the left are closed, on the
-- right opened. Its spans are the dates whose KPI periods move (060_dirty_periods.sql).
CREATE OR REPLACE TEMP TABLE load_pilot_match AS
SELECT d.pilot_sk, i.agency_code, i.procedure_code, i.line_number, i.row_text,
       coalesce(d.start_date, i.start_date) AS start_date,
       CASE WHEN d.pilot_sk IS NULL THEN i.end_date ELSE d.end_date END AS end_date,
       i.weekdays
FROM (SELECT * FROM core.dim_pilot_registration WHERE registered_to IS NULL) AS d
FULL JOIN load_pilot_incoming AS i
  ON i.agency_code = d.agency_code AND i.procedure_code = d.procedure_code
 AND i.start_date = d.start_date AND i.end_date IS NOT DISTINCT FROM d.end_date
 AND i.weekdays IS NOT DISTINCT FROM d.weekdays
WHERE (SELECT day FROM load_pilot_read) IS NOT NULL
  AND (d.pilot_sk IS NULL OR i.agency_code IS NULL);

UPDATE core.dim_pilot_registration AS d
SET registered_to = (SELECT day FROM load_pilot_read)
FROM load_pilot_match AS c
WHERE d.pilot_sk = c.pilot_sk;

INSERT INTO core.dim_pilot_registration BY NAME
SELECT nextval('core.seq_pilot_sk') AS pilot_sk, agency_code, procedure_code, start_date,
       end_date, weekdays, line_number, row_text,
       (SELECT day FROM load_pilot_read) AS registered_from,
       $run_id AS run_id
FROM (SELECT * FROM load_pilot_match WHERE pilot_sk IS NULL ORDER BY line_number);
