"""The export-API emulator as a real process: its transient and paging faults, the clock control,
and the process itself (signals, options, the token from the environment, the large preset).

As in test_emulator.py, the checks read source-api.md (support.source_api), not the emulator's code."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter

import pytest
import requests

from support import REPO_ROOT, free_port, stop_process
from support.source_api import auth, fetch_window, get, is_empty, parse_ts


# ----------------------------------------------------------------- faults

def _raw_get(emu, path, params=None):
    """One request on a fresh connection; returns (status, headers, body) or the exception."""
    try:
        response = requests.get(f"{emu.url}{path}", params=params, headers={**auth(emu), "Connection": "close"},
                                timeout=30)
        return response.status_code, response.headers, response.content
    except requests.RequestException as exc:
        return exc


def test_transient_faults_at_the_configured_rate(emulator_factory):
    emu = emulator_factory(seed=2, start="2023-01-01", end="2023-01-05", dossiers_per_day=5,
                           extra=["--faults", "0.3", "--fault-kinds", "429,500,502,503"])
    statuses = Counter()
    for _ in range(300):
        status, headers, body = _raw_get(emu, "/api/v1/donvi")
        statuses[status] += 1
        if status == 429:
            assert headers["Retry-After"] == "1"
        if status != 200:
            assert json.loads(body)["maLoi"] == status
    faulted = 300 - statuses[200]
    assert 60 <= faulted <= 120, statuses  # 0.3 ± ~4 standard deviations
    assert {429, 500, 502, 503} <= set(statuses)
    # The control endpoints are never faulted.
    for _ in range(20):
        assert emu.control("faults", {"rate": 0.3})["rate"] == 0.3
    state = requests.get(f"{emu.url}/_emulator/state", headers=auth(emu), timeout=30).json()
    assert sum(state["faults_served"].values()) == faulted


@pytest.fixture(scope="module")
def faulty():
    from support import start_emulator

    emu = start_emulator(seed=8, start="2023-01-01", end="2023-01-08", dossiers_per_day=60,
                         extra=["--slow-seconds", "0.4"])
    try:
        yield emu
    finally:
        emu.stop()


def test_slow_drop_and_truncated_faults(faulty):
    start, end = "2023-01-01T00:00:00+07:00", "2023-03-01T00:00:00+07:00"
    params = {"tuNgay": start, "denNgay": end}
    faulty.control("faults", {"rate": 1.0, "kinds": ["slow"], "seed": 1})
    began = time.monotonic()
    status, _, body = _raw_get(faulty, "/api/v1/hoso", params)
    assert status == 200 and json.loads(body)["duLieu"] and time.monotonic() - began >= 0.4
    faulty.control("faults", {"rate": 1.0, "kinds": ["drop"]})
    assert isinstance(_raw_get(faulty, "/api/v1/hoso", params), requests.RequestException)
    faulty.control("faults", {"rate": 1.0, "kinds": ["truncated"]})
    status, _, body = _raw_get(faulty, "/api/v1/hoso", params)
    assert status == 200
    with pytest.raises(ValueError):
        json.loads(body)
    faulty.control("faults", {"rate": 0})


def _latest_by_key(records, key):
    latest = {}
    for r in records:
        k = r[key]
        if k not in latest or parse_ts(r["NgayCapNhat"]) >= parse_ts(latest[k]["NgayCapNhat"]):
            latest[k] = r
    return latest


@pytest.mark.parametrize("kind", ["repeat", "mutate"])
@pytest.mark.parametrize("feed, key", [("hoso", "MaHoSo"), ("thanhtoan", "MaGiaoDich")])
def test_paging_faults_keep_the_deduplicated_content(faulty, kind, feed, key):
    start, end = "2023-01-03T00:00:00+07:00", "2023-01-10T00:00:00+07:00"
    faulty.control("faults", {"rate": 0})
    clean = fetch_window(faulty, feed, start, end, size=20)
    faulty.control("faults", {"rate": 1.0, "kinds": [kind], "seed": 3})
    try:
        messy = []
        totals = set()
        page = 1
        while True:
            body = get(faulty, f"/api/v1/{feed}", {"tuNgay": start, "denNgay": end, "trang": page, "soBanGhi": 20}).json()
            totals.add(body["tongSoBanGhi"])
            if not body["duLieu"]:
                break
            messy.extend(body["duLieu"])
            page += 1
    finally:
        faulty.control("faults", {"rate": 0})
    assert len(messy) > len(clean), "the fault served some records twice"
    keyed = [r for r in clean if not is_empty(r, key)]
    assert _latest_by_key([r for r in messy if not is_empty(r, key)], key) == _latest_by_key(keyed, key)
    assert [r for r in messy if is_empty(r, key)] == [r for r in clean if is_empty(r, key)]
    if kind == "mutate":
        assert len(totals) > 1 or totals != {len(clean)}
        stale = len(messy) - len(clean)
        assert stale > 0


def test_fault_control_rejects_unknown_kinds(faulty):
    response = requests.post(f"{faulty.url}/_emulator/faults", json={"kinds": ["teapot"]},
                             headers=auth(faulty), timeout=30)
    assert response.status_code == 400 and "teapot" in response.json()["thongBao"]


# ----------------------------------------------------------------- process

def test_sigterm_stops_with_exit_code_zero_and_ready_line(emulator_factory):
    emu = emulator_factory(seed=1, start="2023-01-01", end="2023-01-03", dossiers_per_day=5)
    assert emu.process.poll() is None
    emu.stop()
    assert emu.process.returncode == 0


def test_bad_options_fail_with_one_clear_line():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "etl", "emulator", "--port", str(port), "--start", "2023-02-01", "--end", "2023-01-01"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = process.communicate(timeout=60)
    finally:
        stop_process(process)
    assert process.returncode != 0
    assert "--end" in err and "Traceback" not in err


def test_token_defaults_to_environment(tmp_path):
    import os

    port = free_port()
    env = dict(os.environ, TTHC_API_TOKEN="env-token-x1")
    process = subprocess.Popen(
        [sys.executable, "-m", "etl", "emulator", "--port", str(port), "--start", "2023-01-01",
         "--end", "2023-01-03", "--dossiers-per-day", "5"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        line = process.stdout.readline()
        assert line.strip() == f"TTHC emulator ready at http://127.0.0.1:{port}"
        url = f"http://127.0.0.1:{port}/api/v1/donvi"
        assert requests.get(url, headers={"Authorization": "Bearer env-token-x1"}, timeout=30).status_code == 200
        assert requests.get(url, headers={"Authorization": "Bearer demo-token"}, timeout=30).status_code == 401
    finally:
        stop_process(process)
    assert process.returncode == 0


def _start_preset(args: list[str]):
    """An emulator with only `args` (the conftest helper always sets --dossiers-per-day)."""
    from support import Emulator

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "etl", "emulator", "--port", str(port), "--token", "preset-token", *args],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = process.stdout.readline()
    if "ready at" not in line:
        stop_process(process)
        raise RuntimeError(f"emulator did not start: {line}{process.stdout.read()[-2000:]}")
    return Emulator(url=f"http://127.0.0.1:{port}", token="preset-token", process=process)


def test_large_preset_volume():
    """--size large: about 8,500 dossiers and 3,300 payments a day (12 months ≥ 3M / 1.2M)."""
    emu = _start_preset(["--seed", "12", "--size", "large", "--start", "2025-06-02", "--end", "2025-06-04",
                         "--now", "2025-09-01"])
    try:
        _check_large_volume(emu)
    finally:
        emu.stop()
    assert emu.process.returncode == 0


def _check_large_volume(emu):
    state = emu.control("clock", {})
    assert state["now"] == "2025-09-01T00:00:00+07:00"
    dossiers = get(emu, "/api/v1/hoso", {"tuNgay": "2025-06-02T00:00:00+07:00",
                                         "denNgay": "2025-09-01T00:00:00+07:00", "soBanGhi": 1}).json()
    payments = get(emu, "/api/v1/thanhtoan", {"tuNgay": "2025-06-02T00:00:00+07:00",
                                              "denNgay": "2025-09-01T00:00:00+07:00", "soBanGhi": 1}).json()
    # Two working days (Monday, Tuesday): volume runs above the daily mean on working days.
    assert 2 * 8500 * 0.9 < dossiers["tongSoBanGhi"] < 2 * 8500 * 1.6
    assert 2 * 3300 * 0.7 < payments["tongSoBanGhi"] < 2 * 3300 * 1.8
    agencies = get(emu, "/api/v1/donvi").json()["duLieu"]
    assert len(agencies) > 200


def test_clock_control_validates_its_input(faulty):
    headers = auth(faulty)
    before = requests.get(f"{faulty.url}/_emulator/state", headers=headers, timeout=30).json()["now"]
    for body in ({"now": "yesterday"}, {"advance": 1}):
        response = requests.post(f"{faulty.url}/_emulator/clock", json=body, headers=headers, timeout=30)
        assert response.status_code == 400
    response = requests.post(f"{faulty.url}/_emulator/clock", data=b"not json", headers=headers, timeout=30)
    assert response.status_code == 400
    assert requests.get(f"{faulty.url}/_emulator/state", headers=headers, timeout=30).json()["now"] == before


def test_the_emulator_keeps_the_days_off_of_the_warehouse_calendar(tmp_path):
    """One list of Vietnamese public holidays (sql/seed/vn_public_holidays.csv) for both: a day the
    emulator skips for due dates is a day core.dim_date calls no working day, and vice versa."""
    import numpy as np

    from etl.emulator import workdays
    from etl.warehouse import connect, ensure_schema

    con = connect(tmp_path / "calendar.duckdb")
    try:
        ensure_schema(con)
        rows = con.execute("SELECT date, is_working_day FROM core.dim_date "
                           "WHERE date BETWEEN DATE '2015-01-01' AND DATE '2035-12-31'").fetchall()
    finally:
        con.close()
    days = np.array([np.datetime64(day) for day, _ in rows])
    emulated = np.is_busday(days, busdaycal=workdays.BUSDAYS)
    assert [bool(x) for x in emulated] == [working for _, working in rows]
    # Days the emulator's own table used to miss: observed New Year and National Day of 2023, Tết 2028.
    assert not np.is_busday(np.array(["2023-01-02", "2023-09-04", "2028-01-26"], dtype="datetime64[D]"),
                            busdaycal=workdays.BUSDAYS).any()
