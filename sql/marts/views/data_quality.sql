-- reads: core.fact_dossier, core.dim_procedure
-- writes: views mart.dq_dossier_without_procedure_version, mart.dq_finished_without_received
-- Data-quality findings kpis.md asks to report: the records a KPI had to leave out.

-- Received dossiers whose MaTTHC has no catalogue version valid on the received date: left out
-- of DOSSIER_ONLINE_PAYMENT_RATE only.
CREATE OR REPLACE VIEW mart.dq_dossier_without_procedure_version AS
SELECT f.dossier_id, f.agency_code, f.procedure_code, f.received_at
FROM core.fact_dossier AS f
WHERE f.status NOT IN (1, 3)
  AND f.received_at IS NOT NULL
  AND NOT EXISTS (
      SELECT 1 FROM core.dim_procedure AS v
      WHERE v.procedure_code = f.procedure_code
        AND NOT v.is_inferred
        AND v.valid_from <= f.received_at::DATE
        AND (v.valid_to IS NULL OR v.valid_to >= f.received_at::DATE)
  );

-- Finished dossiers without NgayTiepNhan: left out of AVG_DAYS_ONLINE / AVG_DAYS_OFFLINE only.
CREATE OR REPLACE VIEW mart.dq_finished_without_received AS
SELECT f.dossier_id, f.agency_code, f.procedure_code, f.channel_code, f.finished_at
FROM core.fact_dossier AS f
WHERE f.status IN (9, 10) AND f.finished_at IS NOT NULL AND f.received_at IS NULL;
