"""An independent oracle for the three KPIs of December 2026 and the paper-free pilot file.

INTERNAL_ONLINE_RATE, PILOT_PAPER_FREE_RATE and DIGITIZED_RESULT_RATE (kpis.md), the v1.1 fields
NoiBo and KetQuaSoHoa (source-api.md) and the pilot registrations of TTHC_PILOT_FILE
(operations.md, "Paper-free pilot registrations"). As in test_kpi_oracle, nothing here shares code
with the pipeline: records come straight from the emulator's export API (fetched and parsed by
test_kpi_oracle's test helpers), the new fields and the pilot CSV are read here in plain Python
(the CSV with the `csv` module), and the rows of mart.kpi_value are computed with dictionaries.
"""
from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import date


from etl import pipeline
from etl.warehouse import connect
from support.kpi_oracle import (
    assert_same_rows,
    full_rebuild_of,
    periods_of,
    table,
)
from support.kpi_oracle_pilot import (
    NEW_KPIS, OLD_KPIS, PILOT_COLUMNS, as_lists, assert_quarantine_matches, busiest_pairs,
    emulator_writes_pilot_files, handcrafted_readable, handcrafted_unreadable, new_kpis, only,
    quarantined_pilot_rows, read_pilot, received_on, served, v1_export_of, write_csv,
)


# --- the tests ------------------------------------------------------------------------------------

def test_new_kpis_equal_an_independent_oracle(emulator_factory, settings_for, tmp_path):
    start, end = date(2023, 1, 1), date(2023, 4, 1)
    pilot_path = tmp_path / "pilot.csv"
    from_emulator = emulator_writes_pilot_files()
    emu = emulator_factory(seed=31, start=start.isoformat(), end=end.isoformat(), dossiers_per_day=20,
                           extra=["--pilot-file", str(pilot_path)] if from_emulator else None)
    data = served(emu, start, end)
    if from_emulator:
        assert pilot_path.exists(), "the emulator was asked to write the pilot file"
        assert read_pilot(pilot_path)[1], "operations.md: the emulator's file has a few unreadable rows"
    else:  # until the emulator writes one: a handcrafted file with a few unreadable rows
        header = list(PILOT_COLUMNS)
        bad, raw = handcrafted_unreadable(data, start)
        write_csv(pilot_path, header, as_lists(header, handcrafted_readable(data, start) + bad[:3]), raw[:1])
    pilot, unreadable = read_pilot(pilot_path)
    assert pilot, "the pilot file has readable rows"

    settings = dataclasses.replace(settings_for(emu), pilot_file=pilot_path)
    pipeline.run(settings, start, end, progress=False)
    expected = new_kpis(data, pilot)
    got = table(settings.warehouse)

    for kpi_code in NEW_KPIS:
        assert any(k[3] == kpi_code for k in expected), f"the oracle has no {kpi_code} rows: choose other data"
    assert {k[3] for k in got} == OLD_KPIS | NEW_KPIS, "every KPI has rows"
    assert_same_rows(only(got, NEW_KPIS), expected)
    assert table(settings.published) == got, "the published copy is the same table"
    assert_quarantine_matches(settings.warehouse, unreadable)

    con = connect(settings.warehouse, read_only=True)
    try:
        targets = dict(con.execute("SELECT kpi_code, target FROM mart.kpi_target").fetchall())
    finally:
        con.close()
    assert targets.get("INTERNAL_ONLINE_RATE") == 1.0 and targets.get("PILOT_PAPER_FREE_RATE") == 1.0
    assert targets.get("DIGITIZED_RESULT_RATE") is None


def test_unreadable_pilot_rows_are_quarantined_with_line_and_reason(emulator_factory, settings_for, tmp_path):
    start, end = date(2023, 3, 1), date(2023, 5, 1)
    emu = emulator_factory(seed=37, start=start.isoformat(), end=end.isoformat(), dossiers_per_day=20)
    data = served(emu, start, end)
    readable = handcrafted_readable(data, start)
    bad, raw = handcrafted_unreadable(data, start)
    # Columns in another order than operations.md's table, a byte-order mark, readable and
    # unreadable rows interleaved.
    header = ["Thu", "MaTTHC", "DenNgay", "MaDonVi", "TuNgay"]
    rows: list[dict] = []
    for i in range(max(len(readable), len(bad))):
        rows.extend(([readable[i]] if i < len(readable) else []) + ([bad[i]] if i < len(bad) else []))
    pilot_path = write_csv(tmp_path / "pilot.csv", header, as_lists(header, rows), raw, bom=True)
    pilot, unreadable = read_pilot(pilot_path)
    assert len(pilot) == len(readable) and len(unreadable) == len(bad) + len(raw), "the oracle reads its own file"
    assert {u.line for u in unreadable} == set(range(2, 2 + len(rows) + len(raw))) - {r.line for r in pilot}

    settings = dataclasses.replace(settings_for(emu), pilot_file=pilot_path)
    pipeline.run(settings, start, end, progress=False)
    assert_quarantine_matches(settings.warehouse, unreadable)

    # The readable rows still count, and the unreadable ones not at all.
    got = only(table(settings.warehouse), {"PILOT_PAPER_FREE_RATE"})
    assert got, "the pilot KPI has rows"
    assert_same_rows(got, only(new_kpis(data, pilot), {"PILOT_PAPER_FREE_RATE"}))


def test_v1_export_and_no_pilot_file_keep_working(emulator_factory, settings_for, tmp_path):
    start, end = date(2023, 1, 1), date(2023, 2, 1)  # one month: three runs
    emu = emulator_factory(seed=41, start=start.isoformat(), end=end.isoformat(), dossiers_per_day=20)

    # A v1 export (no NoiBo, no KetQuaSoHoa: "reads as false / 0") and no pilot file.
    v1 = v1_export_of(emu)
    try:
        v1_data = served(v1, start, end)
        v1_settings = dataclasses.replace(settings_for(emu, tmp_path / "v1"), api_url=v1.url, pilot_file=None)
        pipeline.run(v1_settings, start, end, progress=False)
    finally:
        v1.server.shutdown()
        v1.server.server_close()
    v1_expected = new_kpis(v1_data, [])
    assert {k[3] for k in v1_expected} == {"DIGITIZED_RESULT_RATE"}, "a v1 export has no internal procedure"
    assert all(v[0] == 0 for v in v1_expected.values()), "nor a digitized result"
    v1_got = table(v1_settings.warehouse)
    assert {k[3] for k in v1_got} == OLD_KPIS | {"DIGITIZED_RESULT_RATE"}, "all other KPIs have rows"
    assert_same_rows(only(v1_got, NEW_KPIS), v1_expected)
    assert not quarantined_pilot_rows(v1_settings.warehouse)

    # The v1.1 export with a pilot file path that does not exist.
    data = served(emu, start, end)
    expected = new_kpis(data, [])
    assert {k[3] for k in expected} == {"INTERNAL_ONLINE_RATE", "DIGITIZED_RESULT_RATE"}
    missing = dataclasses.replace(settings_for(emu, tmp_path / "missing"),
                                  pilot_file=tmp_path / "no-such-dir" / "pilot.csv")
    pipeline.run(missing, start, end, progress=False)
    got = table(missing.warehouse)
    assert {k[3] for k in got} == OLD_KPIS | {"INTERNAL_ONLINE_RATE", "DIGITIZED_RESULT_RATE"}
    assert_same_rows(only(got, NEW_KPIS), expected)
    assert not quarantined_pilot_rows(missing.warehouse)
    # The v1.1 fields change nothing else.
    assert only(got, OLD_KPIS) == only(v1_got, OLD_KPIS), "the old KPIs are the same from both exports"

    # An empty file is no pilot either.
    empty_file = tmp_path / "empty.csv"
    empty_file.write_bytes(b"")
    pipeline.run(dataclasses.replace(missing, pilot_file=empty_file), start, end, progress=False)
    assert table(missing.warehouse) == got, "an empty file is no pilot"
    assert not quarantined_pilot_rows(missing.warehouse)


def test_changing_one_pilot_row_changes_exactly_the_periods_it_touches(emulator_factory, settings_for, tmp_path):
    # Three months across a year end: December 2022 (Q4, 2022), January and February 2023.
    start, end = date(2022, 12, 1), date(2023, 3, 1)
    emu = emulator_factory(seed=43, start=start.isoformat(), end=end.isoformat(), dossiers_per_day=20)
    data = served(emu, start, end)

    # The pair changed: one with dossiers received after 15 January; its first row covers
    # December and January every day, its second (the same pair, combined) Mondays from February.
    per_pair: dict[tuple, list[date]] = defaultdict(list)
    for d in data.dossiers:
        if (received := received_on(d)) is not None:
            per_pair[(d["agency"], d["procedure"])].append(received)
    changed_pair = max(
        (p for p, days in per_pair.items() if any(date(2023, 1, 16) <= r <= date(2023, 1, 31) for r in days)
         and any(r.year == 2022 for r in days) and any(r.month == 2 for r in days)),
        key=lambda p: (len(per_pair[p]), p))
    others = [p for p in busiest_pairs(data) if p != changed_pair][:3]
    header = list(PILOT_COLUMNS)
    rows = [
        [*changed_pair, "1/12/2022", "31/1/2023", ""],
        [*changed_pair, "2023-02-01", "", "2"],
        [*others[0], "2022-12-01", "", "T3,T5,T7"],
        [*others[1], "5/12/2022", "2023-02-20", "CN,Thứ 2"],
        [*others[2], "2022-12-01", "", "Chủ nhật,2,T3,4,5,6,7"],
        [*others[0], "2022-12-01", "", "T9"],  # unreadable, stays so
    ]
    pilot_path = write_csv(tmp_path / "pilot.csv", header, rows)
    settings = dataclasses.replace(settings_for(emu), pilot_file=pilot_path)
    pipeline.run(settings, start, end, progress=False)
    before = table(settings.warehouse)
    assert_same_rows(only(before, {"PILOT_PAPER_FREE_RATE"}),
                     only(new_kpis(data, read_pilot(pilot_path)[0]), {"PILOT_PAPER_FREE_RATE"}))

    # The office ends the first row's pilot on 15 January instead of 31 January: only dates of
    # January 2023 change (16-31 January are no longer pilot days for that pair).
    rows[0] = [*changed_pair, "1/12/2022", "2023-01-15", ""]
    write_csv(pilot_path, header, rows)
    pilot = read_pilot(pilot_path)[0]
    pipeline.run(settings, start, end, progress=False)
    after = table(settings.warehouse)

    assert after == full_rebuild_of(settings.warehouse, tmp_path), "the run equals a full rebuild"
    assert_same_rows(only(after, {"PILOT_PAPER_FREE_RATE"}),
                     only(new_kpis(data, pilot), {"PILOT_PAPER_FREE_RATE"}))
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert changed, "ending the pilot earlier was meant to change January's figures"
    touched = set(periods_of(date(2023, 1, 16)))  # January 2023, Q1 2023, 2023
    outside = sorted(k for k in changed if (k[0], k[1]) not in touched)
    assert not outside, f"rows outside the periods the change touches changed: {outside[:5]}"
    assert {k[3] for k in changed} == {"PILOT_PAPER_FREE_RATE"}, "only the pilot KPI changes"
    assert {(k[0], k[1]) for k in changed} == touched, "the month, its quarter and its year all change"
