"""bench/bench_backfill.py: the month the year's peak memory is judged against is the year's busiest."""
from __future__ import annotations

from datetime import date

from bench.bench_backfill import busiest_month


def test_the_busiest_month_is_the_one_with_most_records_and_spans_the_whole_month():
    counts = {date(2024, 1, 1): 220_000, date(2024, 2, 1): 330_000, date(2024, 12, 1): 345_000}
    assert busiest_month(counts) == (date(2024, 12, 1), date(2025, 1, 1))
    del counts[date(2024, 12, 1)]
    assert busiest_month(counts) == (date(2024, 2, 1), date(2024, 3, 1))


def test_of_equally_busy_months_the_earliest_is_taken():
    counts = {date(2024, 7, 1): 5, date(2024, 3, 1): 5, date(2024, 1, 1): 4}
    assert busiest_month(counts) == (date(2024, 3, 1), date(2024, 4, 1))
