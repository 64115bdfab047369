-- reads: nothing
-- writes: schemas core, mart, audit, intermediate; every core, audit and mart table
-- The warehouse as release v1.1 created it (sql/ddl/ before versioned migrations), the baseline.
-- Idempotent (IF NOT EXISTS throughout) because a warehouse made before audit.schema_version
-- runs it too before it is stamped (etl/warehouse.py). A change to a table is a new migration,
-- never an edit here: an existing warehouse would not see it.

-- Star schema (operations.md "Warehouse layout"). Timestamps are local Asia/Ho_Chi_Minh wall time
-- (TIMESTAMP without zone): every KPI is defined on local days, and Viet Nam has no DST.
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS mart;
CREATE SCHEMA IF NOT EXISTS audit;
-- The KPI rebuild's derived caches (sql/marts/month_terms.sql): kept apart from mart, which holds
-- kpi_value, kpi_target and views only (operations.md), so BI tools see no working tables.
CREATE SCHEMA IF NOT EXISTS intermediate;

-- Conformed calendar: one row per local day; holidays from sql/seed/vn_public_holidays.csv.
CREATE TABLE IF NOT EXISTS core.dim_date (
    date_key        INTEGER PRIMARY KEY,      -- yyyymmdd
    date            DATE NOT NULL UNIQUE,
    year            SMALLINT NOT NULL,
    quarter         SMALLINT NOT NULL,
    month           SMALLINT NOT NULL,
    day             SMALLINT NOT NULL,
    iso_day_of_week SMALLINT NOT NULL,        -- 1 Monday … 7 Sunday
    month_start     DATE NOT NULL,
    quarter_start   DATE NOT NULL,
    year_start      DATE NOT NULL,
    is_weekend      BOOLEAN NOT NULL,
    holiday_name    VARCHAR,                  -- null on ordinary days
    is_working_day  BOOLEAN NOT NULL
);

-- Agencies with their organisational history: historical agencies stay, with validity and
-- successor (the 1 July 2025 reorganization). One row per agency code.
-- is_inferred: created from a fact that referenced an unknown code; completed in place
-- (same agency_sk) when the reference list brings it.
CREATE SEQUENCE IF NOT EXISTS core.seq_agency_sk START 1;
CREATE TABLE IF NOT EXISTS core.dim_agency (
    agency_sk       BIGINT PRIMARY KEY DEFAULT nextval('core.seq_agency_sk'),
    agency_code     VARCHAR NOT NULL UNIQUE,
    agency_name     VARCHAR,
    agency_level    VARCHAR,                  -- TINH | HUYEN | XA
    parent_code     VARCHAR,
    valid_from      DATE,
    valid_to        DATE,                     -- inclusive; null = still valid
    successor_code  VARCHAR,
    is_inferred     BOOLEAN NOT NULL DEFAULT FALSE
);

-- Procedure catalogue, one row per version (versions of a code never overlap).
-- An inferred member has valid_from = 1900-01-01, valid_to null, is_inferred.
CREATE SEQUENCE IF NOT EXISTS core.seq_procedure_sk START 1;
CREATE TABLE IF NOT EXISTS core.dim_procedure (
    procedure_sk      BIGINT PRIMARY KEY DEFAULT nextval('core.seq_procedure_sk'),
    procedure_code    VARCHAR NOT NULL,
    valid_from        DATE NOT NULL,
    valid_to          DATE,                   -- inclusive; null = still valid
    procedure_name    VARCHAR,
    sector_code       VARCHAR,
    sector_name       VARCHAR,
    agency_levels     VARCHAR[],              -- CapThucHien
    service_level     VARCHAR,                -- TOAN_TRINH | MOT_PHAN | KHONG
    has_fee           BOOLEAN,
    online_payment    BOOLEAN,
    legal_days        INTEGER,
    is_inferred       BOOLEAN NOT NULL DEFAULT FALSE,
    is_internal       BOOLEAN,                -- NoiBo (v1.1): between state agencies; empty = false
    UNIQUE (procedure_code, valid_from)
);

CREATE TABLE IF NOT EXISTS core.dim_channel (
    channel_code  SMALLINT PRIMARY KEY,       -- KenhThucHien
    name_vi       VARCHAR NOT NULL,
    name_en       VARCHAR NOT NULL,
    is_online     BOOLEAN NOT NULL
);

CREATE TABLE IF NOT EXISTS core.dim_payment_method (
    payment_method_code VARCHAR PRIMARY KEY,  -- HinhThucThanhToan
    name_vi             VARCHAR NOT NULL,
    name_en             VARCHAR NOT NULL,
    is_online           BOOLEAN NOT NULL
);

-- Accumulating snapshot: one row per dossier, its latest valid state and its milestones.
CREATE TABLE IF NOT EXISTS core.fact_dossier (
    dossier_id          VARCHAR NOT NULL,     -- MaHoSo; unique (kept by the load, 050_facts.sql)
    procedure_code      VARCHAR NOT NULL,
    procedure_sk        BIGINT,               -- version valid on the received date; null if none
    agency_code         VARCHAR NOT NULL,     -- as recorded, even if the agency later merged
    agency_sk           BIGINT NOT NULL,
    channel_code        SMALLINT NOT NULL,
    remote_submission   BOOLEAN,              -- NopTuXa
    applicant_type      VARCHAR,
    applicant_key       VARCHAR,              -- keyed hash of the ID number; never the number
    submitted_at        TIMESTAMP,
    received_at         TIMESTAMP,
    due_at              TIMESTAMP,
    finished_at         TIMESTAMP,
    returned_at         TIMESTAMP,
    received_date_key   INTEGER,
    finished_date_key   INTEGER,
    returned_date_key   INTEGER,
    status              SMALLINT NOT NULL,    -- TrangThaiHoSo 1…10
    return_method       SMALLINT,             -- HinhThucTra 0 counter, 1 postal
    has_digitized       BOOLEAN,              -- HoSoCoThanhPhanSoHoa
    updated_at          TIMESTAMP NOT NULL,   -- NgayCapNhat of the state held
    run_id              VARCHAR NOT NULL,
    result_digitized    BOOLEAN               -- KetQuaSoHoa (v1.1); empty = false
);

-- One row per payment transaction, its latest valid state.
CREATE TABLE IF NOT EXISTS core.fact_payment (
    transaction_id       VARCHAR NOT NULL,    -- MaGiaoDich; unique (kept by the load, 050_facts.sql)
    dossier_id           VARCHAR,             -- may be empty or unknown (still valid)
    procedure_code       VARCHAR,
    procedure_sk         BIGINT,
    agency_code          VARCHAR,
    agency_sk            BIGINT,
    amount_vnd           BIGINT NOT NULL,
    fee_type             VARCHAR,             -- PHI | LE_PHI
    payment_method_code  VARCHAR NOT NULL,
    payment_portal       VARCHAR,             -- DVCQG | DVC_TINH
    status               VARCHAR NOT NULL,    -- khoi-tao | thanh-cong | that-bai | hoan-phi
    transacted_at        TIMESTAMP NOT NULL,
    transacted_date_key  INTEGER NOT NULL,
    updated_at           TIMESTAMP NOT NULL,
    run_id               VARCHAR NOT NULL
);

-- Paper-free pilot registrations (operations.md TTHC_PILOT_FILE), with their history: one row per
-- distinct readable registration per span of days on which the file held it. A run that reads
-- the file closes the rows it no longer holds (registered_to) and opens the new ones; the KPIs
-- read the current rows (registered_to IS NULL). Codes need not be in the reference lists.
CREATE SEQUENCE IF NOT EXISTS core.seq_pilot_sk START 1;
CREATE TABLE IF NOT EXISTS core.dim_pilot_registration (
    pilot_sk         BIGINT PRIMARY KEY DEFAULT nextval('core.seq_pilot_sk'),
    agency_code      VARCHAR NOT NULL,        -- MaDonVi
    procedure_code   VARCHAR NOT NULL,        -- MaTTHC
    start_date       DATE NOT NULL,           -- TuNgay
    end_date         DATE,                    -- DenNgay, inclusive; null = still running
    weekdays         SMALLINT[],              -- Thu as ISO days (1 Monday … 7 Sunday); null = every day
    line_number      INTEGER NOT NULL,        -- its first line in the file that registered it
    row_text         VARCHAR NOT NULL,        -- that line as written
    registered_from  DATE NOT NULL,           -- local day of the first run whose file held it
    registered_to    DATE,                    -- local day of the first run whose file no longer did
    run_id           VARCHAR NOT NULL         -- the run that opened it
);
-- The migrations applied (sql/migrations/NNNN_<name>.sql), one row each, written by
-- etl/warehouse.py after the file ran in the same transaction. applied_at is UTC wall time.
CREATE TABLE IF NOT EXISTS audit.schema_version (
    version     INTEGER PRIMARY KEY,
    name        VARCHAR NOT NULL,
    applied_at  TIMESTAMP NOT NULL
);

-- Audit (operations.md): counts that balance, quarantined records, validation results.
CREATE TABLE IF NOT EXISTS audit.run_counts (
    run_id        VARCHAR NOT NULL,
    entity        VARCHAR NOT NULL,           -- dossier | payment | agency | procedure | pilot
    window_start  TIMESTAMP NOT NULL,         -- local time
    window_end    TIMESTAMP NOT NULL,
    extracted     BIGINT NOT NULL,
    loaded        BIGINT NOT NULL,
    quarantined   BIGINT NOT NULL,
    duplicates    BIGINT NOT NULL,
    PRIMARY KEY (run_id, entity, window_start),
    CHECK (extracted = loaded + quarantined + duplicates)
);

CREATE TABLE IF NOT EXISTS audit.quarantine (
    run_id        VARCHAR NOT NULL,
    entity        VARCHAR NOT NULL,
    record_key    VARCHAR,                    -- null when the key itself is empty
    reasons       VARCHAR NOT NULL,           -- '; '-joined human-readable reasons
    record        VARCHAR NOT NULL,           -- the landed (pseudonymized) record, JSON
    window_start  TIMESTAMP,
    record_hash   VARCHAR NOT NULL,           -- sha256 of `record`: one row per invalid record per run
    PRIMARY KEY (run_id, entity, record_hash)
);

CREATE TABLE IF NOT EXISTS audit.validation_result (
    run_id            VARCHAR NOT NULL,
    entity            VARCHAR NOT NULL,
    expectation       VARCHAR NOT NULL,       -- expectation type
    column_name       VARCHAR,
    blocking          BOOLEAN NOT NULL,
    success           BOOLEAN NOT NULL,
    element_count     BIGINT,
    unexpected_count  BIGINT,
    reason            VARCHAR,
    PRIMARY KEY (run_id, entity, expectation, column_name)
);

-- Periods whose KPI rows must be rebuilt: written by load (old and new state of every record it
-- touched), consumed by kpi.rebuild_pending in the same transaction as the rebuild.
CREATE TABLE IF NOT EXISTS audit.kpi_dirty_period (
    period_type   VARCHAR NOT NULL,           -- month | quarter | year
    period_start  DATE NOT NULL,
    PRIMARY KEY (period_type, period_start)
);
-- KPI contract (kpis.md): the shape of these two tables is fixed.
CREATE TABLE IF NOT EXISTS mart.kpi_target (
    kpi_code  VARCHAR PRIMARY KEY,
    target    DOUBLE,
    source    VARCHAR
);

-- One row per (period_type, period_start, agency_code, kpi_code). The grain holds by
-- construction (each KPI file groups by it; replace_values.sql deletes a period before inserting
-- it), and the tests check it; no PRIMARY KEY: its index made a refresh's delete and reinsert of
-- a few thousand rows, and their commit, cost about as much as computing them. A warehouse
-- created with the key keeps it and works the same.
CREATE TABLE IF NOT EXISTS mart.kpi_value (
    period_type   VARCHAR NOT NULL,
    period_start  DATE NOT NULL,
    agency_code   VARCHAR NOT NULL,
    kpi_code      VARCHAR NOT NULL,
    numerator     DOUBLE NOT NULL,
    denominator   BIGINT NOT NULL,
    value         DOUBLE NOT NULL,
    target        DOUBLE,
    met           BOOLEAN
);
