-- reads: the batch's dossier.parquet (parameter load_file)
-- writes: load_dossier
INSERT INTO load_dossier BY NAME
SELECT dossier_id, procedure_code, agency_code, channel_code, remote_submission, applicant_type,
       applicant_key, submitted_at, received_at, due_at, finished_at, returned_at, updated_at,
       status, return_method, has_digitized, result_digitized,
       record_key, window_start, is_valid, reasons, superseded, record, record_hash
FROM read_parquet($load_file);
