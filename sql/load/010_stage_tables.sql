-- reads: nothing
-- writes: load_date_key, load_dossier, load_payment, load_agency, load_procedure, load_pilot,
--         load_window, load_validation
-- Typed work tables for one staged batch (docs/ARCHITECTURE.md "Staged batch"). Temporary: they
-- live only inside the loading transaction's connection. The batch's parquet files are read into
-- them by stage_<entity>.sql; a file that holds no window of its entity leaves its table empty.
CREATE OR REPLACE TEMP MACRO load_date_key(ts) AS
    CAST(year(ts) * 10000 + month(ts) * 100 + day(ts) AS INTEGER);

CREATE OR REPLACE TEMP TABLE load_dossier (
    dossier_id VARCHAR, procedure_code VARCHAR, agency_code VARCHAR,
    channel_code SMALLINT, remote_submission BOOLEAN, applicant_type VARCHAR, applicant_key VARCHAR,
    submitted_at TIMESTAMP, received_at TIMESTAMP, due_at TIMESTAMP, finished_at TIMESTAMP,
    returned_at TIMESTAMP, updated_at TIMESTAMP,
    status SMALLINT, return_method SMALLINT, has_digitized BOOLEAN, result_digitized BOOLEAN,
    record_key VARCHAR, window_start TIMESTAMP, is_valid BOOLEAN, reasons VARCHAR,
    superseded BOOLEAN, record VARCHAR, record_hash VARCHAR
);

CREATE OR REPLACE TEMP TABLE load_payment (
    transaction_id VARCHAR, dossier_id VARCHAR, procedure_code VARCHAR, agency_code VARCHAR,
    amount_vnd BIGINT, fee_type VARCHAR, payment_method_code VARCHAR, payment_portal VARCHAR,
    status VARCHAR, transacted_at TIMESTAMP, updated_at TIMESTAMP,
    record_key VARCHAR, window_start TIMESTAMP, is_valid BOOLEAN, reasons VARCHAR,
    superseded BOOLEAN, record VARCHAR, record_hash VARCHAR
);

CREATE OR REPLACE TEMP TABLE load_agency (
    agency_code VARCHAR, agency_name VARCHAR, agency_level VARCHAR, parent_code VARCHAR,
    valid_from DATE, valid_to DATE, successor_code VARCHAR,
    record_key VARCHAR, window_start TIMESTAMP, is_valid BOOLEAN, reasons VARCHAR,
    superseded BOOLEAN, record VARCHAR, record_hash VARCHAR
);

CREATE OR REPLACE TEMP TABLE load_procedure (
    procedure_code VARCHAR, valid_from DATE, valid_to DATE, procedure_name VARCHAR,
    sector_code VARCHAR, sector_name VARCHAR, agency_levels VARCHAR[], service_level VARCHAR,
    has_fee BOOLEAN, online_payment BOOLEAN, legal_days INTEGER, is_internal BOOLEAN,
    record_key VARCHAR, window_start TIMESTAMP, is_valid BOOLEAN, reasons VARCHAR,
    superseded BOOLEAN, record VARCHAR, record_hash VARCHAR
);

-- pilot.parquet: one row per record of the pilot registration file (etl/pilot.py).
CREATE OR REPLACE TEMP TABLE load_pilot (
    line_number INTEGER, agency_code VARCHAR, procedure_code VARCHAR, start_date DATE,
    end_date DATE, weekdays SMALLINT[], row_text VARCHAR,
    record_key VARCHAR, window_start TIMESTAMP, is_valid BOOLEAN, reasons VARCHAR,
    superseded BOOLEAN, record VARCHAR, record_hash VARCHAR
);

-- windows.json: the manifest counts of every landed window of the batch.
CREATE OR REPLACE TEMP TABLE load_window (
    entity VARCHAR NOT NULL, window_start TIMESTAMP NOT NULL, window_end TIMESTAMP NOT NULL,
    extracted BIGINT NOT NULL, duplicates BIGINT NOT NULL
);

-- validation.json: one row per expectation run.
CREATE OR REPLACE TEMP TABLE load_validation (
    entity VARCHAR, expectation VARCHAR, column_name VARCHAR, blocking BOOLEAN, success BOOLEAN,
    element_count BIGINT, unexpected_count BIGINT, reason VARCHAR
);
