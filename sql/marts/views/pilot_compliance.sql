-- reads: mart.kpi_value, core.dim_date, core.dim_pilot_registration, core.fact_dossier,
--        core.dim_procedure, core.dim_agency
-- writes: views mart.pilot_compliance, mart.pilot_agency_registrations
-- The paper-free pilot (city decision Art. 2.3; operations.md "Paper-free pilot registrations"):
-- reads core.dim_pilot_registration (its current rows, registered_to null), core.fact_dossier,
-- core.dim_date, core.dim_procedure, core.dim_agency and the months of mart.kpi_value; gives how
-- each registered pair kept its pilot days, and which agencies registered the two procedures the
-- decision asks of each.

-- Each current registered (agency, procedure) pair in each month with data (a month of
-- mart.kpi_value, kpis.md "Periods") that has pilot days for it: pilot_days = the days of the
-- month covered by the pair's rows combined (within [start_date, end_date], on a listed weekday;
-- none listed = every day). The pair's dossiers received (kpis.md) on those days, each once, the
-- online (KenhThucHien 2) and paper (1 or 3) ones among them, and the paper ones' MaHoSo (no
-- personal data), sorted: the dossiers the office should not have taken on paper (the pairs'
-- PILOT_PAPER_FREE_RATE misses). service_level is the MucDoDVC of the procedure's latest version
-- valid in the month (registering one that is not TOAN_TRINH is the office's mistake to see);
-- null for a code without a version in the catalogue.
CREATE OR REPLACE VIEW mart.pilot_compliance AS
WITH data_month AS (
    SELECT DISTINCT period_start AS month_start FROM mart.kpi_value WHERE period_type = 'month'
),
data_day AS (
    SELECT d.date, d.date_key, d.month_start, d.iso_day_of_week
    FROM core.dim_date AS d
    SEMI JOIN data_month AS m ON m.month_start = d.month_start
),
pilot_day AS (
    SELECT DISTINCT r.agency_code, r.procedure_code, d.month_start, d.date, d.date_key
    FROM core.dim_pilot_registration AS r
    JOIN data_day AS d
        ON d.date >= r.start_date
       AND (r.end_date IS NULL OR d.date <= r.end_date)
       AND (r.weekdays IS NULL OR list_contains(r.weekdays, d.iso_day_of_week))
    WHERE r.registered_to IS NULL
),
pair_month AS (
    SELECT agency_code, procedure_code, month_start, count(*) AS pilot_days
    FROM pilot_day
    GROUP BY ALL
),
on_pilot_day AS (
    SELECT p.agency_code, p.procedure_code, p.month_start, f.dossier_id, f.channel_code
    FROM pilot_day AS p
    JOIN core.fact_dossier AS f
        ON f.agency_code = p.agency_code
       AND f.procedure_code = p.procedure_code
       AND f.received_date_key = p.date_key
    WHERE f.status NOT IN (1, 3)
),
kept AS (
    SELECT
        agency_code,
        procedure_code,
        month_start,
        count(*) AS received_on_pilot_days,
        count(*) FILTER (WHERE channel_code = 2) AS online_on_pilot_days,
        count(*) FILTER (WHERE channel_code IN (1, 3)) AS paper_on_pilot_days,
        list(dossier_id ORDER BY dossier_id) FILTER (WHERE channel_code IN (1, 3)) AS paper_dossier_ids
    FROM on_pilot_day
    GROUP BY ALL
),
version AS (
    SELECT m.month_start, v.procedure_code, arg_max(v.service_level, v.valid_from) AS service_level
    FROM core.dim_procedure AS v
    JOIN data_month AS m
        ON v.valid_from <= last_day(m.month_start)
       AND (v.valid_to IS NULL OR v.valid_to >= m.month_start)
    WHERE NOT v.is_inferred
    GROUP BY ALL
)
SELECT
    p.agency_code,
    p.procedure_code,
    p.month_start,
    v.service_level,
    p.pilot_days,
    coalesce(k.received_on_pilot_days, 0) AS received_on_pilot_days,
    coalesce(k.online_on_pilot_days, 0) AS online_on_pilot_days,
    coalesce(k.paper_on_pilot_days, 0) AS paper_on_pilot_days,
    coalesce(k.paper_dossier_ids, []::VARCHAR[]) AS paper_dossier_ids
FROM pair_month AS p
LEFT JOIN kept AS k USING (agency_code, procedure_code, month_start)
LEFT JOIN version AS v USING (procedure_code, month_start);

-- Every agency with its number of distinct current registered (agency, procedure) pairs, and
-- fewer_than_two when it has not registered the two the decision asks of each agency. Agencies
-- are those of /donvi (not inferred) valid today or at some time within the data (the span of
-- the received dates), with 0 when none registered, plus any code seen only in a current
-- registration (in_agency_list false: not, or not yet, in /donvi). registered_toan_trinh counts
-- the registered procedures whose version valid today is TOAN_TRINH (what Art. 2.3 asks for).
CREATE OR REPLACE VIEW mart.pilot_agency_registrations AS
WITH data_span AS (
    SELECT min(received_at)::DATE AS first_day, max(received_at)::DATE AS last_day
    FROM core.fact_dossier
    WHERE status NOT IN (1, 3)
),
listed AS (
    SELECT a.agency_code
    FROM core.dim_agency AS a, data_span AS s
    WHERE NOT a.is_inferred
      AND (
          ((a.valid_from IS NULL OR a.valid_from <= current_date)
           AND (a.valid_to IS NULL OR a.valid_to >= current_date))
          OR ((a.valid_from IS NULL OR a.valid_from <= s.last_day)
              AND (a.valid_to IS NULL OR a.valid_to >= s.first_day))
      )
),
registered AS (
    SELECT DISTINCT agency_code, procedure_code
    FROM core.dim_pilot_registration
    WHERE registered_to IS NULL
),
current_version AS (
    SELECT procedure_code, service_level
    FROM core.dim_procedure
    WHERE NOT is_inferred AND valid_from <= current_date AND (valid_to IS NULL OR valid_to >= current_date)
),
per_agency AS (
    SELECT
        r.agency_code,
        count(*) AS registered_procedures,
        count(*) FILTER (WHERE v.service_level = 'TOAN_TRINH') AS registered_toan_trinh
    FROM registered AS r
    LEFT JOIN current_version AS v USING (procedure_code)
    GROUP BY r.agency_code
),
agency AS (
    SELECT agency_code FROM listed
    UNION
    SELECT agency_code FROM per_agency
)
SELECT
    g.agency_code,
    a.agency_name,
    a.agency_level,
    g.agency_code IN (SELECT agency_code FROM listed) AS in_agency_list,
    coalesce(p.registered_procedures, 0) AS registered_procedures,
    coalesce(p.registered_toan_trinh, 0) AS registered_toan_trinh,
    coalesce(p.registered_procedures, 0) < 2 AS fewer_than_two
FROM agency AS g
LEFT JOIN per_agency AS p USING (agency_code)
LEFT JOIN core.dim_agency AS a ON a.agency_code = g.agency_code;
