-- reads: nothing
-- writes: core.dim_procedure, core.fact_dossier (columns)
-- Source contract v1.1 columns on a warehouse made before them (v1.0 created these tables
-- without them; 0001's CREATE … IF NOT EXISTS leaves an existing table as it was). Rows loaded
-- before hold NULL, read as false. A no-op on a warehouse 0001 created.
ALTER TABLE core.dim_procedure ADD COLUMN IF NOT EXISTS is_internal BOOLEAN;
ALTER TABLE core.fact_dossier ADD COLUMN IF NOT EXISTS result_digitized BOOLEAN;
