-- reads: landed_agency (etl/standardize.py), the macros of staging/macros.sql
-- writes: src_agency, stg_agency, chk_agency
-- Agency reference list (donvi): THE mapping from the source's field names to ours.
-- Input:  landed_agency(row_id, window_start, file_path, record).
-- Output: stg_agency (columns of core.dim_agency + staging columns) and chk_agency (the narrow
--         frame GX validates: the typed columns the rules of expectations/agency.json read).
-- A view: the JSON is parsed once, while stg_agency is built.
CREATE OR REPLACE TEMP VIEW src_agency AS
WITH fields AS (
    SELECT row_id, window_start, file_path, record,
           json_extract_string(record, [
               '$.MaDonVi', '$.TenDonVi', '$.CapDonVi', '$.MaDonViCha', '$.HieuLucTu',
               '$.HieuLucDen', '$.MaDonViKeThua']) AS f
    FROM landed_agency
)
SELECT row_id, window_start, file_path, record,
       f[1] AS MaDonVi, f[2] AS TenDonVi, f[3] AS CapDonVi, f[4] AS MaDonViCha,
       f[5] AS HieuLucTu, f[6] AS HieuLucDen, f[7] AS MaDonViKeThua
FROM fields;

CREATE OR REPLACE TEMP TABLE stg_agency AS
SELECT
    stg_code(MaDonVi)          AS agency_code,
    stg_text(TenDonVi)         AS agency_name,
    upper(stg_code(CapDonVi))  AS agency_level,
    stg_code(MaDonViCha)       AS parent_code,
    stg_iso_date(HieuLucTu)    AS valid_from,
    stg_iso_date(HieuLucDen)   AS valid_to,
    stg_code(MaDonViKeThua)    AS successor_code,
    stg_code(MaDonVi)          AS record_key,
    window_start,
    record,
    row_id,
    file_path,
    -- A reference list is a full snapshot: the later window's copy is the later state.
    NULL::TIMESTAMP            AS state_at,
    -- Whether a raw HieuLucDen was sent: the row condition of its parse rule.
    NOT stg_is_blank(HieuLucDen)                             AS HieuLucDen_sent
FROM src_agency;

-- The narrow frame for GX: only the columns expectations/agency.json reads.
CREATE OR REPLACE TEMP VIEW chk_agency AS
SELECT row_id, window_start, record_key, agency_level, valid_from, valid_to, HieuLucDen_sent
FROM stg_agency;

DROP VIEW src_agency;
