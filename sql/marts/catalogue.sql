-- reads: kpi_build_period, core.dim_procedure, core.dim_agency
-- writes: kpi_catalogue, kpi_agency_on_day, kpi_catalogue_by_level
-- Catalogue on the last day d of each period: procedure versions valid on d. Inferred members
-- (codes seen only on facts) are not part of any catalogue.
CREATE OR REPLACE TEMP VIEW kpi_catalogue AS
SELECT p.period_type, p.period_start, v.*
FROM kpi_build_period AS p
JOIN core.dim_procedure AS v
    ON v.valid_from <= p.period_end
   AND (v.valid_to IS NULL OR v.valid_to >= p.period_end)
WHERE NOT v.is_inferred;

-- Agencies of /donvi valid on d, with their level (CapDonVi). An agency row without a start date
-- is taken as valid since always, as one without an end date is valid until further notice.
CREATE OR REPLACE TEMP VIEW kpi_agency_on_day AS
SELECT p.period_type, p.period_start, a.agency_code, a.agency_level
FROM kpi_build_period AS p
JOIN core.dim_agency AS a
    ON (a.valid_from IS NULL OR a.valid_from <= p.period_end)
   AND (a.valid_to IS NULL OR a.valid_to >= p.period_end)
WHERE NOT a.is_inferred;

-- The catalogue of an agency depends only on its level: per period and level, the versions
-- whose CapThucHien contains that level.
CREATE OR REPLACE TEMP VIEW kpi_catalogue_by_level AS
SELECT c.*, l.agency_level
FROM kpi_catalogue AS c
JOIN (SELECT DISTINCT agency_level FROM core.dim_agency WHERE agency_level IS NOT NULL) AS l
    ON list_contains(c.agency_levels, l.agency_level);
