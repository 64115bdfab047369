-- The shared definitions of kpis.md as views over the facts: one row per (record, period to build)
-- it falls in. Each fact is paired with its month, its quarter and its year (one UNION ALL branch
-- each) and hash-joined to the periods to build: an equi-join streams over tens of millions of
-- facts, where a join on a computed period type or a range join would not.
-- The per-type bounds (variables set in periods_build.sql, constants once bound) let DuckDB skip
-- row groups outside the periods being built; a type with nothing to build has NULL bounds and
-- reads nothing.

-- Received in P: local NgayTiepNhan date in P, TrangThaiHoSo not 1 (registered) or 3 (rejected).
CREATE OR REPLACE TEMP VIEW kpi_received AS
SELECT e.*
FROM (
    SELECT 'month' AS period_type, date_trunc('month', f.received_at)::DATE AS period_start, f.*
    FROM core.fact_dossier AS f
    WHERE f.status NOT IN (1, 3)
      AND f.received_at >= getvariable('kpi_month_first')
      AND f.received_at < getvariable('kpi_month_end')
    UNION ALL
    SELECT 'quarter' AS period_type, date_trunc('quarter', f.received_at)::DATE AS period_start, f.*
    FROM core.fact_dossier AS f
    WHERE f.status NOT IN (1, 3)
      AND f.received_at >= getvariable('kpi_quarter_first')
      AND f.received_at < getvariable('kpi_quarter_end')
    UNION ALL
    SELECT 'year' AS period_type, date_trunc('year', f.received_at)::DATE AS period_start, f.*
    FROM core.fact_dossier AS f
    WHERE f.status NOT IN (1, 3)
      AND f.received_at >= getvariable('kpi_year_first')
      AND f.received_at < getvariable('kpi_year_end')
) AS e
SEMI JOIN kpi_build_period AS p
    ON p.period_type = e.period_type AND p.period_start = e.period_start;

-- Finished in P: TrangThaiHoSo 9 or 10 and local NgayKetThucXuLy date in P.
CREATE OR REPLACE TEMP VIEW kpi_finished AS
SELECT e.*
FROM (
    SELECT 'month' AS period_type, date_trunc('month', f.finished_at)::DATE AS period_start, f.*
    FROM core.fact_dossier AS f
    WHERE f.status IN (9, 10)
      AND f.finished_at >= getvariable('kpi_month_first')
      AND f.finished_at < getvariable('kpi_month_end')
    UNION ALL
    SELECT 'quarter' AS period_type, date_trunc('quarter', f.finished_at)::DATE AS period_start, f.*
    FROM core.fact_dossier AS f
    WHERE f.status IN (9, 10)
      AND f.finished_at >= getvariable('kpi_quarter_first')
      AND f.finished_at < getvariable('kpi_quarter_end')
    UNION ALL
    SELECT 'year' AS period_type, date_trunc('year', f.finished_at)::DATE AS period_start, f.*
    FROM core.fact_dossier AS f
    WHERE f.status IN (9, 10)
      AND f.finished_at >= getvariable('kpi_year_first')
      AND f.finished_at < getvariable('kpi_year_end')
) AS e
SEMI JOIN kpi_build_period AS p
    ON p.period_type = e.period_type AND p.period_start = e.period_start;

-- Returned in P: TrangThaiHoSo 10 with local NgayTra date in P.
CREATE OR REPLACE TEMP VIEW kpi_returned AS
SELECT e.*
FROM (
    SELECT 'month' AS period_type, date_trunc('month', f.returned_at)::DATE AS period_start, f.*
    FROM core.fact_dossier AS f
    WHERE f.status = 10
      AND f.returned_at >= getvariable('kpi_month_first')
      AND f.returned_at < getvariable('kpi_month_end')
    UNION ALL
    SELECT 'quarter' AS period_type, date_trunc('quarter', f.returned_at)::DATE AS period_start, f.*
    FROM core.fact_dossier AS f
    WHERE f.status = 10
      AND f.returned_at >= getvariable('kpi_quarter_first')
      AND f.returned_at < getvariable('kpi_quarter_end')
    UNION ALL
    SELECT 'year' AS period_type, date_trunc('year', f.returned_at)::DATE AS period_start, f.*
    FROM core.fact_dossier AS f
    WHERE f.status = 10
      AND f.returned_at >= getvariable('kpi_year_first')
      AND f.returned_at < getvariable('kpi_year_end')
) AS e
SEMI JOIN kpi_build_period AS p
    ON p.period_type = e.period_type AND p.period_start = e.period_start;

-- Successful in P: TrangThai thanh-cong and local ThoiGianGD date in P. Agency and procedure are
-- the payment's own MaDonVi and MaTTHC (agency_code may be null: such a payment counts for `*` only).
CREATE OR REPLACE TEMP VIEW kpi_payment_success AS
SELECT e.*
FROM (
    SELECT 'month' AS period_type, date_trunc('month', f.transacted_at)::DATE AS period_start, f.*,
        f.payment_method_code = 'truc-tuyen' AS is_online
    FROM core.fact_payment AS f
    WHERE f.status = 'thanh-cong'
      AND f.transacted_at >= getvariable('kpi_month_first')
      AND f.transacted_at < getvariable('kpi_month_end')
    UNION ALL
    SELECT 'quarter' AS period_type, date_trunc('quarter', f.transacted_at)::DATE AS period_start, f.*,
        f.payment_method_code = 'truc-tuyen' AS is_online
    FROM core.fact_payment AS f
    WHERE f.status = 'thanh-cong'
      AND f.transacted_at >= getvariable('kpi_quarter_first')
      AND f.transacted_at < getvariable('kpi_quarter_end')
    UNION ALL
    SELECT 'year' AS period_type, date_trunc('year', f.transacted_at)::DATE AS period_start, f.*,
        f.payment_method_code = 'truc-tuyen' AS is_online
    FROM core.fact_payment AS f
    WHERE f.status = 'thanh-cong'
      AND f.transacted_at >= getvariable('kpi_year_first')
      AND f.transacted_at < getvariable('kpi_year_end')
) AS e
SEMI JOIN kpi_build_period AS p
    ON p.period_type = e.period_type AND p.period_start = e.period_start;

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
