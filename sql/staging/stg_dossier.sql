-- reads: landed_dossier (etl/standardize.py), the macros of staging/macros.sql
-- writes: src_dossier, stg_dossier, chk_dossier
-- Dossier (hoso): THE mapping from the source's Vietnamese field names to ours.
-- Input:  landed_dossier(row_id, window_start, file_path, record)  -- one landed JSON line per row.
-- Output: stg_dossier  -- standardized columns (names of core.fact_dossier) + record_key,
--         window_start, record, row_id, state_at (the state's time, for superseding);
--         chk_dossier (view) -- the narrow frame GX validates: row_id, window_start, record_key and
--         the typed columns the rules of expectations/dossier.json read, plus <SourceField>_sent
--         (the raw value was not empty) for the row conditions of the parse rules. The rules
--         themselves (which statuses, which channels, what must parse) live in the suite.
-- A view: the JSON is parsed once, while stg_dossier is built.
CREATE OR REPLACE TEMP VIEW src_dossier AS
WITH fields AS (
    SELECT row_id, window_start, file_path, record,
           json_extract_string(record, [
               '$.MaHoSo', '$.MaTTHC', '$.MaDonVi', '$.KenhThucHien', '$.NopTuXa',
               '$.LoaiDoiTuong', '$.SoGiayToChuHoSoHash', '$.NgayNopHoSo', '$.NgayTiepNhan',
               '$.NgayHenTra', '$.NgayKetThucXuLy', '$.NgayTra', '$.TrangThaiHoSo',
               '$.HinhThucTra', '$.HoSoCoThanhPhanSoHoa', '$.NgayCapNhat', '$.KetQuaSoHoa']) AS f
    FROM landed_dossier
)
SELECT row_id, window_start, file_path, record,
       f[1] AS MaHoSo, f[2] AS MaTTHC, f[3] AS MaDonVi, f[4] AS KenhThucHien, f[5] AS NopTuXa,
       f[6] AS LoaiDoiTuong, f[7] AS SoGiayToChuHoSoHash, f[8] AS NgayNopHoSo,
       f[9] AS NgayTiepNhan, f[10] AS NgayHenTra, f[11] AS NgayKetThucXuLy, f[12] AS NgayTra,
       f[13] AS TrangThaiHoSo, f[14] AS HinhThucTra, f[15] AS HoSoCoThanhPhanSoHoa,
       f[16] AS NgayCapNhat, f[17] AS KetQuaSoHoa
FROM fields;

-- Trimmed, typed, then checked, each in a projection of its own: a check that named a typed
-- column of the same SELECT evaluated its macro again (DuckDB expands such an alias in place),
-- and so did stg_text's uses of its argument (see stg_trimmed).
CREATE OR REPLACE TEMP TABLE stg_dossier AS
WITH trimmed AS (
    SELECT *,
           stg_trimmed(MaHoSo) AS MaHoSo_t, stg_trimmed(MaTTHC) AS MaTTHC_t,
           stg_trimmed(MaDonVi) AS MaDonVi_t, stg_trimmed(LoaiDoiTuong) AS LoaiDoiTuong_t,
           stg_trimmed(SoGiayToChuHoSoHash) AS SoGiayToChuHoSoHash_t
    FROM src_dossier
),
typed AS (
    SELECT
        stg_code_trimmed(MaHoSo_t)                          AS dossier_id,
        stg_code_trimmed(MaTTHC_t)                          AS procedure_code,
        stg_code_trimmed(MaDonVi_t)                         AS agency_code,
        stg_channel(KenhThucHien)                           AS channel_code,
        -- For the rule: a channel label reads as its number and any other integer stays itself,
        -- so that the suite's set of channels (expect_column_values_to_be_in_set) reports it.
        coalesce(stg_channel(KenhThucHien),
                 TRY_CAST(stg_int_code(KenhThucHien) AS SMALLINT)) AS channel_number,
        stg_flag(NopTuXa)                                   AS remote_submission,
        stg_nfc(LoaiDoiTuong_t)                             AS applicant_type,
        stg_code_trimmed(SoGiayToChuHoSoHash_t)             AS applicant_key,
        stg_local_ts(NgayNopHoSo)                           AS submitted_at,
        stg_local_ts(NgayTiepNhan)                          AS received_at,
        stg_local_ts(NgayHenTra)                            AS due_at,
        stg_local_ts(NgayKetThucXuLy)                       AS finished_at,
        stg_local_ts(NgayTra)                               AS returned_at,
        -- A dossier served in a window changed in it: the window start stands in for a missing
        -- NgayCapNhat (a present but broken one makes the record invalid instead).
        CASE WHEN stg_is_blank(NgayCapNhat) THEN window_start
             ELSE stg_local_ts(NgayCapNhat) END             AS updated_at,
        stg_int_code(TrangThaiHoSo)                         AS status_code,
        stg_int_code(HinhThucTra)                           AS return_code,
        stg_flag(HoSoCoThanhPhanSoHoa)                      AS has_digitized,
        stg_int_code(KetQuaSoHoa)                           AS result_digitized_code,
        window_start,
        record,
        row_id,
        file_path,
        NOT stg_is_blank(NgayNopHoSo)                       AS NgayNopHoSo_sent,
        NOT stg_is_blank(NgayTiepNhan)                      AS NgayTiepNhan_sent,
        NOT stg_is_blank(NgayHenTra)                        AS NgayHenTra_sent,
        NOT stg_is_blank(NgayKetThucXuLy)                   AS NgayKetThucXuLy_sent,
        NOT stg_is_blank(NgayTra)                           AS NgayTra_sent,
        NOT stg_is_blank(NopTuXa)                           AS NopTuXa_sent,
        NOT stg_is_blank(HinhThucTra)                       AS HinhThucTra_sent,
        NOT stg_is_blank(HoSoCoThanhPhanSoHoa)              AS HoSoCoThanhPhanSoHoa_sent,
        NOT stg_is_blank(KetQuaSoHoa)                       AS KetQuaSoHoa_sent
    FROM trimmed
)
SELECT
    dossier_id, procedure_code, agency_code, channel_code, remote_submission, applicant_type,
    applicant_key, submitted_at, received_at, due_at, finished_at, returned_at, updated_at,
    -- The range 1…10 is the suite's rule (expect_column_values_to_be_between on status_code):
    -- a status outside it is quarantined; SMALLINT holds any status that reaches the facts.
    TRY_CAST(status_code AS SMALLINT)                   AS status,
    CAST(CASE WHEN return_code IN (0, 1) THEN return_code END AS SMALLINT)        AS return_method,
    has_digitized,
    -- source-api.md v1.1: "1" is a digitized result; empty or any other value reads as 0.
    coalesce(result_digitized_code = 1, FALSE)          AS result_digitized,
    dossier_id                                          AS record_key,
    window_start,
    record,
    row_id,
    file_path,
    updated_at                                          AS state_at,
    -- What the rules read besides the staged columns: the integer codes as parsed (any
    -- non-negative integer, NULL when empty or not an integer) and whether a raw value was sent.
    status_code, channel_number, return_code, result_digitized_code,
    NgayNopHoSo_sent, NgayTiepNhan_sent, NgayHenTra_sent, NgayKetThucXuLy_sent, NgayTra_sent,
    NopTuXa_sent, HinhThucTra_sent, HoSoCoThanhPhanSoHoa_sent, KetQuaSoHoa_sent
FROM typed;

-- The narrow frame for GX: only the columns expectations/dossier.json reads (no text but the
-- codes; the record itself never goes to pandas).
CREATE OR REPLACE TEMP VIEW chk_dossier AS
SELECT row_id, window_start, record_key, procedure_code, agency_code, status_code, channel_number,
       submitted_at, received_at, due_at, finished_at, returned_at, updated_at,
       remote_submission, return_code, has_digitized, result_digitized_code,
       COLUMNS('_sent$')
FROM stg_dossier;

DROP VIEW src_dossier;
