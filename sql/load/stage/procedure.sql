-- reads: the batch's procedure.parquet (parameter load_file)
-- writes: load_procedure
INSERT INTO load_procedure BY NAME
SELECT procedure_code, valid_from, valid_to, procedure_name, sector_code, sector_name,
       agency_levels, service_level, has_fee, online_payment, legal_days, is_internal,
       record_key, window_start, is_valid, reasons, superseded, record, record_hash
FROM read_parquet($load_file);
