"""The export-API emulator, exercised as a real process over loopback HTTP.

The checks here read source-api.md, not the emulator's code: a small independent reading of the
spec (timestamp formats, validity rules) classifies what the emulator serves.
"""
from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import unicodedata
from collections import Counter, defaultdict

import pytest
import requests

from support.source_api import (
    WIDE_END, WIDE_START, auth, channel_code, day_window, dossier_problems, fetch_window, get, int_code,
    is_empty, parse_ts, payment_problems,
)


@pytest.fixture(scope="module")
def messy(request):
    """Two months spanning the 1 July 2025 reorganization, with lots of invalid records."""
    from support import start_emulator

    emu = start_emulator(seed=11, start="2025-06-01", end="2025-08-01", dossiers_per_day=60,
                         extra=["--invalid-rate", "0.08", "--unknown-ref-rate", "0.05"])
    try:
        dossiers = fetch_window(emu, "hoso", "2025-05-01T00:00:00+07:00", "2025-10-01T00:00:00+07:00")
        payments = fetch_window(emu, "thanhtoan", "2025-05-01T00:00:00+07:00", "2025-10-01T00:00:00+07:00")
        agencies = get(emu, "/api/v1/donvi").json()["duLieu"]
        procedures = get(emu, "/api/v1/thutuc").json()["duLieu"]
        yield dict(emu=emu, dossiers=dossiers, payments=payments, agencies=agencies, procedures=procedures)
    finally:
        emu.stop()


# ----------------------------------------------------------------- auth and endpoints

ENDPOINTS = ["/api/v1/donvi", "/api/v1/thutuc",
             "/api/v1/hoso?tuNgay=2023-02-01T00:00:00%2B07:00&denNgay=2023-02-02T00:00:00%2B07:00",
             "/api/v1/thanhtoan?tuNgay=2023-02-01T00:00:00%2B07:00&denNgay=2023-02-02T00:00:00%2B07:00",
             "/_emulator/state"]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_every_endpoint_needs_the_bearer_token(emulator, path):
    url = f"{emulator.url}{path}"
    assert requests.get(url, timeout=30).status_code == 401
    wrong = requests.get(url, headers={"Authorization": "Bearer not-the-token"}, timeout=30)
    assert wrong.status_code == 401
    assert "token" in wrong.json()["thongBao"]
    assert requests.get(url, headers={"Authorization": emulator.token}, timeout=30).status_code == 401
    ok = requests.get(url, headers=auth(emulator), timeout=30)
    assert ok.status_code == 200
    assert ok.headers["Content-Type"] == "application/json; charset=utf-8"


def test_control_endpoints_need_the_token_too(emulator):
    response = requests.post(f"{emulator.url}/_emulator/clock", json={"advance_days": 1}, timeout=30)
    assert response.status_code == 401
    response = requests.post(f"{emulator.url}/_emulator/faults", json={"rate": 1}, timeout=30)
    assert response.status_code == 401
    assert emulator.control("faults", {})["rate"] == 0.0  # unchanged


@pytest.mark.parametrize("params, fragment", [
    ({"denNgay": "2023-02-02T00:00:00+07:00"}, "tuNgay"),
    ({"tuNgay": "2023-02-01T00:00:00+07:00"}, "denNgay"),
    ({"tuNgay": "2023-02-01T00:00:00", "denNgay": "2023-02-02T00:00:00+07:00"}, "offset"),
    ({"tuNgay": "01/02/2023", "denNgay": "2023-02-02T00:00:00+07:00"}, "ISO 8601"),
    ({"tuNgay": "2023-02-01T00:00:00+07:00", "denNgay": "2023-02-02T00:00:00+07:00", "trang": 0}, "trang"),
    ({"tuNgay": "2023-02-01T00:00:00+07:00", "denNgay": "2023-02-02T00:00:00+07:00", "soBanGhi": "x"}, "soBanGhi"),
])
def test_feed_parameters_are_checked(emulator, params, fragment):
    for feed in ("hoso", "thanhtoan"):
        response = get(emulator, f"/api/v1/{feed}", params)
        assert response.status_code == 400
        assert fragment in response.json()["thongBao"]


def test_reference_lists_describe_the_province_and_its_reorganization(messy):
    agencies = messy["agencies"]
    codes = [a["MaDonVi"].strip() for a in agencies]
    assert len(codes) == len(set(codes))
    by_code = {a["MaDonVi"].strip(): a for a in agencies}
    levels = Counter(a["CapDonVi"].strip() for a in agencies)
    assert set(levels) == {"TINH", "HUYEN", "XA"}
    for a in agencies:
        assert re.fullmatch(r"\d{3}\.\d{2}\.\d{2}\.G18", a["MaDonVi"].strip())
        for ref in ("MaDonViCha", "MaDonViKeThua"):
            if not is_empty(a, ref):
                assert a[ref].strip() in by_code
        if a["CapDonVi"].strip() == "HUYEN":  # the district level ends on 30 June 2025
            assert a["HieuLucDen"] == "2025-06-30" and not is_empty(a, "MaDonViKeThua")
    merged_into = {a["MaDonViKeThua"].strip() for a in agencies
                   if a["CapDonVi"].strip() == "XA" and not is_empty(a, "MaDonViKeThua")}
    assert merged_into, "some communes merge on 1 July 2025"
    for code in merged_into:
        assert by_code[code]["HieuLucTu"] == "2025-07-01"
    assert any(unicodedata.is_normalized("NFD", a["TenDonVi"]) and not unicodedata.is_normalized("NFC", a["TenDonVi"])
               for a in agencies)

    versions = defaultdict(list)
    for p in messy["procedures"]:
        assert re.fullmatch(r"\d\.\d{6}", p["MaTTHC"].strip())
        assert p["MucDoDVC"].strip() in ("TOAN_TRINH", "MOT_PHAN", "KHONG")
        assert {c.strip() for c in p["CapThucHien"]} <= {"TINH", "HUYEN", "XA"}
        versions[p["MaTTHC"].strip()].append(p)
    levels_served = Counter(p["MucDoDVC"].strip() for p in messy["procedures"])
    assert len(levels_served) == 3
    assert any(p["CoPhiLePhi"] and p["ThanhToanTrucTuyen"] for p in messy["procedures"])
    assert any(p["CoPhiLePhi"] and not p["ThanhToanTrucTuyen"] for p in messy["procedures"])
    assert any(is_empty(p, "ThoiHanGiaiQuyet") for p in messy["procedures"])
    upgraded = [v for v in versions.values() if len(v) > 1]
    assert upgraded, "some procedures get a second version"
    for vs in upgraded:
        vs.sort(key=lambda p: p["HieuLucTu"])
        for old, new in zip(vs, vs[1:]):
            assert dt.date.fromisoformat(old["HieuLucDen"]) + dt.timedelta(days=1) == dt.date.fromisoformat(new["HieuLucTu"])
        assert is_empty(vs[-1], "HieuLucDen")


# ----------------------------------------------------------------- paging and windows

def test_paging_order_size_cap_and_end(emulator):
    start, end = day_window(dt.date(2023, 2, 1))
    whole = get(emulator, "/api/v1/hoso", {"tuNgay": start, "denNgay": end, "soBanGhi": 9000}).json()
    assert whole["soBanGhi"] == 5000 and whole["trang"] == 1
    assert whole["tongSoBanGhi"] == len(whole["duLieu"]) > 10
    default = get(emulator, "/api/v1/hoso", {"tuNgay": start, "denNgay": end}).json()
    assert default["soBanGhi"] == 1000 and default["duLieu"] == whole["duLieu"]

    pages, page = [], 1
    while True:
        body = get(emulator, "/api/v1/hoso", {"tuNgay": start, "denNgay": end, "trang": page, "soBanGhi": 7}).json()
        assert body["soBanGhi"] == 7 and body["trang"] == page
        assert body["tongSoTrang"] == -(-whole["tongSoBanGhi"] // 7)
        if not body["duLieu"]:
            break
        assert len(body["duLieu"]) <= 7
        pages.extend(body["duLieu"])
        page += 1
    assert page == body["tongSoTrang"] + 1
    assert pages == whole["duLieu"]
    order = [(parse_ts(r["NgayCapNhat"]), r.get("MaHoSo") or "") for r in pages]
    assert order == sorted(order)
    lo, hi = dt.datetime(2023, 2, 1), dt.datetime(2023, 2, 2)
    assert all(lo <= t < hi for t, _ in order)


def test_windows_return_current_state_once_and_clock_reveals_changes(emulator_factory):
    emu = emulator_factory(seed=3, start="2023-01-01", end="2023-01-20", dossiers_per_day=30,
                           extra=["--clean", "--now", "2023-01-11T00:00:00+07:00"])
    day = dt.date(2023, 1, 10)
    start, end = day_window(day)
    nightly = {r["MaHoSo"]: r for r in fetch_window(emu, "hoso", start, end)}
    assert nightly
    # Nothing after the clock is visible, not even in a window that reaches past it.
    ahead = fetch_window(emu, "hoso", start, "2023-03-01T00:00:00+07:00")
    assert max(parse_ts(r["NgayCapNhat"]) for r in ahead) < dt.datetime(2023, 1, 11)
    assert {r["MaHoSo"] for r in ahead} == set(nightly)

    assert emu.control("clock", {"advance_days": 40})["now"] == "2023-02-20T00:00:00+07:00"
    later = {r["MaHoSo"]: r for r in fetch_window(emu, "hoso", start, end)}
    moved = set(nightly) - set(later)
    assert moved, "dossiers that changed after 10 January left its window"
    assert set(later) <= set(nightly)
    rest = {r["MaHoSo"]: r for r in fetch_window(emu, "hoso", end, "2023-02-20T00:00:00+07:00")}
    for key in moved:  # each moved dossier is in the window of its latest change, in a later state
        assert key in rest
        assert parse_ts(rest[key]["NgayCapNhat"]) > parse_ts(nightly[key]["NgayCapNhat"])
        assert int(rest[key]["TrangThaiHoSo"]) >= 2
    assert not set(later) & set(rest), "a backfill sees each dossier once"
    # New dossiers submitted after the old clock appeared.
    assert any(key.split("-")[1] > "20230111" for key in rest)
    emu.control("clock", {"now": "2023-01-11"})
    assert {r["MaHoSo"] for r in fetch_window(emu, "hoso", start, end)} == set(nightly)


def test_backfill_windows_partition_the_feed(emulator):
    keys: list[str] = []
    for offset in range(3):
        start, end = day_window(dt.date(2023, 2, 10) + dt.timedelta(days=offset))
        keys += [r["MaGiaoDich"] for r in fetch_window(emulator, "thanhtoan", start, end) if not is_empty(r, "MaGiaoDich")]
    wide = fetch_window(emulator, "thanhtoan", day_window(dt.date(2023, 2, 10))[0], day_window(dt.date(2023, 2, 12))[1])
    assert sorted(keys) == sorted(r["MaGiaoDich"] for r in wide if not is_empty(r, "MaGiaoDich"))
    assert len(keys) == len(set(keys))


def test_gzip_when_accepted(emulator):
    start, end = day_window(dt.date(2023, 2, 1))
    params = {"tuNgay": start, "denNgay": end}
    url = f"{emulator.url}/api/v1/hoso"
    zipped = requests.get(url, params=params, headers={**auth(emulator), "Accept-Encoding": "gzip"},
                          timeout=30, stream=True)
    raw = zipped.raw.read(decode_content=False)
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert int(zipped.headers["Content-Length"]) == len(raw)
    plain = requests.get(url, params=params, headers={**auth(emulator), "Accept-Encoding": "identity"}, timeout=30)
    assert "Content-Encoding" not in plain.headers
    assert gzip.decompress(raw) == plain.content
    assert len(raw) < len(plain.content) / 3


def test_keep_alive_connection_serves_many_requests(emulator):
    import http.client
    from urllib.parse import urlsplit

    url = urlsplit(emulator.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        sockets = set()
        for path in ["/api/v1/donvi", "/api/v1/thutuc", "/nowhere", "/api/v1/donvi"]:
            connection.request("GET", path, headers=auth(emulator))
            response = connection.getresponse()
            assert response.status in (200, 404)
            assert int(response.headers["Content-Length"]) == len(response.read())
            sockets.add(id(connection.sock))
        assert len(sockets) == 1 and connection.sock is not None
    finally:
        connection.close()


def test_same_seed_same_bytes_other_seed_other_data(emulator_factory):
    a = emulator_factory(seed=5, start="2023-01-01", end="2023-01-15", dossiers_per_day=20)
    b = emulator_factory(seed=5, start="2023-01-01", end="2023-01-15", dossiers_per_day=20)
    c = emulator_factory(seed=6, start="2023-01-01", end="2023-01-15", dossiers_per_day=20)
    start, end = "2023-01-01T00:00:00+07:00", "2023-03-01T00:00:00+07:00"
    for path, params in [("/api/v1/donvi", None), ("/api/v1/thutuc", None),
                         ("/api/v1/hoso", {"tuNgay": start, "denNgay": end, "soBanGhi": 50, "trang": 2}),
                         ("/api/v1/thanhtoan", {"tuNgay": start, "denNgay": end})]:
        assert get(a, path, params).content == get(b, path, params).content
    assert get(a, "/api/v1/hoso", {"tuNgay": start, "denNgay": end}).content != \
        get(c, "/api/v1/hoso", {"tuNgay": start, "denNgay": end}).content


# ----------------------------------------------------------------- data content

def test_dossiers_carry_every_spec_field_and_realistic_values(messy):
    dossiers = [r for r in messy["dossiers"] if not dossier_problems(r)]
    names = {"MaHoSo", "MaTTHC", "MaDonVi", "KenhThucHien", "NopTuXa", "LoaiDoiTuong", "ChuHoSo",
             "SoGiayToChuHoSo", "SoDienThoai", "NgayNopHoSo", "NgayTiepNhan", "NgayHenTra",
             "NgayKetThucXuLy", "NgayTra", "TrangThaiHoSo", "HinhThucTra", "HoSoCoThanhPhanSoHoa",
             "KetQuaSoHoa", "NgayCapNhat"}
    seen = set().union(*(r.keys() for r in dossiers))
    assert seen == names
    statuses = Counter(int_code(r["TrangThaiHoSo"]) for r in dossiers)
    assert set(statuses) == set(range(1, 11)), statuses
    assert all(re.fullmatch(r"\d{12}", r["SoGiayToChuHoSo"]) for r in dossiers)
    assert all(re.fullmatch(r"0\d{9}", r["SoDienThoai"]) for r in dossiers if not is_empty(r, "SoDienThoai"))
    assert any(unicodedata.normalize("NFC", r["ChuHoSo"]).startswith("Nguyễn ") for r in dossiers)
    for r in dossiers:
        channel = channel_code(r["KenhThucHien"])
        if channel == 2:
            assert str(r["NopTuXa"]).strip() in ("0", "1")
        else:
            assert is_empty(r, "NopTuXa")
        status = int_code(r["TrangThaiHoSo"])
        if status in (9, 10):
            assert parse_ts(r["NgayKetThucXuLy"]) >= parse_ts(r["NgayTiepNhan"])
        if status == 10:
            assert parse_ts(r["NgayTra"]) >= parse_ts(r["NgayKetThucXuLy"])
        assert parse_ts(r["NgayCapNhat"]) >= parse_ts(r["NgayNopHoSo"])
    finished = [r for r in dossiers if int_code(r["TrangThaiHoSo"]) in (9, 10) and not is_empty(r, "NgayHenTra")]
    late = [r for r in finished if parse_ts(r["NgayKetThucXuLy"]) > parse_ts(r["NgayHenTra"])]
    assert 0.01 < len(late) / len(finished) < 0.4
    assert any(int_code(r["TrangThaiHoSo"]) in (9, 10) and is_empty(r, "NgayHenTra") for r in dossiers)


def test_agencies_differ_in_online_remote_share_and_reorganization_is_respected(messy):
    agencies = {a["MaDonVi"].strip(): a for a in messy["agencies"]}
    received = defaultdict(lambda: [0, 0])
    for r in messy["dossiers"]:
        if dossier_problems(r) or int_code(r["TrangThaiHoSo"]) in (1, 3):
            continue
        code = r["MaDonVi"].strip()
        received[code][1] += 1
        received[code][0] += channel_code(r["KenhThucHien"]) == 2 and str(r["NopTuXa"]).strip() == "1"
        agency = agencies.get(code)
        if agency is not None:  # dossiers go only to agencies valid on the submission day
            submitted = parse_ts(r["NgayNopHoSo"]).date().isoformat()
            assert agency["HieuLucTu"] <= submitted
            assert is_empty(agency, "HieuLucDen") or submitted <= agency["HieuLucDen"]
    rates = [hit / total for hit, total in received.values() if total >= 30]
    assert min(rates) < 0.5 < max(rates)


def test_payments_lifecycle_and_channels(messy):
    payments = [r for r in messy["payments"] if not payment_problems(r)]
    methods = Counter(r["HinhThucThanhToan"].strip() for r in payments)
    assert set(methods) == {"truc-tuyen", "tien-mat", "chuyen-khoan"}
    statuses = Counter(r["TrangThai"].strip() for r in payments)
    assert set(statuses) == {"khoi-tao", "thanh-cong", "that-bai", "hoan-phi"}
    for r in payments:
        online = r["HinhThucThanhToan"].strip() == "truc-tuyen"
        assert (str(r.get("KenhThanhToan")).strip() in ("DVCQG", "DVC_TINH")) == online
    # A failed payment is retried under a new transaction id for the same dossier.
    by_dossier = defaultdict(list)
    for r in payments:
        if not is_empty(r, "MaHoSo"):
            by_dossier[r["MaHoSo"]].append(r["TrangThai"].strip())
    assert any("that-bai" in s and "thanh-cong" in s for s in by_dossier.values())
    # A refund comes days after the payment, as a later version of the same transaction.
    refunds = [r for r in payments if r["TrangThai"].strip() == "hoan-phi"]
    assert all(parse_ts(r["NgayCapNhat"]) - parse_ts(r["ThoiGianGD"]) > dt.timedelta(days=1) for r in refunds)


def test_every_mess_shape_appears(messy):
    dossiers, payments = messy["dossiers"], messy["payments"]
    stamps = [r["NgayCapNhat"] for r in dossiers + payments]
    assert any(re.fullmatch(r"\d{14}", s) for s in stamps)
    assert any(re.fullmatch(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}", s) for s in stamps)
    channels = {type(r["KenhThucHien"]).__name__ + ("-nfd" if isinstance(r["KenhThucHien"], str) and
                not unicodedata.is_normalized("NFC", r["KenhThucHien"]) else "")
                for r in dossiers}
    assert {"int", "str", "str-nfd"} <= channels
    assert any(r["KenhThucHien"] == "Trực tuyến" for r in dossiers)
    assert any(isinstance(r["TrangThaiHoSo"], int) for r in dossiers)
    assert any(isinstance(r["TrangThaiHoSo"], str) and r["TrangThaiHoSo"].isdigit() for r in dossiers)
    for name in ("MaTTHC", "MaDonVi"):
        assert any(isinstance(r.get(name), str) and r[name] != r[name].strip() and r[name].strip() for r in dossiers)
    assert any(isinstance(r.get("TrangThai"), str) and r["TrangThai"] != r["TrangThai"].strip() for r in payments)
    for r in dossiers:
        assert is_empty(r, "MaHoSo") or r["MaHoSo"] == r["MaHoSo"].strip()
    for r in payments:
        assert is_empty(r, "MaGiaoDich") or r["MaGiaoDich"] == r["MaGiaoDich"].strip()
    shapes = Counter()
    for r in payments:
        v = r.get("SoTien")
        if isinstance(v, int):
            shapes["int"] += 1
        elif isinstance(v, str) and re.fullmatch(r"\d+", v):
            shapes["digits"] += 1
        elif isinstance(v, str) and re.fullmatch(r"\d{1,3}(\.\d{3})+", v):
            shapes["dotted"] += 1
        elif isinstance(v, str) and re.fullmatch(r"\d{1,3}(\.\d{3})+ đ", v):
            shapes["dong"] += 1
    assert all(shapes[k] for k in ("int", "digits", "dotted", "dong")), shapes
    empties = Counter()
    for r in dossiers:
        for name in ("NgayTra", "NgayKetThucXuLy", "NopTuXa"):
            v = r.get(name, "<absent>")
            empties["absent" if v == "<absent>" else "null" if v is None else "blank" if v == "" else
                    "spaces" if isinstance(v, str) and not v.strip() else "value"] += 1
    assert all(empties[k] for k in ("absent", "null", "blank", "spaces")), empties
    assert any(not unicodedata.is_normalized("NFC", r.get("ChuHoSo") or "") for r in dossiers)
    known_procs = {p["MaTTHC"].strip() for p in messy["procedures"]}
    known_agencies = {a["MaDonVi"].strip() for a in messy["agencies"]}
    unknown_proc = [r for r in dossiers if not is_empty(r, "MaTTHC") and r["MaTTHC"].strip() not in known_procs]
    unknown_agency = [r for r in dossiers if not is_empty(r, "MaDonVi") and r["MaDonVi"].strip() not in known_agencies]
    assert 0.01 < (len(unknown_proc) + len(unknown_agency)) / len(dossiers) < 0.1
    assert unknown_proc and unknown_agency
    assert any(is_empty(r, "MaHoSo") and not payment_problems(r) for r in payments)


DOSSIER_KINDS = {"empty MaHoSo", "empty MaTTHC", "empty MaDonVi", "TrangThaiHoSo", "KenhThucHien", "timestamp NgayNopHoSo"}
PAYMENT_KINDS = {"empty MaGiaoDich", "SoTien empty", "SoTien unparseable", "SoTien negative",
                 "HinhThucThanhToan", "TrangThai", "ThoiGianGD empty", "ThoiGianGD unparseable"}


def test_every_invalid_kind_appears_at_the_configured_rate(messy):
    dossiers, payments = messy["dossiers"], messy["payments"]
    d_problems = [dossier_problems(r) for r in dossiers]
    p_problems = [payment_problems(r) for r in payments]
    assert {p for ps in d_problems for p in ps} == DOSSIER_KINDS
    assert {p for ps in p_problems for p in ps} == PAYMENT_KINDS
    # 8 % of records were made invalid; a quarter only in a version after the clock or the last one.
    d_rate = sum(bool(p) for p in d_problems) / len(dossiers)
    p_rate = sum(bool(p) for p in p_problems) / len(payments)
    assert 0.05 < d_rate < 0.11, d_rate
    assert 0.05 < p_rate < 0.11, p_rate
    broken_stamps = {r["NgayNopHoSo"] for r, ps in zip(dossiers, d_problems) if "timestamp NgayNopHoSo" in ps}
    assert any(s.startswith("31/02/") for s in broken_stamps)
    assert any(re.fullmatch(r"\d{10}", s) for s in broken_stamps)
    assert any(re.fullmatch(r"\d{8}25\d{4}", s) or " 25:" in s for s in broken_stamps)
    statuses = {json.dumps(r["TrangThaiHoSo"]) for r, ps in zip(dossiers, d_problems) if "TrangThaiHoSo" in ps}
    assert {"0", "11", '"4.5"', '"abc"'} <= statuses


def test_latest_version_can_be_invalid_after_a_valid_one(emulator_factory):
    emu = emulator_factory(seed=4, start="2023-01-01", end="2023-01-11", dossiers_per_day=60,
                           extra=["--invalid-rate", "0.3", "--now", "2023-01-05T00:00:00+07:00"])
    early = {r["MaHoSo"]: r for r in fetch_window(emu, "hoso", WIDE_START, WIDE_END)
             if not is_empty(r, "MaHoSo") and not dossier_problems(r)}
    emu.control("clock", {"advance_days": 90})
    late = {r["MaHoSo"]: r for r in fetch_window(emu, "hoso", WIDE_START, WIDE_END) if not is_empty(r, "MaHoSo")}
    turned = [k for k in early if k in late and dossier_problems(late[k])]
    assert turned


def test_default_rates_of_invalid_and_unknown_references(emulator):
    dossiers = fetch_window(emulator, "hoso", WIDE_START, WIDE_END)
    payments = fetch_window(emulator, "thanhtoan", WIDE_START, WIDE_END)
    assert len(dossiers) > 1500
    invalid = sum(bool(dossier_problems(r)) for r in dossiers) + sum(bool(payment_problems(r)) for r in payments)
    assert 0.001 < invalid / (len(dossiers) + len(payments)) < 0.012


def test_clean_mode_serves_only_plain_valid_records(emulator_factory):
    emu = emulator_factory(seed=9, start="2023-01-01", end="2023-01-20", dossiers_per_day=50, extra=["--clean"])
    dossiers = fetch_window(emu, "hoso", WIDE_START, WIDE_END)
    payments = fetch_window(emu, "thanhtoan", WIDE_START, WIDE_END)
    assert dossiers and payments
    procedures = {p["MaTTHC"] for p in get(emu, "/api/v1/thutuc").json()["duLieu"]}
    agencies = {a["MaDonVi"] for a in get(emu, "/api/v1/donvi").json()["duLieu"]}
    for r in dossiers:
        assert not dossier_problems(r)
        assert r["MaTTHC"] in procedures and r["MaDonVi"] in agencies
        assert isinstance(r["KenhThucHien"], int) and isinstance(r["TrangThaiHoSo"], int)
        assert re.fullmatch(r"\d{14}", r["NgayCapNhat"])
        assert unicodedata.is_normalized("NFC", r["ChuHoSo"])
        assert all(v is None or not isinstance(v, str) or v.strip() == v and v for v in r.values())
    for r in payments:
        assert not payment_problems(r)
        assert isinstance(r["SoTien"], int) and r["SoTien"] > 0 and r["MaHoSo"]
