-- reads: the batch's agency.parquet (parameter load_file)
-- writes: load_agency
INSERT INTO load_agency BY NAME
SELECT agency_code, agency_name, agency_level, parent_code, valid_from, valid_to, successor_code,
       record_key, window_start, is_valid, reasons, superseded, record, record_hash
FROM read_parquet($load_file);
