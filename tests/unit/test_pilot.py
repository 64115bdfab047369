"""The pilot registration file (operations.md, TTHC_PILOT_FILE): parsing, landing, validating."""
from __future__ import annotations

import json
import unicodedata
from dataclasses import replace
from datetime import date

import pytest

from etl import pilot, validation
from etl.config import Settings, from_env

HEADER = "MaDonVi,MaTTHC,TuNgay,DenNgay,Thu\n"


@pytest.mark.parametrize("name, day", [
    ("2", 1), ("7", 6), ("Thứ 4", 3), ("thứ 4", 3), ("THỨ 4", 3), ("T4", 3), ("t6", 5),
    (" 5 ", 4), ("CN", 7), ("cn", 7), ("Chủ nhật", 7), ("CHỦ NHẬT", 7),
    (unicodedata.normalize("NFD", "Chủ nhật"), 7), (unicodedata.normalize("NFD", "Thứ 3"), 2),
])
def test_every_office_spelling_of_a_day_names_the_same_day(name, day):
    assert pilot.weekday(name) == day


@pytest.mark.parametrize("name", ["T9", "8", "1", "Thứ 8", "Thu 4", "CNN", "", " ", "Monday", "T 4",
                                  "Thứ4", "Thứ  4", "chủ  nhật", "Thứ hai"])
def test_unknown_day_names_are_not_days(name):
    assert pilot.weekday(name) is None


def test_a_day_list_is_sorted_distinct_and_empty_means_every_day():
    assert pilot.weekdays("CN, 2,Thứ 2 ,T7") == (1, 6, 7)
    assert pilot.weekdays("") is None and pilot.weekdays("  ") is None
    with pytest.raises(ValueError, match="empty day name"):
        pilot.weekdays("2,,4")
    with pytest.raises(ValueError, match="unknown day name 'T9'"):
        pilot.weekdays("2,T9")


@pytest.mark.parametrize("text, day", [
    ("2024-03-05", date(2024, 3, 5)), ("5/3/2024", date(2024, 3, 5)),
    ("05/03/2024", date(2024, 3, 5)), (" 29/2/2024 ", date(2024, 2, 29)),
])
def test_both_date_formats_parse(text, day):
    assert pilot.pilot_date(text) == day


@pytest.mark.parametrize("text", ["31/02/2024", "2024-3-5", "2024/03/05", "5/3/24", "29/2/2023",
                                  "2024-02-30", "5-3-2024", "x"])
def test_other_dates_do_not_parse(text):
    with pytest.raises(ValueError):
        pilot.pilot_date(text)


def test_columns_are_found_by_header_name_behind_a_byte_order_mark():
    text = "\ufeffThu, MaTTHC ,DenNgay,MaDonVi,TuNgay\r\n\"2,4\",1.005129,,000.00.04.G18,1/2/2024\r\n"
    (row,) = pilot.parse(text).registrations
    assert (row.agency_code, row.procedure_code, row.start_date, row.end_date, row.weekdays) == (
        "000.00.04.G18", "1.005129", date(2024, 2, 1), None, (1, 3))
    assert row.line_number == 2 and row.text == '"2,4",1.005129,,000.00.04.G18,1/2/2024'


def test_codes_are_compared_trimmed_and_nfc():
    text = HEADER + f" 000.00.04.G18 ,{unicodedata.normalize('NFD', ' Mã-ứ ')},2024-01-01,,\n"
    (row,) = pilot.parse(text).registrations
    assert row.agency_code == "000.00.04.G18" and row.procedure_code == unicodedata.normalize("NFC", "Mã-ứ")


def test_unreadable_rows_keep_their_line_text_and_a_reason_naming_the_column():
    text = HEADER + "\n".join([
        "A,P,2024-01-01,,2",            # 2: readable
        "A,P,2024-01-01,,T9",           # 3
        "A,P,2024-01-01,,\"2,,4\"",     # 4
        "A,,2024-01-01,,CN",            # 5
        ",P,2024-01-01,,CN",            # 6
        "A,P,,,CN",                     # 7
        "A,P,31/02/2024,,CN",           # 8
        "A,P,2024-02-01,2024-01-31,",   # 9
        "A,P,2024-02-01,1/13/2024,",    # 10
        "A,P,2024-02-01",               # 11
        "",                             # 12: blank, no record
        "A,P,2024-02-01,,2,extra",      # 13
    ]) + "\n"
    parsed = pilot.parse(text)
    assert [r.line_number for r in parsed.registrations] == [2]
    reasons = {r.line_number: r.reasons for r in parsed.rejected}
    expected = {3: "Thu: unknown day name 'T9'", 4: "Thu: empty day name", 5: "MaTTHC: empty",
                6: "MaDonVi: empty", 7: "TuNgay: empty", 8: "TuNgay: not a date",
                9: "DenNgay: 2024-01-31 is before TuNgay", 10: "DenNgay: not a date",
                11: "row: 3 fields", 13: "row: 6 fields"}
    assert set(reasons) == set(expected)
    for line, reason in expected.items():
        assert reason in "; ".join(reasons[line]), (line, reasons[line])
    assert {r.line_number: r.text for r in parsed.rejected}[11] == "A,P,2024-02-01"
    assert parsed.records == 11


def test_a_quoted_field_over_two_lines_is_one_record_numbered_by_its_first_line():
    text = HEADER + 'A,"P\nQ",2024-01-01,,\nA,P,2024-01-01,,T9\n'
    parsed = pilot.parse(text)
    assert [r.line_number for r in parsed.registrations] == [2]
    assert [r.line_number for r in parsed.rejected] == [4]


def test_a_header_without_a_column_rejects_every_row_naming_it():
    parsed = pilot.parse("MaDonVi,MaTTHC,TuNgay,DenNgay\nA,P,2024-01-01,\n")
    (row,) = parsed.rejected
    assert row.line_number == 2 and "Thu: the header row has no such column" in row.reasons


def test_the_setting_comes_from_the_environment():
    assert from_env({}).pilot_file is None
    assert from_env({"TTHC_PILOT_FILE": " "}).pilot_file is None
    assert str(from_env({"TTHC_PILOT_FILE": "/x/pilot.csv"}).pilot_file) == "/x/pilot.csv"


def test_landing_copies_the_file_untouched_and_no_file_lands_no_pilot(tmp_path):
    source = tmp_path / "pilot.csv"
    content = ("\ufeff" + HEADER + "A,P,2024-01-01,,T4\nA,P,bad,,\n").encode("utf-8")
    source.write_bytes(content)
    settings = Settings(warehouse=tmp_path / "wh" / "tthc.duckdb", raw_dir=tmp_path / "raw",
                        pilot_file=source)
    manifest_path = pilot.land_pilot(settings, date(2024, 3, 1))
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    assert manifest["entity"] == "pilot" and manifest["rows"] == manifest["extracted"] == 2
    (entry,) = manifest["files"]
    assert (manifest_path.parent / entry["path"]).read_bytes() == content
    assert manifest["window_start"] == "2024-03-01T00:00:00+07:00"

    for missing in (None, tmp_path / "absent.csv"):
        manifest_path = pilot.land_pilot(replace(settings, pilot_file=missing), date(2024, 3, 1))
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        assert manifest["files"] == [] and manifest["rows"] == 0
        assert list(manifest_path.parent.glob("data-*")) == []  # the earlier copy is gone


def test_validation_stages_readable_and_quarantined_rows(tmp_path):
    source = tmp_path / "pilot.csv"
    source.write_text(HEADER + "A,P,2024-01-01,,T4\nA,P,2024-01-01,,T4\nA,P,bad,,\n", encoding="utf-8")
    settings = Settings(warehouse=tmp_path / "wh" / "tthc.duckdb", raw_dir=tmp_path / "raw",
                        pilot_file=source)
    batch = validation.validate(settings, [pilot.land_pilot(settings, date(2024, 3, 1))])
    import duckdb

    rows = duckdb.sql(f"SELECT record_key, is_valid, reasons, record, weekdays "
                      f"FROM '{batch / 'pilot.parquet'}' ORDER BY line_number").fetchall()
    assert rows == [("2", True, None, None, [3]), ("3", True, None, None, [3]),
                    ("4", False, "TuNgay: not a date (yyyy-MM-dd or d/M/yyyy): 'bad'", "A,P,bad,,", None)]
    results = json.loads((batch / "validation.json").read_text(encoding="utf-8"))
    (readable,) = [r for r in results if r["entity"] == "pilot"]
    assert readable["unexpected_count"] == 1 and readable["element_count"] == 3


def test_a_file_that_is_not_utf8_is_a_clear_error(tmp_path):
    source = tmp_path / "pilot.csv"
    source.write_bytes(HEADER.encode() + "A,P,2024-01-01,,Thứ 4\n".encode("cp1258", "replace") + b"\xff\n")
    settings = Settings(raw_dir=tmp_path / "raw", pilot_file=source)
    with pytest.raises(pilot.PilotFileError, match="is not UTF-8"):
        pilot.land_pilot(settings, date(2024, 3, 1))
