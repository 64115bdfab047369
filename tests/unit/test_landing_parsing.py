"""Landing's pure parts: the Vietnamese calendar day of a window, the two timestamp formats of the
source, deduplication to the latest state, and procedure versions keyed by code and start."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from etl import landing


def test_local_day_window_is_the_vietnamese_calendar_day():
    start, end = landing.local_day_window(date(2023, 12, 31))
    assert start.isoformat() == "2023-12-31T00:00:00+07:00"
    assert end.isoformat() == "2024-01-01T00:00:00+07:00"
    assert start.astimezone(timezone.utc) == datetime(2023, 12, 30, 17, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, expected", [
    ("20230315103000", "20230315103000"),
    ("15/03/2023 10:30:00", "20230315103000"),
    (" 15/03/2023 10:30:00 ", "20230315103000"),
    ("2023031510", None),
    ("20230315253000", None),
    ("31/02/2023 10:00:00", None),
    ("2023-03-15T10:30:00", None),
    ("", None),
    (None, None),
])
def test_source_timestamps_parse_in_exactly_two_formats(text, expected):
    assert landing.parse_source_timestamp(text) == expected


def test_dedup_keeps_the_latest_state_and_never_collapses_empty_keys():
    tracker = landing.WindowTracker(("MaHoSo",))
    page = [
        {"MaHoSo": "A", "NgayCapNhat": "20230101100000", "v": 0},  # 0: older than line 2
        {"MaHoSo": "B", "NgayCapNhat": "01/01/2023 12:00:00", "v": 1},  # 1: newer than line 3
        {"MaHoSo": "A", "NgayCapNhat": "01/01/2023 11:00:00", "v": 2},  # 2: A's latest
        {"MaHoSo": "B", "NgayCapNhat": "20230101110000", "v": 3},  # 3: older, seen later
        {"MaHoSo": "", "NgayCapNhat": "20230101110000", "v": 4},  # 4: empty key, kept
        {"MaHoSo": "  ", "NgayCapNhat": "20230101110000", "v": 5},  # 5: empty key, kept
        {"NgayCapNhat": "20230101110000", "v": 6},  # 6: absent key, kept
    ]
    tracker.add_page(page)
    tracker.add_page([
        {"MaHoSo": "C", "NgayCapNhat": "31/02/2023 10:00:00", "v": 7},  # 7: unparseable sorts lowest
        {"MaHoSo": "C", "NgayCapNhat": "20200101000000", "v": 8},  # 8: C's latest
        {"MaHoSo": "D", "NgayCapNhat": "20230101100000", "v": 9},  # 9: tie ...
        {"MaHoSo": "D", "NgayCapNhat": "01/01/2023 10:00:00", "v": 10},  # 10: ... later-seen wins
    ])
    assert sorted(tracker.superseded) == [0, 3, 7, 9]
    assert tracker.records == 11 and tracker.pages == 2
    assert list(tracker.fields) == ["MaHoSo", "NgayCapNhat", "v"]


def test_procedure_versions_are_keyed_by_code_and_start_trimmed():
    tracker = landing.WindowTracker(("MaTTHC", "HieuLucTu"))
    tracker.add_page([
        {"MaTTHC": " 1.005129", "HieuLucTu": "2022-01-01"},
        {"MaTTHC": "1.005129 ", "HieuLucTu": "2023-07-01"},  # another version: kept
        {"MaTTHC": "1.005129", "HieuLucTu": "2022-01-01 "},  # same version again: later copy wins
        {"MaTTHC": "1.005129", "HieuLucTu": None},  # no key: kept
        {"MaTTHC": "1.005129", "HieuLucTu": None},
    ])
    assert tracker.superseded == [0]
