-- Is online processing faster than paper, procedure by procedure (city decision Art. 2.7)? Reads
-- core.fact_dossier, core.dim_date and core.dim_procedure; gives, per month finished and
-- procedure (MaTTHC, all agencies together), the dossiers finished online (KenhThucHien 2) and on
-- paper (1 or 3) side by side: counts, average calendar days (seconds / 86400, as AVG_DAYS_*) and
-- average working days (as mart.processing_time_working_days: the working days after the received
-- day up to and including the finished day, from core.dim_date.is_working_day; both days must be
-- in the calendar). Dossiers as AVG_DAYS_*: finished (9/10) in the month with a NgayTiepNhan.
-- Only procedures with dossiers of both channels finished in the month are listed. online_faster:
-- fewer average working days online than on paper (the statutory count; ties are not faster).
-- procedure_name is that of the code's latest version in the catalogue (null when none).
CREATE OR REPLACE VIEW mart.processing_time_by_procedure AS
WITH calendar AS (
    SELECT date, sum(CASE WHEN is_working_day THEN 1 ELSE 0 END) OVER (ORDER BY date) AS working_day_number
    FROM core.dim_date
),
finished AS (
    SELECT
        date_trunc('month', f.finished_at)::DATE AS month_start,
        f.procedure_code,
        f.channel_code = 2 AS online,
        e.working_day_number - s.working_day_number AS working_days,
        date_diff('second', f.received_at, f.finished_at) / 86400.0 AS calendar_days
    FROM core.fact_dossier AS f
    JOIN calendar AS s ON s.date = f.received_at::DATE
    JOIN calendar AS e ON e.date = f.finished_at::DATE
    WHERE f.status IN (9, 10) AND f.received_at IS NOT NULL AND f.channel_code IN (1, 2, 3)
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
