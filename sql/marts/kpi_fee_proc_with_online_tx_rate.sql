-- reads: kpi_catalogue_by_level, core.fact_payment, kpi_catalogue, kpi_period_month,
--        kpi_agency_on_day; parameters period_end, period_first
-- writes: nothing: its rows (period, agency, kpi_code, numerator, denominator) go to kpi_result
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
-- The distinct (agency, fee-bearing catalogue version on d) pairs with an online payment
-- successful in P: a count of distinct procedures over the whole period, which month counts do
-- not add up to, so the payments of the built periods are read here (bounds from
-- periods_build.sql). They are read once, whatever the periods: per (year, agency, MaTTHC), the
-- months of the year with such a payment as a 12-bit mask; a pair counts for P when its mask
-- meets P's months (every period lies within one year). That keeps each payment out of a join
-- per period it falls in (a month, its quarter, its year). Only MaTTHC with a fee-bearing
-- version in a built period's catalogue can count: the others are left out before the grouping.
pair_months AS MATERIALIZED (
    SELECT date_trunc('year', transacted_at)::DATE AS year_start, agency_code, procedure_code,
           bit_or(1 << (month(transacted_at) - 1)) AS months
    FROM core.fact_payment
    WHERE status = 'thanh-cong' AND payment_method_code = 'truc-tuyen'
      AND procedure_code IN (SELECT procedure_code FROM kpi_catalogue WHERE has_fee)
      AND transacted_at >= $period_first
      AND transacted_at < $period_end
    GROUP BY ALL
),
period_months AS (
    SELECT period_type, period_start, date_trunc('year', period_start)::DATE AS year_start,
           bit_or(1 << (month(month_start) - 1)) AS months
    FROM kpi_period_month
    GROUP BY ALL
),
-- The fee-bearing catalogue, each version with a number for its CapThucHien list: the pairs
-- below carry that integer rather than the list.
fee_catalogue AS MATERIALIZED (
    SELECT period_type, period_start, procedure_code, procedure_sk, agency_levels,
           dense_rank() OVER (ORDER BY agency_levels) AS level_set
    FROM kpi_catalogue
    WHERE has_fee
),
-- Materialized so the planner cannot pair every agency with every catalogue version.
online_fee_tx AS MATERIALIZED (
    SELECT p.period_type, p.period_start, f.agency_code, c.procedure_sk, c.level_set
    FROM period_months AS p
    JOIN fee_catalogue AS c USING (period_type, period_start)
    JOIN pair_months AS f ON f.year_start = p.year_start AND f.procedure_code = c.procedure_code
    WHERE (f.months & p.months) <> 0
),
-- Counted per (agency, CapThucHien list) before the agencies are joined, so that join meets a
-- few rows per agency whatever the planner guesses of the pairs (decision 0033).
level_pairs AS (
    SELECT period_type, period_start, agency_code, level_set, count(*) AS pairs
    FROM online_fee_tx
    GROUP BY ALL
),
agency_numerator AS (
    SELECT a.period_type, a.period_start, a.agency_code, sum(t.pairs) AS numerator
    FROM level_pairs AS t
    JOIN (SELECT DISTINCT level_set, agency_levels FROM fee_catalogue) AS l USING (level_set)
    JOIN kpi_agency_on_day AS a USING (period_type, period_start, agency_code)
    WHERE list_contains(l.agency_levels, a.agency_level)
    GROUP BY ALL
),
all_numerator AS (
    SELECT period_type, period_start, count(DISTINCT procedure_sk) AS numerator
    FROM online_fee_tx
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
