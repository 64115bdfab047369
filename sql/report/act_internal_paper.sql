-- reads: core.fact_dossier, core.dim_procedure, core.dim_agency
-- writes: nothing: a query whose rows are the result
-- Internal procedures (NoiBo) offered online (MucDoDVC TOAN_TRINH or MOT_PHAN) that still received
-- paper dossiers (KenhThucHien 1 or 3) in [$period_start, $period_end): the city decision (Art.
-- 2.2) has them received online only. Received and versions as INTERNAL_ONLINE_RATE (kpis.md):
-- TrangThaiHoSo not 1 or 3, the version valid on the local NgayTiepNhan date, not inferred.
-- Params: $period_start, $period_end.
SELECT
    f.agency_code,
    any_value(a.agency_name) AS agency_name,
    any_value(a.agency_code IS NULL OR a.is_inferred) AS unknown_agency,
    f.procedure_code,
    arg_max(v.procedure_name, f.received_at) AS procedure_name,
    arg_max(v.service_level, f.received_at) AS service_level,
    count(*) AS paper_received
FROM core.fact_dossier AS f
JOIN core.dim_procedure AS v
    ON v.procedure_code = f.procedure_code
   AND v.valid_from <= f.received_at::DATE
   AND (v.valid_to IS NULL OR v.valid_to >= f.received_at::DATE)
LEFT JOIN core.dim_agency AS a ON a.agency_code = f.agency_code
WHERE f.status NOT IN (1, 3)
  AND f.received_at >= $period_start AND f.received_at < $period_end
  AND f.channel_code IN (1, 3)
  AND v.is_internal AND v.service_level IN ('TOAN_TRINH', 'MOT_PHAN') AND NOT v.is_inferred
GROUP BY f.agency_code, f.procedure_code
ORDER BY f.agency_code, paper_received DESC, f.procedure_code;
