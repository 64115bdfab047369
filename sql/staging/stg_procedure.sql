-- Procedure catalogue (thutuc): THE mapping from the source's field names to ours.
-- Input:  landed_procedure(row_id, window_start, record).
-- Output: stg_procedure (columns of core.dim_procedure + staging columns) and chk_procedure
--         (the narrow frame GX validates; one boolean per rule, true = passes).
-- The key of a version is MaTTHC + HieuLucTu (versions of one code never overlap).
CREATE OR REPLACE TEMP TABLE src_procedure AS
WITH fields AS (
    SELECT row_id, window_start, record,
           json_extract_string(record, [
               '$.MaTTHC', '$.TenTTHC', '$.MaLinhVuc', '$.TenLinhVuc', '$.CapThucHien',
               '$.MucDoDVC', '$.CoPhiLePhi', '$.ThanhToanTrucTuyen', '$.ThoiHanGiaiQuyet',
               '$.HieuLucTu', '$.HieuLucDen']) AS f
    FROM landed_procedure
)
SELECT row_id, window_start, record,
       f[1] AS MaTTHC, f[2] AS TenTTHC, f[3] AS MaLinhVuc, f[4] AS TenLinhVuc,
       f[5] AS CapThucHien, f[6] AS MucDoDVC, f[7] AS CoPhiLePhi, f[8] AS ThanhToanTrucTuyen,
       f[9] AS ThoiHanGiaiQuyet, f[10] AS HieuLucTu, f[11] AS HieuLucDen
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
    CASE WHEN NOT stg_is_blank(MaTTHC)
         THEN stg_code(MaTTHC) || '@' || coalesce(strftime(stg_iso_date(HieuLucTu), '%Y-%m-%d'),
                                                  stg_code(HieuLucTu), '')
    END                              AS record_key,
    window_start,
    record,
    sha256(record)                   AS record_hash,
    row_id,
    -- A reference list is a full snapshot: the later window's copy is the later state.
    NULL::TIMESTAMP                  AS state_at
FROM src_procedure;

CREATE OR REPLACE TEMP TABLE chk_procedure AS
SELECT
    s.row_id, s.window_start, p.record_key,
    NOT stg_is_blank(MaTTHC)                                                   AS MaTTHC_present,
    stg_iso_date(HieuLucTu) IS NOT NULL                                        AS HieuLucTu_valid,
    coalesce(upper(stg_code(MucDoDVC)) IN ('TOAN_TRINH', 'MOT_PHAN', 'KHONG'), FALSE) AS MucDoDVC_valid,
    -- Not validity rules of the contract: reported (warn), never quarantined.
    stg_is_blank(HieuLucDen) OR stg_iso_date(HieuLucDen) IS NOT NULL           AS HieuLucDen_valid,
    stg_is_blank(ThoiHanGiaiQuyet) OR stg_int_code(ThoiHanGiaiQuyet) IS NOT NULL AS ThoiHanGiaiQuyet_valid,
    stg_is_blank(CoPhiLePhi) OR stg_flag(CoPhiLePhi) IS NOT NULL               AS CoPhiLePhi_valid,
    stg_is_blank(ThanhToanTrucTuyen) OR stg_flag(ThanhToanTrucTuyen) IS NOT NULL AS ThanhToanTrucTuyen_valid,
    stg_is_blank(CapThucHien)
        OR coalesce(list_bool_and(list_transform(stg_level_list(CapThucHien),
                                        lambda x: x IN ('TINH', 'HUYEN', 'XA'))), TRUE)
                                                                               AS CapThucHien_valid
FROM src_procedure s JOIN stg_procedure p USING (row_id);

DROP TABLE src_procedure;
