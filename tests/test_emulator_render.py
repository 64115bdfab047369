"""The emulator's column-wise page renderer serves exactly the bytes of its per-record path.

`Generator.render_page` (what the feeds serve) must equal, byte for byte, `Generator.render` of
each record of the page (the reference, still used by the paging faults): messy and clean
spellings, invalid records, unknown references, every preset. Windows, read from per-day
versions kept for the last clock, must hold exactly the versions current at the clock.
"""
from __future__ import annotations

import datetime as dt
import gzip

import pytest
import requests

from etl.emulator.catalogue import day_number
from etl.emulator.generator import DAY, DOSSIER_SMALL, ID_SPAN, PAYMENT_SMALL, Generator, Options
from etl.emulator.server import page_body, parse_instant, to_local_seconds

FEEDS = {"dossier": "/api/v1/hoso", "payment": "/api/v1/thanhtoan"}


def _local(day: dt.date, hour: int = 0) -> int:
    return day_number(day) * DAY + hour * 3600


def _reference(g: Generator, entity: str, window, lo: int, hi: int) -> list[bytes]:
    return [g.render(entity, e) for e in window.entries(lo, hi)]


def _assert_same_page(g: Generator, entity: str, window, lo: int, hi: int, where: str) -> None:
    page = g.render_page(entity, window, lo, hi)
    expected = b",".join(_reference(g, entity, window, lo, hi))
    if page != expected:  # show where, rather than two pages of bytes
        at = next((n for n, (x, y) in enumerate(zip(page, expected)) if x != y),
                  min(len(page), len(expected)))
        around = slice(max(at - 200, 0), at + 200)
        pytest.fail(f"{where}: first difference at byte {at} (record {expected[:at].count(b'},{')})\n"
                    f" page      {page[around]!r}\n reference {expected[around]!r}")


def _oddities(g: Generator, entity: str, window) -> tuple[int, int]:
    """How many records of the window are served invalid, and how many carry unknown refs."""
    names = DOSSIER_SMALL if entity == "dossier" else PAYMENT_SMALL
    invalid = unknown = 0
    for e in window.entries(0, len(window)):
        dd = g.day(e.day)
        row = dict(zip(names, (dd.small if entity == "dossier" else dd.p_small)[e.index].tolist()))
        invalid += row["invalid"] > 0 and e.slot >= row["invalid_from"]
        unknown += row["unknown_ref"] > 0
    return invalid, unknown


# (options, windows as (start, end, now) local instants, page size)
CASES = {
    "large-messy": (
        Options(seed=7, start=dt.date(2024, 1, 1), end=dt.date(2024, 4, 1), size="large"),
        [(_local(dt.date(2024, 3, 4)), _local(dt.date(2024, 3, 6)), _local(dt.date(2024, 4, 1))),
         (_local(dt.date(2024, 3, 20), 9), _local(dt.date(2024, 3, 20), 15),
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


def test_pages_equal_the_per_record_rendering():
    totals = {"dossier": [0, 0, 0], "payment": [0, 0, 0]}  # records, invalid, unknown refs
    for name, (opts, windows, size) in CASES.items():
        g = Generator(opts)
        for start, end, now in windows:
            for entity in FEEDS:
                window = g.window(entity, start, end, now)
                assert len(window) > 0, (name, entity)
                for lo in range(0, len(window) + size, size):  # and a page past the end
                    _assert_same_page(g, entity, window, lo, lo + size,
                                      f"{name} {entity} window {start}..{end} page at {lo}")
                invalid, unknown = _oddities(g, entity, window)
                for k, count in enumerate((len(window), invalid, unknown)):
                    totals[entity][k] += count
    for entity, (records, invalid, unknown) in totals.items():
        assert records >= 50_000, (entity, records)
        assert invalid >= 200 and unknown >= 200, (entity, invalid, unknown)


def test_odd_page_bounds_and_single_records():
    g = Generator(Options(seed=9, start=dt.date(2024, 5, 1), end=dt.date(2024, 7, 1), size="small",
                          invalid_rate=0.2, unknown_ref_rate=0.2))
    for entity in FEEDS:
        window = g.window(entity, _local(dt.date(2024, 6, 3)), _local(dt.date(2024, 6, 4)),
                          _local(dt.date(2024, 7, 1)))
        n = len(window)
        for lo, hi in [(0, 1), (n - 1, n), (-5, 3), (n, n + 10), (3, 2), (0, n)]:
            _assert_same_page(g, entity, window, lo, hi, f"{entity} [{lo}, {hi})")
        for lo in range(0, n):  # record by record
            _assert_same_page(g, entity, window, lo, lo + 1, f"{entity} record {lo}")


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
    """The HTTP body of every page, plain and gzipped, is the per-record rendering."""
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
        expected = page_body(page, size, pages, len(window), _reference(g, entity, window, lo, lo + size))
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
