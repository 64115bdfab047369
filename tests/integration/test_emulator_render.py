"""The emulator's renderer serves the generated records in the shapes source-api.md allows.

Every page of a few windows (messy and clean spellings, invalid records, unknown references,
every preset) is read back with the test suite's own reading of the contract
(support.source_api): a valid record reads as the version generated for it, an invalid one
is invalid for the reason it was generated with, and every messy shape appears. A record
rendered alone (the paging faults) is the record of its page. Windows, read from per-day
versions kept for the last clock, must hold exactly the versions current at the clock.
"""
from __future__ import annotations

import datetime as dt
import gzip
import json
import unicodedata
from collections import Counter

import pytest
import requests

from etl.contract import ENTITIES
from etl.emulator.catalogue import day_number, day_of
from etl.emulator.days import DOSSIER_SMALL, PAYMENT_SMALL, Options
from etl.emulator.generator import Generator
from etl.emulator.vocabulary import DOSSIER_INVALID_KINDS, PAYMENT_INVALID_KINDS
from etl.emulator.windows import ID_SPAN
from etl.emulator.workdays import DAY
from etl.emulator.server import page_body, parse_instant, to_local_seconds
from support.source_api import amount, channel_code, dossier_problems, int_code, parse_ts, payment_problems

FEEDS = {name: ENTITIES[name].path for name in ("dossier", "payment")}
STATUS = ("khoi-tao", "thanh-cong", "that-bai", "hoan-phi")
# The reason support.source_api's reading gives for each kind of invalid record.
DOSSIER_REASONS = {"MaHoSo_empty": "empty MaHoSo", "MaTTHC_empty": "empty MaTTHC", "MaDonVi_empty": "empty MaDonVi",
                   "TrangThaiHoSo_out_of_range": "TrangThaiHoSo", "TrangThaiHoSo_not_integer": "TrangThaiHoSo",
                   "KenhThucHien_invalid": "KenhThucHien", "timestamp_impossible_date": "timestamp NgayNopHoSo",
                   "timestamp_bad_format": "timestamp NgayNopHoSo", "timestamp_bad_hour": "timestamp NgayNopHoSo"}
PAYMENT_REASONS = {"MaGiaoDich_empty": "empty MaGiaoDich", "SoTien_empty": "SoTien empty",
                   "SoTien_unparseable": "SoTien unparseable", "SoTien_negative": "SoTien negative",
                   "HinhThucThanhToan_invalid": "HinhThucThanhToan", "TrangThai_invalid": "TrangThai",
                   "ThoiGianGD_empty": "ThoiGianGD empty", "ThoiGianGD_unparseable": "ThoiGianGD unparseable"}


def _local(day: dt.date, hour: int = 0) -> int:
    return day_number(day) * DAY + hour * 3600


def _wall(seconds: int) -> dt.datetime:
    """Local seconds as the naive local datetime a source timestamp reads as."""
    return dt.datetime(1970, 1, 1) + dt.timedelta(seconds=int(seconds))


def _shape(value) -> str:
    """How a value is spelled: the contract allows several shapes of one value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "number"
    if not isinstance(value, str):
        return type(value).__name__
    if not value.strip():
        return "spaces" if value else "empty string"
    if value != value.strip():
        return "padded"
    if unicodedata.normalize("NFC", value) != value:
        return "NFD"
    if value.isdigit() and len(value) == 14:
        return "yyyyMMddHHmmss"
    if "/" in value:
        return "dd/MM/yyyy"
    if value.replace(".", "").isdigit() and "." in value:
        return "dotted"
    return "digits" if value.isdigit() else ("with unit" if value.endswith("đ") else "text")


# (options, windows as (start, end, now) local instants, page size)
CASES = {
    "large-messy": (
        Options(seed=7, start=dt.date(2024, 1, 1), end=dt.date(2024, 4, 1), size="large"),
        [(_local(dt.date(2024, 3, 20), 9), _local(dt.date(2024, 3, 20), 15),
          _local(dt.date(2024, 3, 25))),
         # the first days: fewer earlier days feed the window
         (_local(dt.date(2024, 1, 1)), _local(dt.date(2024, 1, 2)), _local(dt.date(2024, 4, 1)))],
        5000),
    "medium-many-defects": (
        Options(seed=3, start=dt.date(2025, 5, 1), end=dt.date(2025, 8, 1), size="medium",
                invalid_rate=0.08, unknown_ref_rate=0.08),
        # spans the 1 July 2025 reorganization; a clock in the window hides later versions
        [(_local(dt.date(2025, 6, 28)), _local(dt.date(2025, 7, 3)), _local(dt.date(2025, 7, 2), 11))],
        777),
    "medium-clean": (
        Options(seed=11, start=dt.date(2023, 9, 1), end=dt.date(2023, 12, 1), size="medium", clean=True),
        [(_local(dt.date(2023, 10, 2)), _local(dt.date(2023, 10, 6)), _local(dt.date(2023, 12, 1)))],
        1000),
    "small-own-volume": (
        Options(seed=5, start=dt.date(2024, 12, 1), end=dt.date(2025, 3, 1), size="small",
                dossiers_per_day=1500, invalid_rate=0.02, unknown_ref_rate=0.02),
        # Tết and New Year: holidays move office work around
        [(_local(dt.date(2024, 12, 30)), _local(dt.date(2025, 2, 5)), _local(dt.date(2025, 3, 1)))],
        4999),
}


def _generated(g: Generator, entity: str, window, lo: int, hi: int) -> list[dict]:
    """What was generated for records [lo, hi) of the window: columns, times, status, uniforms."""
    names = DOSSIER_SMALL if entity == "dossier" else PAYMENT_SMALL
    rows = []
    for e in window.entries(lo, hi):
        dd = g.day(e.day)
        small = dd.small if entity == "dossier" else dd.p_small
        t = (dd.t if entity == "dossier" else dd.p_t)[e.index].tolist()
        st = (dd.st if entity == "dossier" else dd.p_st)[e.index, e.slot]
        row = dict(zip(names, small[e.index].tolist()), t=t, status=int(st), slot=e.slot, day=e.day)
        if entity == "payment":
            row["agency"], row["proc"] = dd.small[row["dossier"], :2].tolist()
        rows.append(row)
    return rows


def _check_record(g: Generator, entity: str, record: dict, row: dict, shapes: Counter, reasons: Counter) -> None:
    """A record reads as what was generated for it (support.source_api's reading of the contract)."""
    cat = g.catalogue
    for name, value in record.items():
        shapes[(name, _shape(value))] += 1
    problems = (dossier_problems if entity == "dossier" else payment_problems)(record)
    if row["invalid"] and row["slot"] >= row["invalid_from"]:
        kind = (DOSSIER_INVALID_KINDS if entity == "dossier" else PAYMENT_INVALID_KINDS)[row["invalid"] - 1]
        expected = (DOSSIER_REASONS if entity == "dossier" else PAYMENT_REASONS)[kind]
        assert problems == [expected], (kind, record)
        reasons[kind] += 1
        return
    assert problems == [], (problems, record)
    assert parse_ts(record["NgayCapNhat"]) == _wall(row["t"][row["slot"]]), record
    proc_code, agency_code = record["MaTTHC"].strip(), record["MaDonVi"].strip()
    assert (proc_code == cat.procedures[row["proc"]].code) == (row["unknown_ref"] != 1), record
    assert (agency_code == cat.agencies[row["agency"]].code) == (row["unknown_ref"] != 2), record
    first = min(row["t"][:2])  # submitted, else received (initiated, else settled)
    if entity == "dossier":
        assert int_code(record["TrangThaiHoSo"]) == row["status"], record
        assert channel_code(record["KenhThucHien"]) == row["channel"], record
        assert parse_ts(record["NgayNopHoSo"]) == _wall(first), record
        assert record["MaHoSo"].rsplit("-", 2)[1] == day_of(row["day"]).strftime("%Y%m%d"), record
    else:
        assert amount(record["SoTien"]) == int(cat.proc_fee[row["proc"]]), record
        assert record["TrangThai"].strip() == STATUS[row["status"]], record
        assert parse_ts(record["ThoiGianGD"]) == _wall(first), record
        assert (record.get("MaHoSo") or "").strip() != "" or row["unknown_ref"] == 3, record


def _read_window(g: Generator, entity: str, window, size: int, shapes: Counter, reasons: Counter) -> None:
    """Every page of the window, and a page past the end, read back record by record."""
    key, order = ("MaHoSo" if entity == "dossier" else "MaGiaoDich"), []
    for lo in range(0, len(window) + size, size):
        page = json.loads(b"[" + g.render_page(entity, window, lo, lo + size) + b"]")
        rows = _generated(g, entity, window, lo, lo + size)
        assert len(page) == len(rows) == max(0, min(size, len(window) - lo))
        for record, row in zip(page, rows):
            _check_record(g, entity, record, row, shapes, reasons)
        problems = dossier_problems if entity == "dossier" else payment_problems
        order += [(parse_ts(r["NgayCapNhat"]), r[key]) for r in page if not problems(r)]
    assert order == sorted(order), "pages are ordered by (NgayCapNhat, key)"


# Spellings source-api.md allows, that the messy cases must serve and the clean one must not.
MESSY_SHAPES = [("NgayCapNhat", "dd/MM/yyyy"), ("KenhThucHien", "digits"), ("KenhThucHien", "text"),
                ("KenhThucHien", "NFD"), ("MaTTHC", "padded"), ("MaDonVi", "padded"), ("ChuHoSo", "NFD"),
                ("TrangThaiHoSo", "digits"), ("TrangThaiHoSo", "padded"), ("SoDienThoai", "empty string"), ("SoDienThoai", "spaces"), ("SoTien", "digits"),
                ("SoTien", "dotted"), ("SoTien", "with unit"), ("TrangThai", "padded"),
                ("KenhThanhToan", "spaces"), ("HoSoCoThanhPhanSoHoa", "number")]


def test_pages_read_as_the_generated_records_in_the_contract_shapes():
    totals = Counter()
    for name, (opts, windows, size) in CASES.items():
        g = Generator(opts)
        shapes, reasons = Counter(), Counter()
        for start, end, now in windows:
            for entity in FEEDS:
                window = g.window(entity, start, end, now)
                assert len(window) > 0, (name, entity)
                _read_window(g, entity, window, size, shapes, reasons)
                totals[entity] += len(window)
        missing = [shape for shape in MESSY_SHAPES if not shapes[shape]]
        if opts.clean:
            assert not reasons and len(missing) == len(MESSY_SHAPES), (name, reasons, shapes)
        else:
            assert not missing, (name, missing)
        if opts.invalid_rate >= 0.05:
            assert set(reasons) == set(DOSSIER_INVALID_KINDS) | set(PAYMENT_INVALID_KINDS), (name, reasons)
    assert totals["dossier"] >= 30_000 and totals["payment"] >= 10_000, totals


def test_a_record_alone_is_the_record_in_its_page():
    """The paging faults serve single records: each is, byte for byte, the record of its page."""
    g = Generator(Options(seed=9, start=dt.date(2024, 5, 1), end=dt.date(2024, 7, 1), size="small",
                          invalid_rate=0.2, unknown_ref_rate=0.2))
    for entity in FEEDS:
        window = g.window(entity, _local(dt.date(2024, 6, 3)), _local(dt.date(2024, 6, 4)),
                          _local(dt.date(2024, 7, 1)))
        n = len(window)
        alone = [g.render_records(entity, *window.rows(lo, lo + 1)) for lo in range(n)]
        assert g.render_page(entity, window, 0, n) == b",".join(alone)
        for lo, hi in [(0, 1), (n - 1, n), (-5, 3), (3, 2), (n, n + 10)]:
            assert g.render_page(entity, window, lo, hi) == b",".join(alone[max(lo, 0):max(hi, 0)])
        invalid = [r for r in json.loads(b"[" + b",".join(alone) + b"]")
                   if (dossier_problems if entity == "dossier" else payment_problems)(r)]
        assert len(invalid) >= 3, entity  # the invalid records' rows are rendered alone too


def _brute_force_window(g: Generator, entity: str, start: int, end: int, now: int) -> list[tuple]:
    """(time, id, slot) of every record whose latest version at `now` has its time in [start, end)."""
    rows = []
    for day in range(g.first_day, g.end_day):
        dd = g.day(day)
        for index, times in enumerate((dd.t if entity == "dossier" else dd.p_t).tolist()):
            visible = [slot for slot, t in enumerate(times) if t <= now]
            if visible and start <= times[visible[-1]] < end:
                rows.append((times[visible[-1]], day * ID_SPAN + index, visible[-1]))
    return sorted(rows)


def test_windows_hold_the_versions_current_at_the_clock():
    opts = Options(seed=13, start=dt.date(2024, 2, 1), end=dt.date(2024, 5, 1), size="small")
    # Two generators: reading every day for the brute force must not evict the days (and the
    # versions they keep for the last clock) of the one under test.
    g, reference = Generator(opts), Generator(opts)
    may = _local(dt.date(2024, 5, 1))
    cases = [  # (start, end, now); the clock moves back and forth over the same days
        (_local(dt.date(2024, 3, 1)), _local(dt.date(2024, 3, 2)), may),
        (_local(dt.date(2024, 3, 1)), _local(dt.date(2024, 3, 2)), _local(dt.date(2024, 3, 1), 14)),
        (_local(dt.date(2024, 2, 27), 9), _local(dt.date(2024, 3, 4), 17), may),
        (_local(dt.date(2024, 3, 1)), _local(dt.date(2024, 3, 2)), may),
        (_local(dt.date(2024, 1, 1)), _local(dt.date(2024, 8, 1)), _local(dt.date(2024, 3, 15), 12)),
        (_local(dt.date(2024, 4, 30), 23), _local(dt.date(2024, 6, 1)), may),
        (_local(dt.date(2024, 3, 5)), _local(dt.date(2024, 3, 5)), may),
    ]
    for start, end, now in cases:
        for entity in FEEDS:
            window = g.window(entity, start, end, now)
            served = sorted(zip(window.t.tolist(), window.iid.tolist(), window.slot.tolist()))
            expected = _brute_force_window(reference, entity, start, end, now)
            assert served == expected, (entity, start, end, now)
            order = list(zip(window.t.tolist(), window.key.tolist(), window.iid.tolist()))
            assert order == sorted(order)


@pytest.mark.parametrize("entity", sorted(FEEDS))
def test_served_pages_are_the_reference_bytes(emulator, entity):
    """The HTTP body of every page, plain and gzipped, is the generator's rendering."""
    # The shared emulator (tests/conftest.py): seed 7, 2023-01-01..2023-03-01, 40 dossiers/day.
    g = Generator(Options(seed=7, start=dt.date(2023, 1, 1), end=dt.date(2023, 3, 1), dossiers_per_day=40))
    state = requests.get(f"{emulator.url}/_emulator/state",
                         headers={"Authorization": f"Bearer {emulator.token}"}, timeout=30).json()
    now = int(to_local_seconds(parse_instant(state["now"])))
    start, end, size = _local(dt.date(2023, 1, 20)), _local(dt.date(2023, 2, 10)), 100
    window = g.window(entity, start, end, now)
    pages = -(-len(window) // size)
    assert pages >= 3
    for page in range(1, pages + 2):
        lo = (page - 1) * size
        records = g.render_page(entity, window, lo, lo + size)
        expected = page_body(page, size, pages, len(window), [records] if records else [])
        params = {"tuNgay": "2023-01-20T00:00:00+07:00", "denNgay": "2023-02-10T00:00:00+07:00",
                  "trang": page, "soBanGhi": size}
        for encoding in ("identity", "gzip"):
            response = requests.get(f"{emulator.url}{FEEDS[entity]}", params=params, stream=True, timeout=30,
                                    headers={"Authorization": f"Bearer {emulator.token}",
                                             "Accept-Encoding": encoding})
            assert response.status_code == 200
            raw = response.raw.read(decode_content=False)
            if encoding == "gzip":
                assert response.headers["Content-Encoding"] == "gzip"
                assert raw == gzip.compress(expected, compresslevel=1, mtime=0), (entity, page)
            else:
                assert raw == expected, (entity, page)
