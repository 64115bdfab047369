-- reads: the batch's pilot.parquet (parameter load_file)
-- writes: load_pilot
INSERT INTO load_pilot BY NAME
SELECT line_number, agency_code, procedure_code, start_date, end_date, weekdays, row_text,
       record_key, window_start, is_valid, reasons, superseded, record, record_hash
FROM read_parquet($load_file);
