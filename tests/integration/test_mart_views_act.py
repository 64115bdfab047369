"""The mart views that say what to do next: mart.focus_procedure (city decision Art. 2.4),
mart.pilot_compliance and mart.pilot_agency_registrations (Art. 2.3), mart.processing_time_by_procedure
(Art. 2.7) and mart.kpi_gap (the missed targets, in records).

One real emulator and one pipeline run over January 2023 serve every test (they only read, or
roll back what they change). The pilot registration file is written from the dossiers the
emulator serves; the expectations are computed here in Python from the fact rows, the calendar,
the catalogue and that file's rows, not from the views' SQL.
"""
from __future__ import annotations

import dataclasses
import unicodedata
from collections import Counter, defaultdict
from datetime import date, timedelta

import pandas as pd
import pytest
import requests

from support import TEST_PII_KEY, start_emulator
from etl import kpi, pipeline
from etl.config import Settings
from etl.warehouse import connect, transaction

START, END = date(2023, 1, 1), date(2023, 2, 1)
UNKNOWN_AGENCY = "ZZ.PILOT.ONLY"  # a code only the pilot file knows
PAPER = (1, 3)
ONLINE_SERVICE = ("TOAN_TRINH", "MOT_PHAN")


def nfc(value) -> str | None:
    if value is None or not str(value).strip():
        return None
    return unicodedata.normalize("NFC", str(value).strip())


def served_paper_pairs(emu) -> Counter:
    """(MaDonVi, MaTTHC) of the served dossiers on paper (KenhThucHien 1 or 3), counted."""
    pairs: Counter = Counter()
    page = 1
    while True:
        response = requests.get(
            f"{emu.url}/api/v1/hoso", timeout=60,
            headers={"Authorization": f"Bearer {emu.token}"},
            params={"tuNgay": f"{START}T00:00:00+07:00", "denNgay": f"{END}T00:00:00+07:00",
                    "trang": page, "soBanGhi": 5000},
        )
        response.raise_for_status()
        records = response.json()["duLieu"]
        if not records:
            return pairs
        for record in records:
            agency, procedure = nfc(record.get("MaDonVi")), nfc(record.get("MaTTHC"))
            if agency and procedure and str(record.get("KenhThucHien")).strip() in ("1", "3"):
                pairs[(agency, procedure)] += 1
        page += 1


def pilot_rows(paper_pairs: Counter) -> tuple[list[tuple], list[str]]:
    """The registrations (agency, procedure, start, end, ISO weekdays or None) and the CSV lines.

    Agency A registers two procedures, the first in two overlapping rows (Wednesdays between 10
    and 20 January are in both); agency B one (its second row names an unknown day: unreadable);
    UNKNOWN_AGENCY one.
    """
    by_agency: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for (agency, procedure), n in paper_pairs.items():
        by_agency[agency].append((n, procedure))
    ranked = sorted(by_agency, key=lambda a: (-sum(n for n, _ in by_agency[a]), a))
    a = ranked[0]
    b = next(code for code in ranked[1:] if code != a)
    a1, a2 = [p for _, p in sorted(by_agency[a], key=lambda t: (-t[0], t[1]))[:2]]
    b1 = sorted(by_agency[b], key=lambda t: (-t[0], t[1]))[0][1]
    rows = [
        (a, a1, date(2023, 1, 1), date(2023, 1, 20), (1, 3)),      # Mon, Wed
        (a, a1, date(2023, 1, 10), None, (3, 5, 7)),               # Wed, Fri, Sun
        (a, a2, date(2023, 1, 5), date(2023, 1, 25), None),        # every day
        (b, b1, date(2023, 1, 1), None, (1, 2, 3, 4, 5)),          # Mon … Fri
        (UNKNOWN_AGENCY, a1, date(2023, 1, 1), None, None),
    ]
    lines = [
        "MaDonVi,MaTTHC,TuNgay,DenNgay,Thu",
        f'{a},{a1},1/1/2023,2023-01-20,"2,4"',
        f'{a},{a1},10/1/2023,,"Thứ 4, T6, CN"',
        f"{a},{a2},2023-01-05,25/01/2023,",
        f'{b},{b1},2023-01-01,,"T2,T3,T4,T5,T6"',
        f'{b},{a1},2023-01-01,,"T9"',
        f"{UNKNOWN_AGENCY},{a1},2023-01-01,,",
    ]
    return rows, lines


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("act")
    emu = start_emulator(seed=23, start=START.isoformat(), end=END.isoformat(), dossiers_per_day=20)
    try:
        rows, lines = pilot_rows(served_paper_pairs(emu))
        pilot_file = root / "pilot.csv"
        pilot_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        settings = Settings(
            api_url=emu.url, api_token=emu.token, warehouse=root / "tthc.duckdb",
            raw_dir=root / "raw", published=root / "published" / "tthc.duckdb", pii_key=TEST_PII_KEY,
        )
        settings = dataclasses.replace(settings, pilot_file=pilot_file)
        pipeline.run(settings, START, END, progress=False)
    finally:
        emu.stop()
    return settings, rows


@pytest.fixture
def con(run):
    settings, _ = run
    connection = connect(settings.warehouse)
    try:
        yield connection
    finally:
        connection.close()


def facts(con) -> list[dict]:
    cursor = con.execute(
        "SELECT dossier_id, agency_code, procedure_code, channel_code, status, received_at, finished_at "
        "FROM core.fact_dossier")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def received(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["status"] not in (1, 3) and r["received_at"] is not None]


def month_of(moment) -> date:
    return date(moment.year, moment.month, 1)


def versions(con) -> dict[str, list[tuple]]:
    found = defaultdict(list)
    for code, start, end, level in con.execute(
            "SELECT procedure_code, valid_from, valid_to, service_level FROM core.dim_procedure "
            "WHERE NOT is_inferred").fetchall():
        found[code].append((start, end, level))
    return found


def version_level(catalogue, code: str, on: date) -> str | None:
    for start, end, level in catalogue.get(code, []):
        if start <= on and (end is None or on <= end):
            return level
    return None


# --- mart.kpi_gap ---------------------------------------------------------------------------------

def test_kpi_gap_records_needed_reach_the_target_exactly(con):
    gaps = con.execute(
        "SELECT period_type, period_start, agency_code, kpi_code, numerator, denominator, value, "
        "target, gap_pts, records_needed, unit_vi, unit_en FROM mart.kpi_gap").fetchall()
    missed = con.execute(
        "SELECT period_type, period_start, agency_code, kpi_code FROM mart.kpi_value "
        "WHERE target IS NOT NULL AND NOT met").fetchall()
    assert len(gaps) > 50
    assert sorted(g[:4] for g in gaps) == sorted(missed)
    assert {g[3] for g in gaps} >= {"ONLINE_RATE", "ONLINE_REMOTE_RATE", "FEE_PROC_ONLINE_PAYABLE_RATE"}
    for (_, _, _, code, numerator, denominator, value, target, gap_pts, n, unit_vi, unit_en) in gaps:
        assert n >= 1 and unit_vi and unit_en, code
        # kpi_value's own test (value >= target, in floating point) on the numerator moved by n.
        assert (numerator + n) / denominator >= target, code
        assert not (numerator + n - 1) / denominator >= target, code
        assert gap_pts == pytest.approx(100 * (target - value))


def test_kpi_gap_has_a_unit_for_every_target_and_an_exact_hit_asks_nothing_more(con):
    units = dict(con.execute("SELECT kpi_code, unit_en FROM mart.kpi_gap_unit").fetchall())
    targets = {code for (code,) in con.execute("SELECT kpi_code FROM mart.kpi_target").fetchall()}
    assert len(targets) == 10 and targets <= set(units)
    assert units["ONLINE_REMOTE_RATE"] == "dossiers filed online remotely"
    assert units["FEE_PROC_ONLINE_PAYABLE_RATE"] == "fee procedures with online payment enabled"
    with pytest.raises(RuntimeError):
        with transaction(con):
            # 0.55 * 100 - 54 is 1.000000000000007 in floating point: one dossier, not two. 3 of
            # 10 against 0.3 is a hit (met), which is not a gap at all.
            con.execute(
                "INSERT INTO mart.kpi_value VALUES "
                "('month', DATE '1999-01-01', 'TEST', 'DOSSIER_ONLINE_PAYMENT_RATE', 54, 100, 0.54, 0.55, false), "
                "('month', DATE '1999-01-01', 'TEST', 'ONLINE_PAYMENT_TX_RATE', 3, 10, 0.3, 0.3, true), "
                "('month', DATE '1999-01-01', 'TEST', 'ONLINE_RATE', 6, 7, 6 / 7, 1.0, false)")
            got = con.execute(
                "SELECT kpi_code, records_needed FROM mart.kpi_gap WHERE agency_code = 'TEST' "
                "ORDER BY kpi_code").fetchall()
            assert got == [("DOSSIER_ONLINE_PAYMENT_RATE", 1), ("ONLINE_RATE", 1)]
            raise RuntimeError("roll back")


# --- mart.focus_procedure -------------------------------------------------------------------------

def test_focus_procedure_gain_recomputed_from_the_facts(con):
    rows = received(facts(con))
    catalogue = versions(con)
    agency_received = Counter((month_of(r["received_at"]), r["agency_code"]) for r in rows)
    paper = Counter()
    for r in rows:
        level = version_level(catalogue, r["procedure_code"], r["received_at"].date())
        if r["channel_code"] in PAPER and level in ONLINE_SERVICE:
            paper[(month_of(r["received_at"]), r["agency_code"], r["procedure_code"])] += 1

    view = con.execute(
        "SELECT month_start, agency_code, procedure_code, service_level, paper_received, received, "
        "rank_in_agency, online_rate_gain_pts FROM mart.focus_procedure").fetchall()
    assert {(m, a, p) for m, a, p, *_ in view} == set(paper)
    assert len(view) > 20
    for month, agency, procedure, level, paper_received, total, rank, gain in view[::max(1, len(view) // 25)]:
        assert level in ONLINE_SERVICE
        assert paper_received == paper[(month, agency, procedure)]
        assert total == agency_received[(month, agency)]
        assert gain == pytest.approx(100 * paper[(month, agency, procedure)] / agency_received[(month, agency)])
        more = {p for (m, a, p), n in paper.items() if (m, a) == (month, agency) and n > paper_received}
        assert rank == len(more) + 1


# --- mart.pilot_compliance and mart.pilot_agency_registrations -------------------------------------

def covers(registration, day: date) -> bool:
    _, _, start, end, weekdays = registration
    return start <= day and (end is None or day <= end) and (weekdays is None or day.isoweekday() in weekdays)


def test_pilot_compliance_lists_exactly_the_paper_dossiers_of_pilot_days(run, con):
    _, registrations = run
    rows = received(facts(con))
    # The months with data: those of mart.kpi_value (kpis.md "Periods"); here, those received in.
    months = {m for (m,) in con.execute(
        "SELECT DISTINCT period_start FROM mart.kpi_value WHERE period_type = 'month'").fetchall()}
    assert months == {month_of(r["received_at"]) for r in rows}
    pairs = {(agency, procedure) for agency, procedure, *_ in registrations}
    expected = {}
    for agency, procedure in pairs:
        mine = [reg for reg in registrations if reg[:2] == (agency, procedure)]
        for month in months:
            days = [month + timedelta(days=i) for i in range(31) if (month + timedelta(days=i)).month == month.month]
            pilot_days = {d for d in days if any(covers(reg, d) for reg in mine)}
            if not pilot_days:
                continue
            on_pilot = [r for r in rows if (r["agency_code"], r["procedure_code"]) == (agency, procedure)
                        and r["received_at"].date() in pilot_days]
            paper_ids = sorted(r["dossier_id"] for r in on_pilot if r["channel_code"] in PAPER)
            expected[(agency, procedure, month)] = (len(pilot_days), len(on_pilot), len(paper_ids), paper_ids)

    got = {
        (agency, procedure, month): (days, count, paper, list(ids))
        for agency, procedure, month, days, count, paper, ids in con.execute(
            "SELECT agency_code, procedure_code, month_start, pilot_days, received_on_pilot_days, "
            "paper_on_pilot_days, paper_dossier_ids FROM mart.pilot_compliance").fetchall()
    }
    assert got == expected
    assert sum(paper for _, _, paper, _ in got.values()) > 0, "the pilot pairs should have paper dossiers"
    a, a1 = registrations[0][:2]
    # January 2023: Mondays and Wednesdays up to the 20th (2, 9, 16; 4, 11, 18), then from the 10th
    # Wednesdays, Fridays and Sundays (11, 18, 25; 13, 20, 27; 15, 22, 29): the 11th and 18th once.
    assert got[(a, a1, START)][0] == 6 + 9 - 2

    # A registration the file no longer holds (closed) counts no more.
    with pytest.raises(RuntimeError):
        with transaction(con):
            con.execute(
                "INSERT INTO core.dim_pilot_registration (agency_code, procedure_code, start_date, "
                "line_number, row_text, registered_from, registered_to, run_id) "
                "VALUES (?, ?, DATE '2023-01-01', 9, 'gone', DATE '2022-12-01', DATE '2022-12-31', 'x')",
                [a, a1])
            assert con.execute(
                "SELECT pilot_days FROM mart.pilot_compliance WHERE agency_code = ? "
                "AND procedure_code = ? AND month_start = ?", [a, a1, START]).fetchall() == [(13,)]
            raise RuntimeError("roll back")


def test_pilot_compliance_parquet_carries_the_id_lists(run, con):
    settings, _ = run
    table = con.sql("SELECT * FROM mart.pilot_compliance").to_arrow_table().to_pylist()
    parquet = pd.read_parquet(settings.published_parquet_dir / "pilot_compliance.parquet")
    published = [
        {**row, "paper_dossier_ids": list(row["paper_dossier_ids"])} for row in parquet.to_dict("records")
    ]
    key = lambda row: (row["agency_code"], row["procedure_code"], row["month_start"])  # noqa: E731
    assert len(table) > 0
    assert [[(k, str(v)) for k, v in sorted(r.items())] for r in sorted(published, key=key)] == \
           [[(k, str(v)) for k, v in sorted(r.items())] for r in sorted(table, key=key)]
    assert "pilot_compliance" in kpi.PUBLISHED_VIEWS


def test_pilot_agency_registrations_counts_current_pairs_per_agency(run, con):
    _, registrations = run
    a, b = registrations[0][0], registrations[3][0]
    got = {
        code: (listed, count, fewer)
        for code, listed, count, fewer in con.execute(
            "SELECT agency_code, in_agency_list, registered_procedures, fewer_than_two "
            "FROM mart.pilot_agency_registrations").fetchall()
    }
    assert got[a] == (True, 2, False)
    assert got[b] == (True, 1, True)  # its second row names an unknown day: not registered
    assert got[UNKNOWN_AGENCY] == (False, 1, True)
    unregistered = [code for code, (listed, count, fewer) in got.items() if listed and count == 0]
    assert unregistered and all(got[code][2] for code in unregistered)
    # Every agency of /donvi valid today is listed; none twice.
    today = con.execute(
        "SELECT agency_code FROM core.dim_agency WHERE NOT is_inferred AND (valid_from IS NULL OR "
        "valid_from <= current_date) AND (valid_to IS NULL OR valid_to >= current_date)").fetchall()
    assert {code for (code,) in today} <= set(got)
    assert con.execute("SELECT count(*) - count(DISTINCT agency_code) FROM mart.pilot_agency_registrations"
                       ).fetchall() == [(0,)]


# --- mart.processing_time_by_procedure -------------------------------------------------------------

def test_processing_time_by_procedure_lists_only_procedures_with_both_channels(con):
    working = {d for (d,) in con.execute("SELECT date FROM core.dim_date WHERE is_working_day").fetchall()}
    groups = defaultdict(lambda: {"online": [], "paper": []})
    for r in facts(con):
        if r["status"] in (9, 10) and r["received_at"] is not None and r["finished_at"] is not None:
            first, last = r["received_at"].date(), r["finished_at"].date()
            working_days = sum(1 for i in range(1, (last - first).days + 1) if first + timedelta(days=i) in working)
            calendar_days = (r["finished_at"] - r["received_at"]).total_seconds() / 86400
            side = "online" if r["channel_code"] == 2 else "paper"
            groups[(month_of(r["finished_at"]), r["procedure_code"])][side].append((calendar_days, working_days))
    both = {key: g for key, g in groups.items() if g["online"] and g["paper"]}
    assert len(both) > 5 and len(both) < len(groups)

    view = con.execute(
        "SELECT month_start, procedure_code, online_finished, paper_finished, online_avg_calendar_days, "
        "paper_avg_calendar_days, online_avg_working_days, paper_avg_working_days, online_faster "
        "FROM mart.processing_time_by_procedure").fetchall()
    assert {(m, p) for m, p, *_ in view} == set(both)
    mean = lambda values: sum(values) / len(values)  # noqa: E731
    for month, procedure, online, paper, online_cal, paper_cal, online_wd, paper_wd, faster in view:
        g = both[(month, procedure)]
        assert (online, paper) == (len(g["online"]), len(g["paper"]))
        assert online_cal == pytest.approx(mean([c for c, _ in g["online"]]))
        assert paper_cal == pytest.approx(mean([c for c, _ in g["paper"]]))
        assert online_wd == pytest.approx(mean([w for _, w in g["online"]]))
        assert paper_wd == pytest.approx(mean([w for _, w in g["paper"]]))
        assert faster == (online_wd < paper_wd)
