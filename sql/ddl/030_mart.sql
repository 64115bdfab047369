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
