-- Dossier (hoso): THE mapping from the source's Vietnamese field names to ours.
-- Input:  landed_dossier(row_id, window_start, record)  -- one landed JSON line per row.
-- Output: stg_dossier  -- standardized columns (names of core.fact_dossier) + record_key,
--         window_start, record, record_hash, row_id, state_at (the state's time, for superseding);
--         chk_dossier  -- the narrow frame GX validates: row_id, window_start, record_key and
--         one boolean per rule of source-api.md "Some records are broken" (true = passes).
CREATE OR REPLACE TEMP TABLE src_dossier AS
WITH fields AS (
    SELECT row_id, window_start, record,
           json_extract_string(record, [
               '$.MaHoSo', '$.MaTTHC', '$.MaDonVi', '$.KenhThucHien', '$.NopTuXa',
               '$.LoaiDoiTuong', '$.SoGiayToChuHoSoHash', '$.NgayNopHoSo', '$.NgayTiepNhan',
               '$.NgayHenTra', '$.NgayKetThucXuLy', '$.NgayTra', '$.TrangThaiHoSo',
               '$.HinhThucTra', '$.HoSoCoThanhPhanSoHoa', '$.NgayCapNhat']) AS f
    FROM landed_dossier
)
SELECT row_id, window_start, record,
       f[1] AS MaHoSo, f[2] AS MaTTHC, f[3] AS MaDonVi, f[4] AS KenhThucHien, f[5] AS NopTuXa,
       f[6] AS LoaiDoiTuong, f[7] AS SoGiayToChuHoSoHash, f[8] AS NgayNopHoSo,
       f[9] AS NgayTiepNhan, f[10] AS NgayHenTra, f[11] AS NgayKetThucXuLy, f[12] AS NgayTra,
       f[13] AS TrangThaiHoSo, f[14] AS HinhThucTra, f[15] AS HoSoCoThanhPhanSoHoa,
       f[16] AS NgayCapNhat
FROM fields;

CREATE OR REPLACE TEMP TABLE stg_dossier AS
SELECT
    stg_code(MaHoSo)                                    AS dossier_id,
    stg_code(MaTTHC)                                    AS procedure_code,
    stg_code(MaDonVi)                                   AS agency_code,
    stg_channel(KenhThucHien)                           AS channel_code,
    stg_flag(NopTuXa)                                   AS remote_submission,
    stg_text(LoaiDoiTuong)                              AS applicant_type,
    stg_code(SoGiayToChuHoSoHash)                       AS applicant_key,
    stg_local_ts(NgayNopHoSo)                           AS submitted_at,
    stg_local_ts(NgayTiepNhan)                          AS received_at,
    stg_local_ts(NgayHenTra)                            AS due_at,
    stg_local_ts(NgayKetThucXuLy)                       AS finished_at,
    stg_local_ts(NgayTra)                               AS returned_at,
    -- A dossier served in a window changed in it: the window start stands in for a missing
    -- NgayCapNhat (a present but broken one makes the record invalid instead).
    CASE WHEN stg_is_blank(NgayCapNhat) THEN window_start
         ELSE stg_local_ts(NgayCapNhat) END             AS updated_at,
    CAST(CASE WHEN stg_int_code(TrangThaiHoSo) BETWEEN 1 AND 10
              THEN stg_int_code(TrangThaiHoSo) END AS SMALLINT) AS status,
    CAST(CASE WHEN stg_int_code(HinhThucTra) IN (0, 1)
              THEN stg_int_code(HinhThucTra) END AS SMALLINT)   AS return_method,
    stg_flag(HoSoCoThanhPhanSoHoa)                      AS has_digitized,
    stg_code(MaHoSo)                                    AS record_key,
    window_start,
    record,
    sha256(record)                                      AS record_hash,
    row_id,
    updated_at                                          AS state_at
FROM src_dossier;

CREATE OR REPLACE TEMP TABLE chk_dossier AS
SELECT
    row_id, window_start, stg_code(MaHoSo) AS record_key,
    NOT stg_is_blank(MaHoSo)                              AS MaHoSo_present,
    NOT stg_is_blank(MaTTHC)                              AS MaTTHC_present,
    NOT stg_is_blank(MaDonVi)                             AS MaDonVi_present,
    coalesce(stg_int_code(TrangThaiHoSo) BETWEEN 1 AND 10, FALSE) AS TrangThaiHoSo_valid,
    stg_channel(KenhThucHien) IS NOT NULL                 AS KenhThucHien_valid,
    stg_local_ts_ok(NgayNopHoSo)                          AS NgayNopHoSo_parses,
    stg_local_ts_ok(NgayTiepNhan)                         AS NgayTiepNhan_parses,
    stg_local_ts_ok(NgayHenTra)                           AS NgayHenTra_parses,
    stg_local_ts_ok(NgayKetThucXuLy)                      AS NgayKetThucXuLy_parses,
    stg_local_ts_ok(NgayTra)                              AS NgayTra_parses,
    stg_local_ts_ok(NgayCapNhat)                          AS NgayCapNhat_parses,
    -- Not validity rules of the contract: reported (warn), never quarantined.
    stg_is_blank(NopTuXa) OR stg_flag(NopTuXa) IS NOT NULL AS NopTuXa_valid,
    stg_is_blank(HinhThucTra) OR coalesce(stg_int_code(HinhThucTra) IN (0, 1), FALSE) AS HinhThucTra_valid,
    stg_is_blank(HoSoCoThanhPhanSoHoa) OR stg_flag(HoSoCoThanhPhanSoHoa) IS NOT NULL
                                                          AS HoSoCoThanhPhanSoHoa_valid
FROM src_dossier;

DROP TABLE src_dossier;
