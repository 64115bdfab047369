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
