-- reads: audit.quarantine
-- writes: view mart.quarantine_by_reason
-- Records set aside by validation, counted per window day, entity, agency and reason, so BI tools
-- report the quarantine from schema mart (decision 0061). Never the record itself: only the
-- agency code (MaDonVi) is read from the pseudonymized landed JSON. A record with two reasons
-- counts under each; a record quarantined again by a later run over the same window counts again
-- (audit.quarantine keeps one row per invalid record per run). Reasons are the suites' English
-- texts (meta.reason); their Vietnamese (meta.reason_vi) lives in expectations/*.json only.
CREATE OR REPLACE VIEW mart.quarantine_by_reason AS
WITH split AS (
    SELECT
        CAST(q.window_start AS DATE) AS window_day,
        q.entity,
        CASE WHEN json_valid(q.record)
             THEN nullif(trim(json_extract_string(q.record, '$.MaDonVi')), '')
        END AS agency_code,
        trim(r.reason) AS reason
    FROM audit.quarantine AS q,
         unnest(string_split(q.reasons, '; ')) AS r(reason)
)
SELECT
    window_day,
    CAST(date_trunc('month', window_day) AS DATE) AS window_month,
    entity,
    agency_code,
    reason,
    count(*) AS record_count
FROM split
GROUP BY ALL;
