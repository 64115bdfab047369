"""An independent oracle for mart.kpi_value, and incremental runs against full rebuilds.

The oracle shares no code with the pipeline: it fetches every record straight from the emulator's
export API with requests, parses and validates it per source-api.md in plain Python, keeps each
key's latest state, and computes every row of kpis.md with dictionaries. The pipeline's table must
have exactly the same rows: same keys, same counts, sums of days equal to 1e-9.
"""
from __future__ import annotations

import dataclasses
from datetime import date


from etl import kpi, pipeline
from support.kpi_oracle import V11_KPIS, assert_same_rows, full_rebuild_of, oracle, table

def test_kpi_values_equal_an_independent_oracle(emulator_factory, settings_for):
    start, end = date(2023, 1, 1), date(2023, 3, 1)
    emu = emulator_factory(seed=23, start=start.isoformat(), end=end.isoformat(), dossiers_per_day=15)
    settings = settings_for(emu)
    pipeline.run(settings, start, end, progress=False)
    expected = oracle(emu, start, end)
    # The v1.1 KPIs have an oracle of their own (test_kpi_oracle_pilot.py); this run has no pilot.
    got = {k: v for k, v in table(settings.warehouse).items() if k[3] not in V11_KPIS}
    assert {k[3] for k in got} == set(kpi.KPI_FILES) - V11_KPIS, "every KPI has rows"
    assert_same_rows(got, expected)
    # The published copy is the same table.
    assert {k: v for k, v in table(settings.published).items() if k[3] not in V11_KPIS} == got


def test_incremental_runs_equal_a_full_rebuild(emulator_factory, settings_for, tmp_path):
    pilot_file = tmp_path / "pilot.csv"  # the pilot KPI is rebuilt incrementally too
    emu = emulator_factory(seed=5, start="2023-01-01", end="2023-03-01", dossiers_per_day=12,
                           extra=["--now", "2023-02-01", "--pilot-file", str(pilot_file)])
    settings = dataclasses.replace(settings_for(emu), pilot_file=pilot_file)
    pipeline.run(settings, date(2023, 1, 1), date(2023, 2, 1), progress=False)
    first = table(settings.warehouse)
    assert first == full_rebuild_of(settings.warehouse, tmp_path)

    # Two weeks later: dossiers of January move on (finished, returned, paid, refunded), so the
    # new windows change periods already built.
    for window_start, window_end in ((date(2023, 2, 1), date(2023, 2, 15)),
                                     (date(2023, 2, 15), date(2023, 3, 1))):
        emu.control("clock", {"advance_days": (window_end - window_start).days})
        pipeline.run(settings, window_start, window_end, progress=False)
        incremental = table(settings.warehouse)
        assert incremental == full_rebuild_of(settings.warehouse, tmp_path)
    changed_january = [k for k in first if k[1] == date(2023, 1, 1) and first[k] != incremental.get(k)]
    assert changed_january, "the later runs were meant to change January's figures"
    assert {k[3] for k in incremental} == set(kpi.KPI_FILES), "every KPI, the pilot's included"
