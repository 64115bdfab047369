-- reads: mart.kpi_value
-- writes: views mart.kpi_gap_unit, mart.kpi_gap
-- How far each missed target is, in the records people act on: reads mart.kpi_value; gives, for
-- every row with a target not met (met false; KPIs without a target, such as AVG_DAYS_*, have
-- none), records_needed = the fewest more records on the numerator's side (of the same
-- denominator: a paper dossier filed online instead, a fee procedure given online payment, …)
-- that would meet it: the smallest integer n with (numerator + n) / denominator >= target, i.e.
-- ceil(target * denominator - numerator). The 1e-6 keeps an exact hit from asking one record more
-- (0.55 * 100 - 54 is 1.000000000000007 in floating point: ceil would say 2, where 55 / 100 meets
-- 0.55); numerators and denominators are counts and targets have two decimals, so the exact
-- difference is never within 1e-6 above an integer. gap_pts = the gap in percentage points.

-- What a numerator record of each KPI is, in Vietnamese and English: the one place for them. Every
-- KPI of mart.kpi_target needs its row here (tests/test_mart_views_act.py checks it); those
-- without a target have one ready. AVG_DAYS_* have none: their numerator is a sum of days, and a
-- target there would be a ceiling, not a floor, so mart.kpi_gap leaves them out.
CREATE OR REPLACE VIEW mart.kpi_gap_unit AS
SELECT * FROM (VALUES
    ('ONLINE_REMOTE_RATE',           'hồ sơ nộp trực tuyến từ xa',                             'dossiers filed online remotely'),
    ('ONLINE_RATE',                  'hồ sơ nộp trực tuyến',                                   'dossiers filed online'),
    ('POSTAL_RECEIPT_RATE',          'hồ sơ nộp qua bưu chính công ích',                       'dossiers filed by post'),
    ('DIGITIZED_RATE',               'hồ sơ có thành phần được số hóa',                        'dossiers with digitized components'),
    ('DVCTT_COVERAGE',               'TTHC được cung cấp dịch vụ công trực tuyến',             'procedures offered as online public services'),
    ('FEE_PROC_ONLINE_PAYABLE_RATE', 'TTHC có phí được thanh toán trực tuyến',                 'fee procedures with online payment enabled'),
    ('FEE_PROC_WITH_ONLINE_TX_RATE', 'TTHC có phí phát sinh giao dịch thanh toán trực tuyến',  'fee procedures with an online payment'),
    ('ONLINE_PAYMENT_TX_RATE',       'giao dịch thanh toán trực tuyến',                        'payments made online'),
    ('DOSSIER_ONLINE_PAYMENT_RATE',  'hồ sơ có phí được thanh toán trực tuyến',                'fee dossiers paid online'),
    ('ON_TIME_RATE',                 'hồ sơ giải quyết đúng hạn',                              'dossiers finished on time'),
    ('POSTAL_RETURN_RATE',           'hồ sơ trả kết quả qua bưu chính công ích',               'results returned by post'),
    ('INTERNAL_ONLINE_RATE',         'hồ sơ TTHC nội bộ nộp trực tuyến',                       'internal-procedure dossiers filed online'),
    ('PILOT_PAPER_FREE_RATE',        'hồ sơ nộp trực tuyến trong ngày thí điểm',               'dossiers filed online on pilot days'),
    ('DIGITIZED_RESULT_RATE',        'kết quả giải quyết được số hóa',                         'results digitized')
) AS t(kpi_code, unit_vi, unit_en);

CREATE OR REPLACE VIEW mart.kpi_gap AS
SELECT
    v.period_type,
    v.period_start,
    v.agency_code,
    v.kpi_code,
    v.numerator,
    v.denominator,
    v.value,
    v.target,
    100 * (v.target - v.value) AS gap_pts,
    CAST(greatest(ceil(v.target * v.denominator - v.numerator - 1e-6), 0) AS BIGINT) AS records_needed,
    u.unit_vi,
    u.unit_en
FROM mart.kpi_value AS v
JOIN mart.kpi_gap_unit AS u USING (kpi_code)
WHERE v.target IS NOT NULL AND NOT v.met;
