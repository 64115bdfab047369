-- reads: load_agency, core.dim_agency, load_procedure, core.dim_procedure, load_dossier,
--        load_payment
-- writes: load_agency_changed, core.dim_agency, load_procedure_ref, load_procedure_completion,
--         load_procedure_changed, core.dim_procedure, load_procedure_overlap
-- Reference dimensions. The reference lists are full lists: a member absent from a later list
-- is history and stays. Only rows that are new or differ are written, so re-loading an
-- unchanged list changes nothing (and marks no KPI period dirty). Surrogate keys come from the
-- sequences in key order, so the same input gives the same keys.

-- Agencies: one row per code, updated in place (an inferred member is completed, same agency_sk).
CREATE OR REPLACE TEMP TABLE load_agency_changed AS
SELECT r.agency_code, r.agency_name, r.agency_level, r.parent_code, r.valid_from, r.valid_to,
       r.successor_code, d.agency_sk
FROM load_agency AS r
LEFT JOIN core.dim_agency AS d ON d.agency_code = r.agency_code
WHERE r.is_valid AND NOT r.superseded
  AND (d.agency_sk IS NULL OR d.is_inferred
       OR (r.agency_name, r.agency_level, r.parent_code, r.valid_from, r.valid_to, r.successor_code)
          IS DISTINCT FROM
          (d.agency_name, d.agency_level, d.parent_code, d.valid_from, d.valid_to, d.successor_code));

UPDATE core.dim_agency AS d
SET agency_name = c.agency_name, agency_level = c.agency_level, parent_code = c.parent_code,
    valid_from = c.valid_from, valid_to = c.valid_to, successor_code = c.successor_code,
    is_inferred = FALSE
FROM load_agency_changed AS c
WHERE d.agency_sk = c.agency_sk;

INSERT INTO core.dim_agency BY NAME
SELECT nextval('core.seq_agency_sk') AS agency_sk, agency_code, agency_name, agency_level,
       parent_code, valid_from, valid_to, successor_code, FALSE AS is_inferred
FROM (SELECT * FROM load_agency_changed WHERE agency_sk IS NULL ORDER BY agency_code);

-- Procedures: one row per version (procedure_code, valid_from). An inferred member (the code's
-- only row, valid_from 1900-01-01) is completed in place by the code's earliest version, keeping
-- its procedure_sk; later versions are new rows.
CREATE OR REPLACE TEMP TABLE load_procedure_ref AS
SELECT procedure_code, valid_from, valid_to, procedure_name, sector_code, sector_name,
       agency_levels, service_level, has_fee, online_payment, legal_days, is_internal
FROM load_procedure
WHERE is_valid AND NOT superseded;

CREATE OR REPLACE TEMP TABLE load_procedure_completion AS
SELECT d.procedure_sk, first_version.procedure_code, first_version.valid_from
FROM core.dim_procedure AS d
JOIN (SELECT procedure_code, min(valid_from) AS valid_from
      FROM load_procedure_ref GROUP BY procedure_code) AS first_version
  ON first_version.procedure_code = d.procedure_code
WHERE d.is_inferred;

CREATE OR REPLACE TEMP TABLE load_procedure_changed AS
SELECT r.*, coalesce(c.procedure_sk, d.procedure_sk) AS procedure_sk
FROM load_procedure_ref AS r
LEFT JOIN core.dim_procedure AS d
  ON d.procedure_code = r.procedure_code AND d.valid_from = r.valid_from AND NOT d.is_inferred
LEFT JOIN load_procedure_completion AS c
  ON c.procedure_code = r.procedure_code AND c.valid_from = r.valid_from
WHERE c.procedure_sk IS NOT NULL
   OR d.procedure_sk IS NULL
   OR (r.valid_to, r.procedure_name, r.sector_code, r.sector_name, r.agency_levels,
       r.service_level, r.has_fee, r.online_payment, r.legal_days, r.is_internal)
      IS DISTINCT FROM
      (d.valid_to, d.procedure_name, d.sector_code, d.sector_name, d.agency_levels,
       d.service_level, d.has_fee, d.online_payment, d.legal_days, d.is_internal);

UPDATE core.dim_procedure AS d
SET valid_from = c.valid_from, valid_to = c.valid_to, procedure_name = c.procedure_name,
    sector_code = c.sector_code, sector_name = c.sector_name, agency_levels = c.agency_levels,
    service_level = c.service_level, has_fee = c.has_fee, online_payment = c.online_payment,
    legal_days = c.legal_days, is_internal = c.is_internal, is_inferred = FALSE
FROM load_procedure_changed AS c
WHERE d.procedure_sk = c.procedure_sk;

INSERT INTO core.dim_procedure BY NAME
SELECT nextval('core.seq_procedure_sk') AS procedure_sk, procedure_code, valid_from, valid_to,
       procedure_name, sector_code, sector_name, agency_levels, service_level, has_fee,
       online_payment, legal_days, is_internal, FALSE AS is_inferred
FROM (SELECT * FROM load_procedure_changed WHERE procedure_sk IS NULL
      ORDER BY procedure_code, valid_from);

-- Inferred members for codes the facts reference but the reference lists never brought. They
-- carry no attributes (an inferred agency has no validity, so it is in no catalogue; an inferred
-- procedure spans 1900-01-01 … open so its facts resolve to it until the real versions arrive).
INSERT INTO core.dim_agency BY NAME
SELECT nextval('core.seq_agency_sk') AS agency_sk, agency_code, TRUE AS is_inferred
FROM (
    SELECT agency_code FROM load_dossier WHERE is_valid AND NOT superseded AND agency_code IS NOT NULL
    UNION
    SELECT agency_code FROM load_payment WHERE is_valid AND NOT superseded AND agency_code IS NOT NULL
    EXCEPT
    SELECT agency_code FROM core.dim_agency
    ORDER BY agency_code
);

INSERT INTO core.dim_procedure BY NAME
SELECT nextval('core.seq_procedure_sk') AS procedure_sk, procedure_code,
       DATE '1900-01-01' AS valid_from, TRUE AS is_inferred
FROM (
    SELECT procedure_code FROM load_dossier WHERE is_valid AND NOT superseded AND procedure_code IS NOT NULL
    UNION
    SELECT procedure_code FROM load_payment WHERE is_valid AND NOT superseded AND procedure_code IS NOT NULL
    EXCEPT
    SELECT procedure_code FROM core.dim_procedure
    ORDER BY procedure_code
);

-- Versions of one code never overlap (source-api.md). A version re-keyed at the source (its
-- HieuLucTu corrected) would leave the old row beside the new one, and history is never
-- deleted: report such codes so the overlap is seen, not silently double-counted.
CREATE OR REPLACE TEMP TABLE load_procedure_overlap AS
SELECT DISTINCT a.procedure_code
FROM core.dim_procedure AS a
JOIN core.dim_procedure AS b
  ON b.procedure_code = a.procedure_code AND b.procedure_sk > a.procedure_sk
 AND b.valid_from <= coalesce(a.valid_to, DATE '9999-12-31')
 AND a.valid_from <= coalesce(b.valid_to, DATE '9999-12-31')
WHERE NOT a.is_inferred AND NOT b.is_inferred
  AND a.procedure_code IN (SELECT procedure_code FROM load_procedure_changed);
