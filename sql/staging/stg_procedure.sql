-- reads: landed_procedure (etl/standardize.py), the macros of staging/macros.sql
-- writes: src_procedure, stg_procedure, chk_procedure
-- Procedure catalogue (thutuc): THE mapping from the source's field names to ours.
-- Input:  landed_procedure(row_id, window_start, file_path, record).
-- Output: stg_procedure (columns of core.dim_procedure + staging columns) and chk_procedure
--         (the narrow frame GX validates: the typed columns the rules of
--         expectations/procedure.json read).
-- The key of a version is MaTTHC + HieuLucTu (versions of one code never overlap).
-- A view: the JSON is parsed once, while stg_procedure is built.
CREATE OR REPLACE TEMP VIEW src_procedure AS
WITH fields AS (
    SELECT row_id, window_start, file_path, record,
           json_extract_string(record, [
               '$.MaTTHC', '$.TenTTHC', '$.MaLinhVuc', '$.TenLinhVuc', '$.CapThucHien',
               '$.MucDoDVC', '$.CoPhiLePhi', '$.ThanhToanTrucTuyen', '$.ThoiHanGiaiQuyet',
               '$.HieuLucTu', '$.HieuLucDen', '$.NoiBo']) AS f,
           json_type(record, '$.NoiBo') AS NoiBo_type
    FROM landed_procedure
)
SELECT row_id, window_start, file_path, record,
       f[1] AS MaTTHC, f[2] AS TenTTHC, f[3] AS MaLinhVuc, f[4] AS TenLinhVuc,
       f[5] AS CapThucHien, f[6] AS MucDoDVC, f[7] AS CoPhiLePhi, f[8] AS ThanhToanTrucTuyen,
       f[9] AS ThoiHanGiaiQuyet, f[10] AS HieuLucTu, f[11] AS HieuLucDen, f[12] AS NoiBo,
       NoiBo_type
FROM fields;

CREATE OR REPLACE TEMP TABLE stg_procedure AS
SELECT
    stg_code(MaTTHC)                 AS procedure_code,
    stg_iso_date(HieuLucTu)          AS valid_from,
    stg_iso_date(HieuLucDen)         AS valid_to,
    stg_text(TenTTHC)                AS procedure_name,
    stg_code(MaLinhVuc)              AS sector_code,
    stg_text(TenLinhVuc)             AS sector_name,
    stg_level_list(CapThucHien)      AS agency_levels,
    upper(stg_code(MucDoDVC))        AS service_level,
    stg_flag(CoPhiLePhi)             AS has_fee,
    stg_flag(ThanhToanTrucTuyen)     AS online_payment,
    stg_int_code(ThoiHanGiaiQuyet)   AS legal_days,
    -- source-api.md v1.1: NoiBo is a JSON boolean; empty or any other value (even the string
    -- "true") reads as false, a warning, not an invalid record.
    coalesce(NoiBo_type = 'BOOLEAN' AND NoiBo = 'true', FALSE) AS is_internal,
    CASE WHEN NOT stg_is_blank(MaTTHC)
         THEN stg_code(MaTTHC) || '@' || coalesce(strftime(stg_iso_date(HieuLucTu), '%Y-%m-%d'),
                                                  stg_code(HieuLucTu), '')
    END                              AS record_key,
    window_start,
    record,
    row_id,
    file_path,
    -- A reference list is a full snapshot: the later window's copy is the later state.
    NULL::TIMESTAMP                  AS state_at,
    -- What the rules of expectations/procedure.json read besides the staged columns: the levels
    -- as one text (a list is no GX column value), the JSON type of a sent NoiBo, and whether a
    -- raw value was sent (the row conditions of the parse rules).
    nullif(array_to_string(agency_levels, ','), '')          AS agency_levels_text,
    CASE WHEN NOT stg_is_blank(NoiBo) THEN NoiBo_type END    AS NoiBo_json_type,
    NOT stg_is_blank(HieuLucDen)                             AS HieuLucDen_sent,
    NOT stg_is_blank(ThoiHanGiaiQuyet)                       AS ThoiHanGiaiQuyet_sent,
    NOT stg_is_blank(CoPhiLePhi)                             AS CoPhiLePhi_sent,
    NOT stg_is_blank(ThanhToanTrucTuyen)                     AS ThanhToanTrucTuyen_sent
FROM src_procedure;

-- The narrow frame for GX: only the columns expectations/procedure.json reads.
CREATE OR REPLACE TEMP VIEW chk_procedure AS
SELECT row_id, window_start, record_key, procedure_code, valid_from, valid_to, service_level,
       legal_days, has_fee, online_payment, agency_levels_text, NoiBo_json_type,
       COLUMNS('_sent$')
FROM stg_procedure;

DROP VIEW src_procedure;
