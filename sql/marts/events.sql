-- The shared definitions of kpis.md as views over the facts, one row per (record, period to
-- build) it falls in. Each fact is paired with its month, quarter and year and hash-joined to
-- the periods to build: an equi-join streams over tens of millions of facts, a range join would not.
-- The min/max bounds only let DuckDB skip row groups outside the periods being built.

-- Received in P: local NgayTiepNhan date in P, TrangThaiHoSo not 1 (registered) or 3 (rejected).
CREATE OR REPLACE TEMP VIEW kpi_received AS
SELECT p.period_type, p.period_start, f.*
FROM core.fact_dossier AS f
CROSS JOIN (SELECT DISTINCT period_type FROM kpi_build_period) AS g
JOIN kpi_build_period AS p
    ON p.period_type = g.period_type
   AND p.period_start = date_trunc(g.period_type, f.received_at)::DATE
WHERE f.status NOT IN (1, 3)
  AND f.received_at >= (SELECT min(period_start) FROM kpi_build_period)
  AND f.received_at < (SELECT max(period_end) FROM kpi_build_period) + 1;

-- Finished in P: TrangThaiHoSo 9 or 10 and local NgayKetThucXuLy date in P.
CREATE OR REPLACE TEMP VIEW kpi_finished AS
SELECT p.period_type, p.period_start, f.*
FROM core.fact_dossier AS f
CROSS JOIN (SELECT DISTINCT period_type FROM kpi_build_period) AS g
JOIN kpi_build_period AS p
    ON p.period_type = g.period_type
   AND p.period_start = date_trunc(g.period_type, f.finished_at)::DATE
WHERE f.status IN (9, 10)
  AND f.finished_at >= (SELECT min(period_start) FROM kpi_build_period)
  AND f.finished_at < (SELECT max(period_end) FROM kpi_build_period) + 1;

-- Returned in P: TrangThaiHoSo 10 with local NgayTra date in P.
CREATE OR REPLACE TEMP VIEW kpi_returned AS
SELECT p.period_type, p.period_start, f.*
FROM core.fact_dossier AS f
CROSS JOIN (SELECT DISTINCT period_type FROM kpi_build_period) AS g
JOIN kpi_build_period AS p
    ON p.period_type = g.period_type
   AND p.period_start = date_trunc(g.period_type, f.returned_at)::DATE
WHERE f.status = 10
  AND f.returned_at >= (SELECT min(period_start) FROM kpi_build_period)
  AND f.returned_at < (SELECT max(period_end) FROM kpi_build_period) + 1;

-- Successful in P: TrangThai thanh-cong and local ThoiGianGD date in P. Agency and procedure are
-- the payment's own MaDonVi and MaTTHC (agency_code may be null: such a payment counts for `*` only).
CREATE OR REPLACE TEMP VIEW kpi_payment_success AS
SELECT p.period_type, p.period_start, f.*, f.payment_method_code = 'truc-tuyen' AS is_online
FROM core.fact_payment AS f
CROSS JOIN (SELECT DISTINCT period_type FROM kpi_build_period) AS g
JOIN kpi_build_period AS p
    ON p.period_type = g.period_type
   AND p.period_start = date_trunc(g.period_type, f.transacted_at)::DATE
WHERE f.status = 'thanh-cong'
  AND f.transacted_at >= (SELECT min(period_start) FROM kpi_build_period)
  AND f.transacted_at < (SELECT max(period_end) FROM kpi_build_period) + 1;

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
