-- reads: the batch's payment.parquet (parameter load_file)
-- writes: load_payment
INSERT INTO load_payment BY NAME
SELECT transaction_id, dossier_id, procedure_code, agency_code, amount_vnd, fee_type,
       payment_method_code, payment_portal, status, transacted_at, updated_at,
       record_key, window_start, is_valid, reasons, superseded, record, record_hash
FROM read_parquet($load_file);
