-- reads: core.fact_dossier, core.fact_payment
-- writes: nothing: a query whose rows are the result
-- The data's freshness: the latest NgayCapNhat loaded, over both facts. No params.
SELECT max(updated_at) AS latest_update
FROM (
    SELECT max(updated_at) AS updated_at FROM core.fact_dossier
    UNION ALL
    SELECT max(updated_at) FROM core.fact_payment
);
