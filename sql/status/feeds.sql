-- reads: audit.run_counts, core.fact_dossier, core.fact_payment
-- writes: nothing: a query whose rows are the result
-- Per feed: the last local day loaded (the latest window's end) and the latest NgayCapNhat held.
WITH windows AS (
    SELECT entity, max(window_end) AS loaded_until
    FROM audit.run_counts
    WHERE entity IN ('dossier', 'payment')
    GROUP BY entity
), latest AS (
    SELECT 'dossier' AS entity, max(updated_at) AS latest_update FROM core.fact_dossier
    UNION ALL
    SELECT 'payment', max(updated_at) FROM core.fact_payment
)
SELECT latest.entity, windows.loaded_until, latest.latest_update
FROM latest LEFT JOIN windows USING (entity)
ORDER BY latest.entity;
