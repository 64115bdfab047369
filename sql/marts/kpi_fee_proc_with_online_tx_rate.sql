-- FEE_PROC_WITH_ONLINE_TX_RATE (kpis.md): share of fee-bearing procedures that saw an online
-- payment. denominator = catalogue versions at the end of P with CoPhiLePhi; numerator = of those
-- procedures, the ones with >= 1 online payment successful in P, matched on the payment's own
-- MaTTHC — at A itself (the payment's MaDonVi) for an agency, at any agency for `*`.
-- Versions of one MaTTHC never overlap, so on d a version stands for its procedure.
WITH fee_by_level AS (
    SELECT period_type, period_start, agency_level, count(*) AS denominator
    FROM kpi_catalogue_by_level
    WHERE has_fee
    GROUP BY ALL
),
-- The distinct (agency, procedure) pairs with an online payment in P: the union of its months.
online_tx AS (
    SELECT DISTINCT p.period_type, p.period_start, t.agency_code, t.procedure_code
    FROM kpi_online_tx_month AS t
    JOIN kpi_period_month AS p USING (month_start)
),
-- Each pair with its fee-bearing version on d first, then the agency's level: materialized so
-- the planner cannot pair every agency with every catalogue version (agencies x versions rows).
online_fee_tx AS MATERIALIZED (
    SELECT t.period_type, t.period_start, t.agency_code, c.agency_levels
    FROM online_tx AS t
    JOIN kpi_catalogue AS c
        ON c.period_type = t.period_type
       AND c.period_start = t.period_start
       AND c.procedure_code = t.procedure_code
    WHERE c.has_fee AND t.agency_code IS NOT NULL
),
agency_numerator AS (
    SELECT a.period_type, a.period_start, a.agency_code, count(*) AS numerator
    FROM online_fee_tx AS t
    JOIN kpi_agency_on_day AS a USING (period_type, period_start, agency_code)
    WHERE list_contains(t.agency_levels, a.agency_level)
    GROUP BY ALL
),
all_numerator AS (
    SELECT c.period_type, c.period_start, count(*) AS numerator
    FROM kpi_catalogue AS c
    SEMI JOIN online_tx AS t
        ON t.period_type = c.period_type
       AND t.period_start = c.period_start
       AND t.procedure_code = c.procedure_code
    WHERE c.has_fee
    GROUP BY ALL
)
SELECT a.period_type, a.period_start, a.agency_code, 'FEE_PROC_WITH_ONLINE_TX_RATE' AS kpi_code,
       coalesce(n.numerator, 0) AS numerator, d.denominator
FROM kpi_agency_on_day AS a
JOIN fee_by_level AS d USING (period_type, period_start, agency_level)
LEFT JOIN agency_numerator AS n USING (period_type, period_start, agency_code)
UNION ALL
SELECT c.period_type, c.period_start, '*', 'FEE_PROC_WITH_ONLINE_TX_RATE',
       coalesce(any_value(n.numerator), 0), count(*)
FROM kpi_catalogue AS c
LEFT JOIN all_numerator AS n USING (period_type, period_start)
WHERE c.has_fee
GROUP BY c.period_type, c.period_start
