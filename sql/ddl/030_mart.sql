-- KPI contract (kpis.md): the shape of these two tables is fixed.
CREATE TABLE IF NOT EXISTS mart.kpi_target (
    kpi_code  VARCHAR PRIMARY KEY,
    target    DOUBLE,
    source    VARCHAR
);

CREATE TABLE IF NOT EXISTS mart.kpi_value (
    period_type   VARCHAR NOT NULL,
    period_start  DATE NOT NULL,
    agency_code   VARCHAR NOT NULL,
    kpi_code      VARCHAR NOT NULL,
    numerator     DOUBLE NOT NULL,
    denominator   BIGINT NOT NULL,
    value         DOUBLE NOT NULL,
    target        DOUBLE,
    met           BOOLEAN,
    PRIMARY KEY (period_type, period_start, agency_code, kpi_code)
);
