"""The staging SQL: every parsing macro on literal inputs, and the staging of hand-made landed
files (as received: numbers, strings, lists, NFD text) into the staged schema."""
from __future__ import annotations

import gzip
import json
import unicodedata
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from etl import standardize
from etl.standardize import ENTITIES, STAGED_COLUMNS, STAGING_COLUMNS, LandedFile
from etl.warehouse import ensure_schema


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect()
    standardize.load_macros(connection)
    yield connection
    connection.close()


def evaluate(con, macro: str, value):
    return con.execute(f"SELECT {macro}(?::VARCHAR)", [value]).fetchall()[0][0]


def timestamp_passes(con, value) -> bool:
    """The staging's rule for a timestamp field (<field>_parses): blank is fine, garbage is not."""
    return evaluate(con, "stg_is_blank", value) or evaluate(con, "stg_local_ts", value) is not None


# --------------------------------------------------------------------------- macros

BLANKS = [None, "", " ", "   ", "\t", " \n "]


@pytest.mark.parametrize("value", BLANKS)
def test_blank_values_are_blank_and_null(con, value):
    assert evaluate(con, "stg_is_blank", value) is True
    assert evaluate(con, "stg_blank_to_null", value) is None
    assert evaluate(con, "stg_code", value) is None


@pytest.mark.parametrize("value", ["x", " x", "0", "null"])
def test_present_values_are_not_blank(con, value):
    assert evaluate(con, "stg_is_blank", value) is False


@pytest.mark.parametrize("value, expected", [
    ("000.00.04.G18", "000.00.04.G18"),
    ("  1.005129 ", "1.005129"),
    ("\tTINH\n", "TINH"),
    (nfd("Sở Tư pháp"), "Sở Tư pháp"),
])
def test_code_is_trimmed_and_nfc(con, value, expected):
    assert evaluate(con, "stg_code", value) == expected


@pytest.mark.parametrize("value, expected", [
    ("2", 2), (" 2 ", 2), ("10", 10), ("0", 0), ("007", 7),
    ("4.5", None), ("-1", None), ("2e0", None), ("x", None), ("", None), (None, None),
    ("1 0", None), ("99999999999", None),
])
def test_integer_code(con, value, expected):
    assert evaluate(con, "stg_int_code", value) == expected


@pytest.mark.parametrize("value, expected", [
    ("20230315102030", datetime(2023, 3, 15, 10, 20, 30)),
    ("15/03/2023 10:20:30", datetime(2023, 3, 15, 10, 20, 30)),
    (" 20230315102030 ", datetime(2023, 3, 15, 10, 20, 30)),
    ("29/02/2024 23:59:59", datetime(2024, 2, 29, 23, 59, 59)),
    ("01/01/2023 00:00:00", datetime(2023, 1, 1, 0, 0, 0)),
])
def test_local_timestamp_in_both_source_formats(con, value, expected):
    assert evaluate(con, "stg_local_ts", value) == expected
    assert timestamp_passes(con, value) is True


@pytest.mark.parametrize("value", [
    "31/02/2023 10:00:00",      # no such day
    "29/02/2023 10:00:00",      # not a leap year
    "15/03/2023 25:00:00",      # hour 25
    "15/03/2023 10:00:60",      # second 60
    "2023031510",               # truncated national format
    "20230231100000",           # 31 Feb in the national format
    "1/3/2023 1:02:03",         # strptime alone would accept this shape
    "2023-03-15T10:20:30",      # ISO is not one of the two source formats
    "2023-03-15 10:20:30",
    "15/03/2023",
    "garbage",
])
def test_local_timestamp_rejects_other_shapes_and_unreal_instants(con, value):
    assert evaluate(con, "stg_local_ts", value) is None
    assert timestamp_passes(con, value) is False


@pytest.mark.parametrize("value", BLANKS)
def test_blank_timestamp_is_null_but_not_broken(con, value):
    assert evaluate(con, "stg_local_ts", value) is None
    assert timestamp_passes(con, value) is True


@pytest.mark.parametrize("value, expected", [
    ("1", 1), ("2", 2), ("3", 3), (" 2 ", 2),
    ("Trực tiếp", 1), ("Trực tuyến", 2), ("Bưu chính công ích", 3),
    (nfd("Trực tiếp"), 1), (nfd("Trực tuyến"), 2), (nfd("Bưu chính công ích"), 3),
    (" trực tuyến ", 2), ("TRỰC TUYẾN", 2),
    ("0", None), ("4", None), ("2.0", None), ("Online", None), ("", None), (None, None),
])
def test_channel(con, value, expected):
    assert evaluate(con, "stg_channel", value) == expected


@pytest.mark.parametrize("value, expected", [
    ("1500000", 1_500_000), ("1.500.000", 1_500_000), ("1.500.000 đ", 1_500_000),
    ("1.500.000đ", 1_500_000), (" 1500000 ", 1_500_000), ("0", 0), ("25.000", 25_000),
    ("-1500000", -1_500_000), ("-1.500.000", -1_500_000),
    ("abc", None), ("1,500,000", None), ("1.5", None), ("1.500.00", None), ("15.00.000", None),
    ("1500000 USD", None), ("", None), (None, None),
])
def test_amount_vnd(con, value, expected):
    assert evaluate(con, "stg_amount_vnd", value) == expected


@pytest.mark.parametrize("value, expected", [
    ("1", True), ("0", False), ("true", True), ("false", False), (" 1 ", True),
    ("yes", None), ("2", None), ("", None), (None, None),
])
def test_flag(con, value, expected):
    assert evaluate(con, "stg_flag", value) == expected


@pytest.mark.parametrize("value, expected", [
    ("2023-02-28", date(2023, 2, 28)), (" 2025-07-01 ", date(2025, 7, 1)),
    ("2023-02-30", None), ("2023-2-1", None), ("01/02/2023", None), ("20230201", None),
    ("", None), (None, None),
])
def test_iso_date(con, value, expected):
    assert evaluate(con, "stg_iso_date", value) == expected


@pytest.mark.parametrize("value, expected", [
    ('["TINH","XA"]', ["TINH", "XA"]),
    ('[" tinh ", "HUYEN"]', ["TINH", "HUYEN"]),
    ('["TINH", null, ""]', ["TINH"]),
    ("[]", []),
    ("TINH", ["TINH"]),
    ("TINH, HUYEN", ["TINH", "HUYEN"]),
    ("", None), (None, None),
])
def test_level_list(con, value, expected):
    assert evaluate(con, "stg_level_list", value) == expected


# --------------------------------------------------------------------------- staging SQL

def write_landed(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    path.write_bytes(gzip.compress(lines.encode("utf-8")))
    return path


def staged_rows(con, entity: str, records: list[dict], tmp_path: Path,
                window_start=datetime(2023, 2, 1)) -> list[dict]:
    landed = write_landed(tmp_path / f"{entity}.jsonl.gz", records)
    standardize.stage_entity(con, entity, [LandedFile(landed, window_start)])
    standardize.judge_entity(con, entity, [])
    cursor = con.execute("SELECT * FROM staged ORDER BY row_id")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def test_json_numbers_and_strings_read_alike(con, tmp_path):
    as_number = {"MaHoSo": "A", "MaTTHC": 1.005, "MaDonVi": "G", "KenhThucHien": 2,
                 "TrangThaiHoSo": 4, "HinhThucTra": 1, "NgayCapNhat": 20230201100000}
    as_string = {**as_number, "MaHoSo": "B", "MaTTHC": "1.005", "KenhThucHien": "2",
                 "TrangThaiHoSo": "4", "HinhThucTra": "1", "NgayCapNhat": "20230201100000"}
    first, second = staged_rows(con, "dossier", [as_number, as_string], tmp_path)
    for column in ("procedure_code", "channel_code", "status", "return_method", "updated_at"):
        assert first[column] == second[column], column
    assert first["channel_code"] == 2 and first["status"] == 4
    assert first["updated_at"] == datetime(2023, 2, 1, 10, 0, 0)


def test_procedure_levels_read_from_a_json_list(con, tmp_path):
    record = {"MaTTHC": " 1.005129 ", "TenTTHC": nfd("Cấp phiếu lý lịch tư pháp"),
              "CapThucHien": ["TINH", " HUYEN "], "MucDoDVC": " TOAN_TRINH", "CoPhiLePhi": True,
              "ThanhToanTrucTuyen": False, "ThoiHanGiaiQuyet": 10, "HieuLucTu": "2023-01-01",
              "HieuLucDen": None}
    (row,) = staged_rows(con, "procedure", [record], tmp_path)
    assert row["procedure_code"] == "1.005129"
    assert row["procedure_name"] == "Cấp phiếu lý lịch tư pháp"
    assert row["agency_levels"] == ["TINH", "HUYEN"]
    assert row["service_level"] == "TOAN_TRINH"
    assert (row["has_fee"], row["online_payment"], row["legal_days"]) == (True, False, 10)
    assert row["record_key"] == "1.005129@2023-01-01"
    assert row["valid_from"] == date(2023, 1, 1) and row["valid_to"] is None


def test_record_and_hash_keep_the_landed_line_of_an_invalid_record(con, tmp_path):
    invalid = {"MaDonVi": "G18", "TenDonVi": nfd("Xã Tân Hòa"), "CapDonVi": "XA",
               "HieuLucTu": "2025-07-01"}
    valid = {**invalid, "MaDonVi": "G19"}
    landed = write_landed(tmp_path / "agency.jsonl.gz", [invalid, valid])
    standardize.stage_entity(con, "agency", [LandedFile(landed, datetime(2023, 2, 1))])
    (first_row_id,) = con.execute("SELECT min(row_id) FROM stg_agency").fetchall()[0]
    standardize.judge_entity(con, "agency", [(first_row_id, "some rule failed", 1)])
    cursor = con.execute("SELECT * FROM staged ORDER BY row_id")
    names = [d[0] for d in cursor.description]
    row, kept = [dict(zip(names, r)) for r in cursor.fetchall()]
    line = json.dumps(invalid, ensure_ascii=False)
    assert not row["is_valid"] and row["reasons"] == "some rule failed"
    assert json.loads(row["record"]) == invalid
    assert row["record_hash"] == __import__("hashlib").sha256(row["record"].encode()).hexdigest()
    assert row["agency_name"] == "Xã Tân Hòa" and row["agency_name"] != invalid["TenDonVi"]
    assert row["record"] == line
    # A valid row's line stays in the landing zone only: the quarantine is the one reader.
    assert kept["is_valid"] and kept["record"] is None and kept["record_hash"] is None


@pytest.mark.parametrize("entity", ENTITIES)
def test_staged_columns_have_the_warehouse_types(con, entity):
    """The staged schema is what load inserts BY NAME: same names and types as sql/ddl."""
    standardize.stage_entity(con, entity, [])
    standardize.judge_entity(con, entity, [])
    staged = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE staged)").fetchall())
    for column in STAGED_COLUMNS[entity] + STAGING_COLUMNS:
        assert column in staged, f"{entity}.{column} missing from staging"
    table = {"dossier": "fact_dossier", "payment": "fact_payment", "agency": "dim_agency",
             "procedure": "dim_procedure"}[entity]
    warehouse = duckdb.connect()
    try:
        ensure_schema(warehouse)
        ddl = dict(warehouse.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'core' AND table_name = ?", [table]).fetchall())
    finally:
        warehouse.close()
    for column in STAGED_COLUMNS[entity]:
        assert column in ddl, f"{entity}.{column} is not a column of core.{table}"
        assert staged[column] == ddl[column], f"{entity}.{column}: {staged[column]} vs {ddl[column]}"
    assert staged["window_start"] == "TIMESTAMP"
    assert staged["is_valid"] == staged["superseded"] == "BOOLEAN"


def test_check_columns_are_never_null(con, tmp_path):
    """GX ignores nulls in value-set checks: a null check would let a broken record pass."""
    weird = [{}, {"MaHoSo": None}, {"MaHoSo": "X", "TrangThaiHoSo": "abc", "KenhThucHien": [],
              "NgayNopHoSo": {"a": 1}, "HinhThucTra": "z", "NopTuXa": "?"}]
    staged_rows(con, "dossier", weird, tmp_path)
    frame = con.execute(standardize.check_frame_query("dossier")).df()
    checks = [c for c in frame.columns if c[0].isupper()]
    assert checks and not frame[checks].isna().any().any()
    assert frame[checks].dtypes.map(str).eq("bool").all()


# The fast paths of the macros (trim only when an end is whitespace, lookups by list position)
# must agree with the plain definitions they replace, on every shape of value.
_SHAPES = ["", " ", "\t", "\n", "\r\n", "a", " a", "a ", "\ta\t", "\na", "a\r", "  a  b  ",
           "đ ", " Trực tiếp", "Trực tuyến", nfd("bưu chính công ích "), "TRỰC TIẾP", "1", " 2 ",
           "3", "01", "4", "0", "true", " FALSE ", "True", "yes", "[1]", " {\"a\": 1}", "\u00a0a",
           "a\u0000b", "2\t"]


@pytest.mark.parametrize("value", _SHAPES + [None])
def test_fast_macros_agree_with_their_plain_definitions(con, value):
    (trimmed, code, channel, flag, plain_trim, plain_code, plain_channel, plain_flag) = con.execute(
        """
        SELECT stg_trim($v), stg_code($v), stg_channel($v), stg_flag($v),
               trim($v, E' \\t\\n\\r'),
               CASE WHEN NOT regexp_matches($v, '^\\s*[\\[{]')
                    THEN stg_nfc(nullif(trim($v, E' \\t\\n\\r'), '')) END,
               CASE WHEN stg_int_code($v) IN (1, 2, 3) THEN stg_int_code($v)
                    ELSE CASE lower(stg_code($v)) WHEN 'trực tiếp' THEN 1 WHEN 'trực tuyến' THEN 2
                                                  WHEN 'bưu chính công ích' THEN 3 END END,
               CASE lower(coalesce(stg_code($v), '')) WHEN '1' THEN TRUE WHEN 'true' THEN TRUE
                                                      WHEN '0' THEN FALSE WHEN 'false' THEN FALSE END
        """,
        {"v": value},
    ).fetchall()[0]
    assert (trimmed, code, channel, flag) == (plain_trim, plain_code, plain_channel, plain_flag)


@pytest.mark.parametrize("value", _SHAPES + [None])
def test_code_and_text_of_a_trimmed_value_equal_those_of_the_raw_value(con, value):
    # The staging trims each field once (stg_trimmed) and types the trimmed column: the result
    # must be stg_code's and stg_text's plain definitions of the raw value.
    assert con.execute(
        "SELECT stg_code_trimmed(stg_trimmed($v)), stg_nfc(stg_trimmed($v))", {"v": value}
    ).fetchall() == con.execute(
        """
        SELECT CASE WHEN NOT regexp_matches($v, '^\\s*[\\[{]')
                    THEN stg_nfc(nullif(trim($v, E' \\t\\n\\r'), '')) END,
               stg_nfc(nullif(trim($v, E' \\t\\n\\r'), ''))
        """,
        {"v": value},
    ).fetchall()
