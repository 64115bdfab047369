-- reads: load_dossier, core.fact_dossier, load_date_key, core.dim_agency, core.dim_procedure,
--        load_payment, core.fact_payment, load_procedure_changed; parameters run_id
-- writes: load_dossier_applied, core.fact_dossier, load_payment_applied, core.fact_payment,
--         load_procedure_changed_code
-- Facts: upsert the batch's latest valid state of each dossier and transaction, but never over
-- a newer stored state (updated_at = NgayCapNhat): a replayed older extract changes nothing.
-- Invalid states never reach the facts (they are in audit.quarantine), so a fact keeps its last
-- valid state when a later state is broken.
--
-- procedure_sk: the version of procedure_code valid on the local received date (dossier) or
-- transaction date (payment) — the latest valid_from on or before that date, if its valid_to
-- has not passed; null when the date is null or no version covers it. A code the catalogue has
-- never listed resolves to its inferred member until its versions arrive (then re-resolved).

-- Incoming states that win over the stored one (or are new), with the dates of the state they
-- replace (old_*, null for a new key): both are what this load touches. One scan of the fact.
CREATE OR REPLACE TEMP TABLE load_dossier_applied AS
SELECT s.dossier_id, s.procedure_code, s.agency_code, s.channel_code, s.remote_submission,
       s.applicant_type, s.applicant_key, s.submitted_at, s.received_at, s.due_at,
       s.finished_at, s.returned_at, s.status, s.return_method, s.has_digitized,
       s.result_digitized, s.updated_at,
       f.received_at AS old_received_at, f.finished_at AS old_finished_at,
       f.returned_at AS old_returned_at, f.dossier_id IS NOT NULL AS replaces_stored
FROM load_dossier AS s
LEFT JOIN core.fact_dossier AS f ON f.dossier_id = s.dossier_id
WHERE s.is_valid AND NOT s.superseded
  AND (f.dossier_id IS NULL OR s.updated_at >= f.updated_at);

-- Replaced by key: the stored state of each key is deleted, then every applied state inserted,
-- cheaper than a key index or MERGE … UPDATE (decisions 0045, 0032). The key stays unique
-- because a batch holds one winning state per key (NOT superseded; 020_check_batch.sql refuses a
-- batch that does not). Every applied state is inserted: its agency resolves (a valid dossier has one, and
-- 040_dimensions.sql infers unknown codes), and if it did not, agency_sk NOT NULL would fail the
-- load rather than drop the state.
-- load_dossier_applied holds only states at least as new as the stored ones.
DELETE FROM core.fact_dossier
WHERE dossier_id IN (SELECT dossier_id FROM load_dossier_applied WHERE replaces_stored);

INSERT INTO core.fact_dossier BY NAME
SELECT a.* EXCLUDE (old_received_at, old_finished_at, old_returned_at, replaces_stored),
       CASE WHEN p.valid_to IS NULL OR CAST(a.received_at AS DATE) <= p.valid_to
            THEN p.procedure_sk END                         AS procedure_sk,
       ag.agency_sk,
       load_date_key(a.received_at)                          AS received_date_key,
       load_date_key(a.finished_at)                          AS finished_date_key,
       load_date_key(a.returned_at)                          AS returned_date_key,
       $run_id                                               AS run_id
FROM load_dossier_applied AS a
LEFT JOIN core.dim_agency AS ag ON ag.agency_code = a.agency_code
ASOF LEFT JOIN core.dim_procedure AS p
  ON p.procedure_code = a.procedure_code AND CAST(a.received_at AS DATE) >= p.valid_from;

CREATE OR REPLACE TEMP TABLE load_payment_applied AS
SELECT s.transaction_id, s.dossier_id, s.procedure_code, s.agency_code, s.amount_vnd, s.fee_type,
       s.payment_method_code, s.payment_portal, s.status, s.transacted_at, s.updated_at,
       f.dossier_id AS old_dossier_id, f.transacted_at AS old_transacted_at,
       f.transaction_id IS NOT NULL AS replaces_stored
FROM load_payment AS s
LEFT JOIN core.fact_payment AS f ON f.transaction_id = s.transaction_id
WHERE s.is_valid AND NOT s.superseded
  AND (f.transaction_id IS NULL OR s.updated_at >= f.updated_at);

DELETE FROM core.fact_payment
WHERE transaction_id IN (SELECT transaction_id FROM load_payment_applied WHERE replaces_stored);

INSERT INTO core.fact_payment BY NAME
SELECT a.* EXCLUDE (old_dossier_id, old_transacted_at, replaces_stored),
       CASE WHEN p.valid_to IS NULL OR CAST(a.transacted_at AS DATE) <= p.valid_to
            THEN p.procedure_sk END                         AS procedure_sk,
       ag.agency_sk,
       load_date_key(a.transacted_at)                        AS transacted_date_key,
       $run_id                                               AS run_id
FROM load_payment_applied AS a
LEFT JOIN core.dim_agency AS ag ON ag.agency_code = a.agency_code
ASOF LEFT JOIN core.dim_procedure AS p
  ON p.procedure_code = a.procedure_code AND CAST(a.transacted_at AS DATE) >= p.valid_from;

-- A catalogue change (new version, corrected validity, completed inferred member) can move
-- facts of that code to another version: re-resolve them all.
CREATE OR REPLACE TEMP TABLE load_procedure_changed_code AS
SELECT DISTINCT procedure_code FROM load_procedure_changed;

UPDATE core.fact_dossier AS f
SET procedure_sk = r.procedure_sk
FROM (
    SELECT d.dossier_id,
           CASE WHEN p.valid_to IS NULL OR CAST(d.received_at AS DATE) <= p.valid_to
                THEN p.procedure_sk END AS procedure_sk
    FROM (SELECT * FROM core.fact_dossier
          WHERE procedure_code IN (SELECT procedure_code FROM load_procedure_changed_code)) AS d
    ASOF LEFT JOIN core.dim_procedure AS p
      ON p.procedure_code = d.procedure_code AND CAST(d.received_at AS DATE) >= p.valid_from
) AS r
WHERE f.dossier_id = r.dossier_id AND f.procedure_sk IS DISTINCT FROM r.procedure_sk;

UPDATE core.fact_payment AS f
SET procedure_sk = r.procedure_sk
FROM (
    SELECT t.transaction_id,
           CASE WHEN p.valid_to IS NULL OR CAST(t.transacted_at AS DATE) <= p.valid_to
                THEN p.procedure_sk END AS procedure_sk
    FROM (SELECT * FROM core.fact_payment
          WHERE procedure_code IN (SELECT procedure_code FROM load_procedure_changed_code)) AS t
    ASOF LEFT JOIN core.dim_procedure AS p
      ON p.procedure_code = t.procedure_code AND CAST(t.transacted_at AS DATE) >= p.valid_from
) AS r
WHERE f.transaction_id = r.transaction_id AND f.procedure_sk IS DISTINCT FROM r.procedure_sk;
