"""Emulator v1.1: NoiBo on procedures, KetQuaSoHoa on dossiers, the channel mix of internal
procedures, and the paper-free pilot registration file of `--pilot-file`.

As in tests/integration/test_emulator.py, the checks read the contracts (source-api.md, operations.md), not
the emulator's code: a small independent reading of the pilot file's rules classifies its rows.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import subprocess
import sys
import unicodedata
from collections import Counter, defaultdict

import pytest

from support import REPO_ROOT, free_port, start_emulator, stop_process
from support.source_api import (
    channel_code, dossier_problems, fetch_window, get, int_code, is_empty, parse_ts,
)

SEED, START, END = 21, dt.date(2024, 3, 1), dt.date(2024, 5, 1)
WIDE = ("2024-01-01T00:00:00+07:00", "2024-09-01T00:00:00+07:00")


@pytest.fixture(scope="module")
def v11(tmp_path_factory):
    """Two months of a small province, with its pilot file."""
    pilot = tmp_path_factory.mktemp("pilot") / "sub" / "pilot.csv"
    emu = start_emulator(seed=SEED, start=START.isoformat(), end=END.isoformat(), dossiers_per_day=80,
                         extra=["--pilot-file", str(pilot)])
    try:
        assert pilot.exists(), "written before the URL is printed"
        yield dict(emu=emu, pilot=pilot, dossiers=fetch_window(emu, "hoso", *WIDE),
                   procedures=get(emu, "/api/v1/thutuc").json()["duLieu"])
    finally:
        emu.stop()


def _received(dossiers):
    """Valid dossiers received (TrangThaiHoSo not 1 or 3) with their local reception day."""
    for r in dossiers:
        if dossier_problems(r) or int_code(r["TrangThaiHoSo"]) in (1, 3) or is_empty(r, "NgayTiepNhan"):
            continue
        yield r, parse_ts(r["NgayTiepNhan"]).date()


# ----------------------------------------------------------------- source-api.md v1.1

def test_procedures_carry_noibo_true_or_as_v1_exports_leave_it(v11):
    spelled = defaultdict(set)
    for p in v11["procedures"]:
        spelled[p["MaTTHC"].strip()].add(repr(p.get("NoiBo", "<absent>")))
    internal = {code for code, values in spelled.items() if "True" in values}
    assert all(values == {"True"} for code, values in spelled.items() if code in internal), \
        "NoiBo is a property of the procedure: the same on every version"
    assert 0.03 <= len(internal) / len(spelled) <= 0.1, (len(internal), len(spelled))
    others = set().union(*(values for code, values in spelled.items() if code not in internal))
    assert others == {"False", "None", "'<absent>'"}
    levels = Counter(p["MucDoDVC"].strip() for p in v11["procedures"] if p["MaTTHC"].strip() in internal)
    assert levels["TOAN_TRINH"] + levels["MOT_PHAN"] > levels["KHONG"]


def test_dossiers_carry_ket_qua_so_hoa_present_absent_and_rarely_junk(v11):
    dossiers = v11["dossiers"]
    values = Counter(repr(r.get("KetQuaSoHoa", "<absent>")) for r in dossiers)
    assert values["'0'"] and values["'1'"] and values["'<absent>'"], values
    junk = [r for r in dossiers if r.get("KetQuaSoHoa", "0") not in ("0", "1", 0, 1)]
    assert junk and len(junk) / len(dossiers) < 0.01, values
    # Junk reads as 0 with a warning: it never makes a record invalid.
    assert sum(bool(dossier_problems(r)) for r in junk) <= 1
    returned = defaultdict(Counter)
    for r, _ in _received(dossiers):
        if int_code(r["TrangThaiHoSo"]) == 10 and "KetQuaSoHoa" in r:
            returned[channel_code(r["KenhThucHien"]) == 2][str(r["KetQuaSoHoa"]).strip() == "1"] += 1
    online, paper = (returned[k][True] / sum(returned[k].values()) for k in (True, False))
    assert online > 0.6 and paper < online - 0.2, (online, paper)
    unfinished = [r for r in dossiers if not dossier_problems(r) and int_code(r["TrangThaiHoSo"]) not in (9, 10)]
    assert all(str(r.get("KetQuaSoHoa", "0")) in ("0", "2", "có") for r in unfinished)


def test_internal_procedures_are_received_mostly_but_not_only_online(v11):
    internal = {p["MaTTHC"].strip() for p in v11["procedures"]
                if p.get("NoiBo") is True and p["MucDoDVC"].strip() != "KHONG"}
    channels = Counter(channel_code(r["KenhThucHien"]) for r, _ in _received(v11["dossiers"])
                       if r["MaTTHC"].strip() in internal)
    total = sum(channels.values())
    assert total >= 60, channels
    assert 0.75 <= channels[2] / total <= 0.97, channels


# ----------------------------------------------------------------- the pilot file (operations.md)

DAY_NUMBERS = {str(n): n - 2 for n in range(2, 8)}  # 0 Monday … 5 Saturday


def day_name(element: str) -> int | None:
    """A weekday (0 Monday … 6 Sunday) from one element of Thu; None when unknown or empty."""
    key = " ".join(unicodedata.normalize("NFC", element).strip().casefold().split())
    if key in ("cn", "chủ nhật"):
        return 6
    for prefix in ("thứ ", "thứ", "t", ""):
        if key.startswith(prefix) and key[len(prefix):] in DAY_NUMBERS:
            return DAY_NUMBERS[key[len(prefix):]]
    return None


def pilot_date(text: str) -> dt.date:
    text = unicodedata.normalize("NFC", text).strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return dt.date.fromisoformat(text)
    match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
    if not match:
        raise ValueError(text)
    day, month, year = map(int, match.groups())
    return dt.date(year, month, day)


def read_row(header, fields):
    """(agency, procedure, first, last, weekdays) or the problem that makes the row unreadable."""
    if len(fields) != len(header):
        return "field count"
    value = {name: unicodedata.normalize("NFC", fields[header.index(name)]).strip() for name in header}
    if not value["MaDonVi"] or not value["MaTTHC"]:
        return "empty code"
    try:
        first = pilot_date(value["TuNgay"])
        last = pilot_date(value["DenNgay"]) if value["DenNgay"] else None
    except ValueError:
        return "date"
    if last is not None and last < first:
        return "DenNgay before TuNgay"
    if not value["Thu"]:
        return value["MaDonVi"], value["MaTTHC"], first, last, set(range(7))
    days = [day_name(e) for e in value["Thu"].split(",")]
    if None in days:
        empty = any(not e.strip() for e in value["Thu"].split(","))
        return "empty day" if empty else "unknown day"
    return value["MaDonVi"], value["MaTTHC"], first, last, set(days)


@pytest.fixture(scope="module")
def pilot(v11):
    raw = v11["pilot"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "a UTF-8 byte-order mark"
    text = raw.decode("utf-8-sig")
    records = list(csv.reader(io.StringIO(text, newline="")))
    header = [name.strip() for name in records[0]]
    rows = [(fields, read_row(header, fields)) for fields in records[1:] if fields]
    return dict(text=text, header=header, rows=rows,
                readable=[r for _, r in rows if isinstance(r, tuple)],
                unreadable=[(f, r) for f, r in rows if isinstance(r, str)])


def test_pilot_file_layout_and_spellings(pilot):
    assert sorted(pilot["header"]) == sorted(["MaDonVi", "MaTTHC", "TuNgay", "DenNgay", "Thu"])
    thu = [fields[pilot["header"].index("Thu")] for fields, r in pilot["rows"] if isinstance(r, tuple)]
    elements = {unicodedata.normalize("NFC", e).strip() for value in thu for e in value.split(",")}
    assert {"4", "Thứ 4", "T4", "CN", "Chủ nhật", "t6", "thứ 3"} <= elements, elements
    assert "" in thu, "an empty Thu: every day"
    assert any(not unicodedata.is_normalized("NFC", value) for value in thu)
    assert re.search(r'"[^"\n]*,[^"\n]*"', pilot["text"]), "a quoted comma list"
    dates = [fields[pilot["header"].index(name)] for fields, r in pilot["rows"] if isinstance(r, tuple)
             for name in ("TuNgay", "DenNgay")]
    assert any(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d) for d in dates)
    assert any(re.fullmatch(r"\d/\d/\d{4}", d) for d in dates), "d/M/yyyy with one-digit day and month"
    readable = pilot["readable"]
    for _, _, first, last, _ in readable:
        assert START <= first < END and (last is None or first <= last < END)
    assert any(last is None for *_, last, _ in readable)
    assert any(last is not None and last < END - dt.timedelta(days=1) for *_, last, _ in readable)


def test_pilot_file_registrations_per_agency_and_unreadable_rows(pilot):
    pairs = Counter((agency, proc) for agency, proc, *_ in pilot["readable"])
    assert [pair for pair, n in pairs.items() if n > 1], "a pair registered twice"
    twice = [r for r in pilot["readable"] if pairs[r[:2]] > 1]
    assert len({(first, last, frozenset(days)) for _, _, first, last, days in twice}) == len(twice)
    per_agency = Counter(agency for agency, _ in pairs)
    singles = [a for a, n in per_agency.items() if n == 1]
    assert 1 <= len(singles) < len(per_agency) / 2, per_agency
    assert {r for _, r in pilot["unreadable"]} == {
        "field count", "empty code", "date", "DenNgay before TuNgay", "unknown day", "empty day"}
    assert 3 <= len(pilot["unreadable"]) <= 6
    assert any("T9" in fields for fields, _ in pilot["unreadable"])
    assert any("2,,4" in fields for fields, _ in pilot["unreadable"])
    assert any(any(re.fullmatch(r"31/02/\d{4}", f) for f in fields) for fields, _ in pilot["unreadable"])


def test_pilot_pairs_receive_dossiers_on_their_pilot_days_mostly_online(v11, pilot):
    rows = defaultdict(list)
    for agency, proc, first, last, days in pilot["readable"]:
        rows[agency, proc].append((first, last, days))
    on_pilot_day = Counter()
    online = 0
    for r, day in _received(v11["dossiers"]):
        pair = (r["MaDonVi"].strip(), r["MaTTHC"].strip())
        if any(first <= day and (last is None or day <= last) and day.weekday() in days
               for first, last, days in rows.get(pair, ())):
            on_pilot_day[pair] += 1
            online += channel_code(r["KenhThucHien"]) == 2
    assert set(on_pilot_day) == set(rows), set(rows) - set(on_pilot_day)
    total = sum(on_pilot_day.values())
    assert 0.6 < online / total < 1, (online, total)


def test_pilot_file_does_not_change_the_served_data(v11):
    plain = start_emulator(seed=SEED, start=START.isoformat(), end=END.isoformat(), dossiers_per_day=80)
    try:
        for path, params in [("/api/v1/donvi", None), ("/api/v1/thutuc", None),
                             ("/api/v1/hoso", {"tuNgay": WIDE[0], "denNgay": WIDE[1], "soBanGhi": 500, "trang": 3}),
                             ("/api/v1/thanhtoan", {"tuNgay": WIDE[0], "denNgay": WIDE[1], "soBanGhi": 500})]:
            assert get(plain, path, params).content == get(v11["emu"], path, params).content, path
    finally:
        plain.stop()


def test_pilot_file_is_a_function_of_the_options(v11, tmp_path):
    from etl.emulator.days import Options
    from etl.emulator.generator import Generator
    from etl.emulator.pilot import write_pilot_file

    def written(seed: int):
        g = Generator(Options(seed=seed, start=START, end=END, dossiers_per_day=80))
        path = tmp_path / f"pilot-{seed}.csv"
        write_pilot_file(g, path)
        assert g.days_generated == 0, "the generator's own days are not read"
        return path.read_bytes()

    assert written(SEED) == v11["pilot"].read_bytes()
    assert written(SEED + 1) != v11["pilot"].read_bytes()


def test_unwritable_pilot_file_fails_with_one_clear_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    process = subprocess.Popen(
        [sys.executable, "-m", "etl", "emulator", "--port", str(free_port()), "--start", "2024-03-01",
         "--end", "2024-03-05", "--dossiers-per-day", "5", "--pilot-file", str(blocker / "pilot.csv")],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = process.communicate(timeout=60)
    finally:
        stop_process(process)
    assert process.returncode == 1
    assert "--pilot-file" in err and "Traceback" not in err and "ready" not in out
