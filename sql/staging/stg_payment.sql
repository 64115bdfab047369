-- reads: landed_payment (etl/standardize.py), the macros of staging/macros.sql
-- writes: src_payment, stg_payment, chk_payment
-- Payment transaction (thanhtoan): THE mapping from the source's field names to ours.
-- Input:  landed_payment(row_id, window_start, file_path, record).
-- Output: stg_payment (columns of core.fact_payment + staging columns) and chk_payment (the
--         narrow frame GX validates: the typed columns the rules of expectations/payment.json
--         read; the rules themselves live in the suite).
-- A view: the JSON is parsed once, while stg_payment is built.
CREATE OR REPLACE TEMP VIEW src_payment AS
WITH fields AS (
    SELECT row_id, window_start, file_path, record,
           json_extract_string(record, [
               '$.MaGiaoDich', '$.MaHoSo', '$.MaTTHC', '$.MaDonVi', '$.SoTien', '$.LoaiPhiLePhi',
               '$.HinhThucThanhToan', '$.KenhThanhToan', '$.TrangThai', '$.ThoiGianGD',
               '$.NgayCapNhat']) AS f
    FROM landed_payment
)
SELECT row_id, window_start, file_path, record,
       f[1] AS MaGiaoDich, f[2] AS MaHoSo, f[3] AS MaTTHC, f[4] AS MaDonVi, f[5] AS SoTien,
       f[6] AS LoaiPhiLePhi, f[7] AS HinhThucThanhToan, f[8] AS KenhThanhToan,
       f[9] AS TrangThai, f[10] AS ThoiGianGD, f[11] AS NgayCapNhat
FROM fields;

-- Trimmed, typed, then checked, each in a projection of its own: a check that named a typed
-- column of the same SELECT evaluated its macro again (DuckDB expands such an alias in place),
-- and so did stg_text's uses of its argument (see stg_trimmed).
CREATE OR REPLACE TEMP TABLE stg_payment AS
WITH trimmed AS (
    SELECT *,
           stg_trimmed(MaGiaoDich) AS MaGiaoDich_t, stg_trimmed(MaHoSo) AS MaHoSo_t,
           stg_trimmed(MaTTHC) AS MaTTHC_t, stg_trimmed(MaDonVi) AS MaDonVi_t,
           stg_trimmed(LoaiPhiLePhi) AS LoaiPhiLePhi_t,
           stg_trimmed(HinhThucThanhToan) AS HinhThucThanhToan_t,
           stg_trimmed(KenhThanhToan) AS KenhThanhToan_t, stg_trimmed(TrangThai) AS TrangThai_t
    FROM src_payment
),
typed AS (
    SELECT
        stg_code_trimmed(MaGiaoDich_t)                AS transaction_id,
        stg_code_trimmed(MaHoSo_t)                    AS dossier_id,
        stg_code_trimmed(MaTTHC_t)                    AS procedure_code,
        stg_code_trimmed(MaDonVi_t)                   AS agency_code,
        stg_amount_vnd(SoTien)                        AS amount_vnd,
        upper(stg_code_trimmed(LoaiPhiLePhi_t))       AS fee_type,
        lower(stg_code_trimmed(HinhThucThanhToan_t))  AS payment_method_code,
        upper(stg_code_trimmed(KenhThanhToan_t))      AS payment_portal,
        lower(stg_code_trimmed(TrangThai_t))          AS status,
        stg_local_ts(ThoiGianGD)                      AS transacted_at,
        -- NgayCapNhat is not a validity rule for payments: a missing or broken one falls back
        -- to the window the record was served in (it changed in that window).
        stg_local_ts(NgayCapNhat)                     AS updated_at_sent,
        window_start,
        record,
        row_id,
        file_path,
        NOT stg_is_blank(SoTien)                      AS SoTien_sent,
        NOT stg_is_blank(ThoiGianGD)                  AS ThoiGianGD_sent,
        NOT stg_is_blank(NgayCapNhat)                 AS NgayCapNhat_sent
    FROM trimmed
)
SELECT
    transaction_id, dossier_id, procedure_code, agency_code, amount_vnd, fee_type,
    payment_method_code, payment_portal, status, transacted_at,
    coalesce(updated_at_sent, window_start) AS updated_at,
    transaction_id                       AS record_key,
    window_start,
    record,
    row_id,
    file_path,
    updated_at                           AS state_at,
    -- What the rules of expectations/payment.json read besides the staged columns: the update
    -- time as sent, and whether a raw value was sent (the row conditions of the parse rules).
    updated_at_sent, SoTien_sent, ThoiGianGD_sent, NgayCapNhat_sent
FROM typed;

-- The narrow frame for GX: only the columns expectations/payment.json reads.
CREATE OR REPLACE TEMP VIEW chk_payment AS
SELECT row_id, window_start, record_key, amount_vnd, fee_type, payment_method_code,
       payment_portal, status, transacted_at, updated_at_sent, COLUMNS('_sent$')
FROM stg_payment;

DROP VIEW src_payment;
