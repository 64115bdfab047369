-- reads: mart.dossier_processing_time, core.dim_procedure
-- writes: views mart.processing_time_by_procedure
-- Is online processing faster than paper, procedure by procedure (city decision Art. 2.7)? Reads
-- mart.dossier_processing_time (processing_time_working_days.sql: the dossiers of AVG_DAYS_*, with
-- their calendar and working days) and core.dim_procedure; gives, per month finished and
-- procedure (MaTTHC, all agencies together), the dossiers finished online (KenhThucHien 2) and on
-- paper (1 or 3) side by side: counts, average calendar days and average working days.
-- Only procedures with dossiers of both channels finished in the month are listed. online_faster:
-- fewer average working days online than on paper (the statutory count; ties are not faster).
-- procedure_name is that of the code's latest version in the catalogue (null when none).
CREATE OR REPLACE VIEW mart.processing_time_by_procedure AS
WITH finished AS (
    SELECT month_start, procedure_code, channel_code = 2 AS online, working_days, calendar_days
    FROM mart.dossier_processing_time
),
per_procedure AS (
    SELECT
        month_start,
        procedure_code,
        count(*) FILTER (WHERE online) AS online_finished,
        count(*) FILTER (WHERE NOT online) AS paper_finished,
        avg(calendar_days) FILTER (WHERE online) AS online_avg_calendar_days,
        avg(calendar_days) FILTER (WHERE NOT online) AS paper_avg_calendar_days,
        avg(working_days) FILTER (WHERE online) AS online_avg_working_days,
        avg(working_days) FILTER (WHERE NOT online) AS paper_avg_working_days
    FROM finished
    GROUP BY ALL
),
procedure_name AS (
    SELECT procedure_code, arg_max(procedure_name, valid_from) AS procedure_name
    FROM core.dim_procedure
    WHERE NOT is_inferred
    GROUP BY procedure_code
)
SELECT
    p.month_start,
    p.procedure_code,
    n.procedure_name,
    p.online_finished,
    p.paper_finished,
    p.online_avg_calendar_days,
    p.paper_avg_calendar_days,
    p.online_avg_working_days,
    p.paper_avg_working_days,
    p.paper_avg_working_days - p.online_avg_working_days AS working_days_saved_online,
    p.online_avg_working_days < p.paper_avg_working_days AS online_faster
FROM per_procedure AS p
LEFT JOIN procedure_name AS n USING (procedure_code)
WHERE p.online_finished > 0 AND p.paper_finished > 0;
