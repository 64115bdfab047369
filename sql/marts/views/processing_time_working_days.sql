-- reads: core.dim_date, core.fact_dossier
-- writes: views mart.dossier_processing_time, mart.processing_time_working_days
-- Processing time in WORKING days, online vs offline (in person or postal), per month finished
-- and agency (and `*`): the comparison Art. 2 of the city decision asks for. Working days come
-- from core.dim_date.is_working_day (weekends and public holidays, Tết included, are not).
-- A dossier's working days are those after its received day up to and including its finished
-- day (the statutory count starts the working day after reception); both days must be in the
-- calendar. Dossiers are those of AVG_DAYS_*: finished (9/10) with a NgayTiepNhan.

-- One row per such dossier: the base of this file's view and of processing_time_by_procedure.sql.
CREATE OR REPLACE VIEW mart.dossier_processing_time AS
WITH calendar AS (
    SELECT date, sum(CASE WHEN is_working_day THEN 1 ELSE 0 END) OVER (ORDER BY date) AS working_day_number
    FROM core.dim_date
)
SELECT
    date_trunc('month', f.finished_at)::DATE AS month_start,
    f.agency_code,
    f.procedure_code,
    f.channel_code,
    e.working_day_number - s.working_day_number AS working_days,
    date_diff('second', f.received_at, f.finished_at) / 86400.0 AS calendar_days
FROM core.fact_dossier AS f
JOIN calendar AS s ON s.date = f.received_at::DATE
JOIN calendar AS e ON e.date = f.finished_at::DATE
WHERE f.status IN (9, 10) AND f.received_at IS NOT NULL;

CREATE OR REPLACE VIEW mart.processing_time_working_days AS
WITH finished AS (
    SELECT month_start, agency_code, working_days, calendar_days,
           CASE WHEN channel_code = 2 THEN 'online' ELSE 'offline' END AS channel_group
    FROM mart.dossier_processing_time
)
SELECT
    month_start,
    CASE WHEN grouping(agency_code) = 1 THEN '*' ELSE agency_code END AS agency_code,
    channel_group,
    count(*) AS dossiers,
    sum(working_days) AS working_days_total,
    avg(working_days) AS avg_working_days,
    avg(calendar_days) AS avg_calendar_days
FROM finished
GROUP BY GROUPING SETS ((month_start, agency_code, channel_group), (month_start, channel_group));
