-- reads: kpi_catalogue_by_level, kpi_agency_on_day, kpi_catalogue
-- writes: nothing: its rows (period, agency, kpi_code, numerator, denominator) go to kpi_result
-- DVCTT_COVERAGE (kpis.md): share of the catalogue offered as an online public service.
-- On the last day d of P: numerator = catalogue versions with MucDoDVC TOAN_TRINH or MOT_PHAN,
-- denominator = the catalogue. The catalogue of agency A is the versions valid on d whose
-- CapThucHien contains A's CapDonVi (A valid on d); for `*` every version valid on d.
WITH by_level AS (
    SELECT
        period_type, period_start, agency_level,
        count(*) FILTER (WHERE service_level IN ('TOAN_TRINH', 'MOT_PHAN')) AS numerator,
        count(*) AS denominator
    FROM kpi_catalogue_by_level
    GROUP BY ALL
)
SELECT a.period_type, a.period_start, a.agency_code, 'DVCTT_COVERAGE' AS kpi_code,
       b.numerator, b.denominator
FROM kpi_agency_on_day AS a
JOIN by_level AS b USING (period_type, period_start, agency_level)
UNION ALL
SELECT period_type, period_start, '*', 'DVCTT_COVERAGE',
       count(*) FILTER (WHERE service_level IN ('TOAN_TRINH', 'MOT_PHAN')),
       count(*)
FROM kpi_catalogue
GROUP BY ALL
