"""bench's summary table: medians of repeated runs, and for each target how many runs met it,
condition by condition where the target has several."""
from __future__ import annotations

from bench import RESULTS, Row, median_rows, record, summary_table, verdict


def test_verdict_counts_the_runs_and_names_the_conditions_missed():
    assert verdict([]) == ""
    assert verdict([{"<10s": True}]) == "MET"
    assert verdict([{"<10s": False}]) == "MISSED"
    assert verdict([{"<10s": True}, {"<10s": False}, {"<10s": True}]) == "MET 2/3"
    assert verdict([{"a": True, "b": True}] * 3) == "MET 3/3"
    assert verdict([{"a": False, "b": True, "c": False}]) == "MISSED (a, c)"
    assert verdict([{"a": True, "b": False}, {"a": False, "b": False}, {"a": True, "b": False}]) == (
        "MET 0/3 (a 2/3, b 0/3)"
    )


def test_a_year_that_misses_one_condition_of_four_says_which():
    target = "<120s, >=0.5x LIMIT, >=20x NAIVE, <2GiB"
    runs = [
        Row("backfill 12 months", seconds, 4_550_552, 837.0, {"LIMIT": 140.0}, target,
            {"<120s": seconds < 120, ">=0.5x LIMIT": True, ">=20x NAIVE": False, "<2GiB": True})
        for seconds in (138.3, 103.2, 150.5)
    ]
    ((row, count, status),) = median_rows(runs)
    assert (row.ours_s, count, row.baselines) == (138.3, 3, {"LIMIT": 140.0})
    assert status == "MET 0/3 (<120s 1/3, >=0.5x LIMIT 3/3, >=20x NAIVE 0/3, <2GiB 3/3)"
    assert status in summary_table(runs)


def test_record_takes_one_verdict_or_one_per_condition():
    single = record("KPI rebuild_all", 3.2, 10, None, None, "<10s", True)
    several = record("backfill", 138.3, 10, None, None, "<120s, <2GiB", {"<120s": False, "<2GiB": True})
    try:
        assert single.checks == {"<10s": True}
        assert several.checks == {"<120s": False, "<2GiB": True}
        assert [status for _, _, status in median_rows([single, several])] == ["MET", "MISSED (<120s)"]
    finally:
        RESULTS.remove(single)
        RESULTS.remove(several)
