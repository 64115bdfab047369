-- reads: core.dim_agency
-- writes: view mart.agency
-- The agencies as BI tools need them (names, levels, the hierarchy and reorganization links), so
-- a dataset reads schema mart only (decision 0061). core.dim_agency keeps one row per agency code
-- (a historical agency stays with its validity and successor); the QUALIFY keeps one row per code
-- should a code ever come twice, the one valid last.
CREATE OR REPLACE VIEW mart.agency AS
SELECT
    agency_code,
    agency_name,
    agency_level,
    CASE agency_level
        WHEN 'TINH' THEN 'Cấp tỉnh'
        WHEN 'HUYEN' THEN 'Cấp huyện'
        WHEN 'XA' THEN 'Cấp xã'
        ELSE 'Chưa rõ cấp'
    END AS agency_level_vi,
    parent_code,
    valid_from,
    valid_to,
    valid_to IS NULL AS is_current,
    successor_code,
    is_inferred
FROM core.dim_agency
QUALIFY row_number() OVER (
    PARTITION BY agency_code
    ORDER BY valid_to IS NULL DESC, valid_to DESC, valid_from DESC NULLS LAST, agency_sk DESC
) = 1;
