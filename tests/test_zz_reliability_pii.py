"""Personal data and secrets (issue 6), scanned after everything else has run.

Named test_zz_… so pytest runs it last within tests/: by then pytest's base temp directory holds
every file the suite's runs wrote (landing zones, warehouses, quarantine, published copies,
Parquet, Data Docs, etl.log files, reports, the Airflow tests' AIRFLOW_HOME task logs). They and
warehouse/ under the repository are scanned for what the emulator generates as personal data —
citizen ID numbers, phone numbers and applicants' names, recognised by the generator's own
shapes and word lists, in NFC and NFD — and for the API tokens the tests use. .gz and .zst files
are decompressed; DuckDB and Parquet files are searched as raw bytes and through their text columns.
The scanner is first shown to catch planted values in every kind of file, and the patterns are
shown to match what the emulator actually serves, so a clean scan means something.
"""
from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import duckdb
import pytest
import requests
import zstandard

from conftest import REPO_ROOT, TEST_TOKEN, env_for
from etl.emulator.catalogue import PROVINCE_ID_PREFIX
from etl.emulator.generator import (
    BUSINESS_KINDS, BUSINESS_WORDS, FAMILY_NAMES, GIVEN_FEMALE, GIVEN_MALE, MIDDLE_FEMALE, MIDDLE_MALE,
    ORG_KINDS, PHONE_PREFIXES,
)
from reliability_helpers import run_pipeline
from test_reliability_bad_input import TOKEN as BAD_INPUT_TOKEN

TOKENS = (TEST_TOKEN, BAD_INPUT_TOKEN)

# A citizen ID the generator issues: 0 + province code, century/gender digit, two-digit year, six
# digits; never part of a longer run of hex digits (hashes and run ids are hex).
ID_RE = rf"0{PROVINCE_ID_PREFIX:02d}[0-3][0-9]{{8}}"
PHONE_RE = "0(?:" + "|".join(f"{p:02d}" for p in PHONE_PREFIXES) + ")[0-9]{7}"
_person = "(?:" + "|".join(FAMILY_NAMES) + ") (?:" + "|".join(sorted(set(MIDDLE_MALE + MIDDLE_FEMALE))) \
    + ") (?:" + "|".join(sorted(set(GIVEN_MALE + GIVEN_FEMALE), key=len, reverse=True)) + ")"
_business = "(?:" + "|".join(sorted(BUSINESS_KINDS + ORG_KINDS, key=len, reverse=True)) + ") (?:" \
    + "|".join(BUSINESS_WORDS) + ")"
NAME_RE = f"(?:{_person}|{_business})"
# Bounds of a number: not inside a run of hex digits (hashes, run ids), and not the fraction of
# a timestamp followed by the next one's year (".088740" + "2026-…" in Airflow's database).
BEFORE, AFTER = "[^0-9A-Fa-f.]", "[^0-9A-Fa-f-]"


HEX = frozenset(b"0123456789abcdefABCDEF")
NOT_BEFORE, NOT_AFTER = HEX | {ord(".")}, HEX | {ord("-")}
_ID_BYTES = re.compile(ID_RE.encode())
_PHONE_BYTES = re.compile(PHONE_RE.encode())
# Names: found fast by their family name (a literal search), then matched in full at that spot.
_NAME_FORMS = {form: re.compile(unicodedata.normalize(form, NAME_RE).encode()) for form in ("NFC", "NFD")}
_NAME_STARTS = {form: sorted({unicodedata.normalize(form, word).encode()
                              for word in FAMILY_NAMES + [k.split()[0] for k in BUSINESS_KINDS + ORG_KINDS]})
                for form in _NAME_FORMS}


def _bounded(data: bytes, pattern: re.Pattern) -> bytes | None:
    """The first match within the bounds above."""
    for match in pattern.finditer(data):
        start, end = match.span()
        if (start == 0 or data[start - 1] not in NOT_BEFORE) and (end == len(data) or data[end] not in NOT_AFTER):
            return match.group(0)
    return None


def _name(data: bytes, form: str) -> bytes | None:
    pattern = _NAME_FORMS[form]
    for word in _NAME_STARTS[form]:
        position = data.find(word)
        while position != -1:
            match = pattern.match(data, position)
            if match:
                return match.group(0)
            position = data.find(word, position + 1)
    return None


def _scan_bytes(data: bytes) -> list[str]:
    found = {
        "ID number": _bounded(data, _ID_BYTES),
        "phone number": _bounded(data, _PHONE_BYTES),
        "name (NFC)": _name(data, "NFC"),
        "name (NFD)": _name(data, "NFD"),
        **{f"API token {n}": token.encode() if token.encode() in data else None
           for n, token in enumerate(TOKENS)},
    }
    return [f"{label}: {value[:40]!r}" for label, value in found.items() if value]


# The same for DuckDB's RE2 over text columns (no look-around: explicit non-hex boundaries),
# as one expression per relation; a matching row is then labelled by the byte scanner.
SQL_PATTERN = "|".join([
    f"(^|{BEFORE}){ID_RE}({AFTER}|$)",
    f"(^|{BEFORE}){PHONE_RE}({AFTER}|$)",
    unicodedata.normalize("NFC", NAME_RE),
    unicodedata.normalize("NFD", NAME_RE),
    *(re.escape(t) for t in TOKENS),
])


def _scan_tables(con: duckdb.DuckDBPyConnection, relations: list[tuple[str, list[str]]]) -> list[str]:
    hits = []
    for relation, columns in relations:
        if not columns:
            continue
        text = "concat_ws(' | ', " + ", ".join(f'"{c}"' for c in columns) + ")"
        rows = con.execute(f"SELECT {text} FROM {relation} WHERE regexp_matches({text}, ?) LIMIT 3",
                           [SQL_PATTERN]).fetchall()
        for row, in rows:
            hits += [f"{hit} in {relation}" for hit in _scan_bytes(row.encode())] or [f"match in {relation}: {row[:80]!r}"]
    return hits


def _duckdb_text_hits(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    con.execute("ATTACH ? AS scanned (READ_ONLY)", [str(path)])
    try:
        columns = con.execute(
            "SELECT schema_name, table_name, list(column_name ORDER BY column_index) FROM duckdb_columns() "
            "WHERE database_name = 'scanned' AND data_type = 'VARCHAR' AND NOT internal "
            "AND table_name IN (SELECT table_name FROM duckdb_tables() WHERE database_name = 'scanned') "
            "GROUP BY 1, 2").fetchall()
        return _scan_tables(con, [(f'scanned."{s}"."{t}"', cols) for s, t, cols in columns])
    finally:
        con.execute("DETACH scanned")


def _parquet_text_hits(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    relation = f"read_parquet('{path.as_posix()}')"
    columns = [name for name, kind, *_ in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
               if kind == "VARCHAR"]
    return _scan_tables(con, [(relation, columns)])


# Static assets Great Expectations copies into every Data Docs site (fonts, images): not data.
STATIC_ASSETS = (".gif", ".png", ".jpg", ".ico", ".otf", ".ttf", ".woff", ".woff2", ".eot")


def scan(roots: list[Path]) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Every file under `roots`: findings by file, and how many files of each kind were read.
    DuckDB and Parquet files are read through their text columns (their strings are compressed),
    or as raw bytes when they cannot be opened."""
    findings: dict[str, list[str]] = {}
    kinds: dict[str, int] = {}
    con = duckdb.connect()
    try:
        _scan_roots(con, roots, findings, kinds)
    finally:
        con.close()
    return findings, kinds


def _scan_roots(con, roots: list[Path], findings: dict[str, list[str]], kinds: dict[str, int]) -> None:
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
            name = path.name
            if name.lower().endswith(STATIC_ASSETS):
                continue
            try:
                data = path.read_bytes()
            except OSError:
                continue
            hits: list[str] = []
            if name.endswith(".gz"):
                kind = "gzip"
                hits = _scan_bytes(data)
                try:
                    hits += _scan_bytes(gzip.decompress(data))
                except (OSError, EOFError):
                    hits.append("unreadable gzip")
            elif name.endswith(".zst"):
                kind = "zstd"
                hits = _scan_bytes(data)
                try:
                    with zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True) as reader:
                        hits += _scan_bytes(reader.read())
                except zstandard.ZstdError:
                    hits.append("unreadable zstd")
            elif data[:4] == b"PAR1":
                kind = "parquet"
                try:
                    hits = _parquet_text_hits(con, path)
                except duckdb.Error:
                    kind, hits = "parquet (raw bytes)", _scan_bytes(data)
            elif data[8:12] == b"DUCK":
                kind = "duckdb"
                try:
                    hits = _duckdb_text_hits(con, path)
                except duckdb.Error:
                    kind, hits = "duckdb (raw bytes)", _scan_bytes(data)
            else:
                kind = "log" if name.endswith(".log") else "other"
                hits = _scan_bytes(data)
            kinds[kind] = kinds.get(kind, 0) + 1
            if hits:
                findings[str(path)] = hits


def test_the_patterns_match_what_the_emulator_serves(emulator):
    response = requests.get(
        f"{emulator.url}/api/v1/hoso",
        params={"tuNgay": "2023-01-01T00:00:00+07:00", "denNgay": "2023-03-01T00:00:00+07:00", "soBanGhi": 5000},
        headers={"Authorization": f"Bearer {emulator.token}"}, timeout=60)
    response.raise_for_status()
    records = response.json()["duLieu"]
    assert len(records) > 50
    people = 0
    for record in records:
        line = json.dumps(record, ensure_ascii=False).encode()
        assert _bounded(record["SoGiayToChuHoSo"].encode(), _ID_BYTES), record["SoGiayToChuHoSo"]
        if (record.get("SoDienThoai") or "").strip():
            assert _bounded(record["SoDienThoai"].encode(), _PHONE_BYTES), record["SoDienThoai"]
        name = record["ChuHoSo"].encode()
        assert _name(name, "NFC") or _name(name, "NFD"), record["ChuHoSo"]
        people += 1
        # Nothing else in a record looks like personal data (no false alarms from codes and times).
        rest = {k: v for k, v in record.items() if k not in ("ChuHoSo", "SoGiayToChuHoSo", "SoDienThoai")}
        assert not _scan_bytes(json.dumps(rest, ensure_ascii=False).encode()), rest
    assert people == len(records)


def test_the_scanner_finds_planted_values_in_every_kind_of_file(tmp_path_factory):
    plant = tmp_path_factory.mktemp("planted")  # removed from the final scan's roots below
    person, id_number, phone = "Nguyễn Văn An", f"0{PROVINCE_ID_PREFIX:02d}190123456", "0912345678"
    (plant / "a.jsonl.gz").write_bytes(gzip.compress(json.dumps({"x": id_number}).encode()))
    (plant / "g.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(json.dumps({"x": phone}).encode()))
    (plant / "b.log").write_text(f"Authorization: Bearer {TEST_TOKEN}\n")
    (plant / "c.html").write_text(unicodedata.normalize("NFD", person))
    con = duckdb.connect(str(plant / "d.duckdb"))
    con.execute("CREATE TABLE t AS SELECT 'x' || range AS a, ? AS b FROM range(5000)", [phone])
    con.execute(f"COPY t TO '{(plant / 'e.parquet').as_posix()}' (FORMAT parquet)")
    con.close()
    (plant / "f.json").write_text(json.dumps({"hash": "ab" + id_number + "cd", "at": "20230315103000",
                                              "key": "GD2023010900000121"}))
    findings, _ = scan([plant])
    found = {Path(p).name for p in findings}
    assert found == {"a.jsonl.gz", "b.log", "c.html", "d.duckdb", "e.parquet", "g.jsonl.zst"}, findings


@pytest.fixture(scope="module")
def own_run(emulator, tmp_path_factory):
    """A run of the pipeline, so the scan always has landing, warehouse, published and Parquet
    files even when this file runs alone (the suite's CLI runs add etl.log files and reports)."""
    from etl.config import Settings

    root = tmp_path_factory.mktemp("pii-run")
    settings = Settings(api_url=emulator.url, api_token=emulator.token,
                        warehouse=root / "warehouse" / "tthc.duckdb", raw_dir=root / "warehouse" / "raw",
                        published=root / "warehouse" / "published" / "tthc.duckdb", pii_key="pii-scan-key")
    run_pipeline(settings, "2023-01-20", "2023-01-23")
    return settings


def test_no_personal_data_nor_token_in_any_file_the_suite_wrote(own_run, tmp_path_factory):
    base = tmp_path_factory.getbasetemp()
    roots = [p for p in base.iterdir() if p.is_dir() and not p.name.startswith("planted")]
    warehouse = REPO_ROOT / "warehouse"
    if warehouse.is_dir():
        roots.append(warehouse)
    findings, kinds = scan(roots)
    print(f"\n[pii] scanned {sum(kinds.values())} files under {len(roots)} roots: {kinds}; "
          f"{len(findings)} with findings")
    assert kinds.get("zstd", 0) and kinds.get("duckdb", 0) and kinds.get("parquet", 0)
    assert findings == {}, json.dumps(dict(list(findings.items())[:20]), ensure_ascii=False, indent=1)


def test_without_a_pii_key_the_airflow_task_refuses_and_says_why(tmp_path):
    """The Airflow task body (etl.orchestration.extract) refuses like the CLI does (test_cli)."""
    code = ("import datetime, sys\n"
            "from etl import orchestration\n"
            "try:\n"
            "    orchestration.extract('dossier', datetime.date(2023, 1, 2))\n"
            "except BaseException as exc:\n"
            "    print(type(exc).__name__ + ': ' + str(exc)); sys.exit(3)\n")
    env = {k: v for k, v in env_for_no_key(tmp_path).items()}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    print(f"\n[pii] Airflow task without TTHC_PII_KEY: {result.stdout.strip()[-300:]}")
    assert result.returncode == 3, result.stdout + result.stderr[-2000:]
    assert "TTHC_PII_KEY" in result.stdout
    assert not (tmp_path / "warehouse" / "raw").exists() or not any((tmp_path / "warehouse" / "raw").rglob("*.jsonl*"))


def env_for_no_key(tmp_path: Path) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TTHC_", "AIRFLOW"))}
    env.update(AIRFLOW_HOME=str(tmp_path / "airflow_home"), PYTHONPATH=str(REPO_ROOT),
               AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW_CONN_TTHC_API=json.dumps({"conn_type": "http", "host": "http://127.0.0.1:9",
                                                 "password": TEST_TOKEN}),
               TTHC_WAREHOUSE=str(tmp_path / "warehouse" / "tthc.duckdb"),
               TTHC_RAW_DIR=str(tmp_path / "warehouse" / "raw"),
               TTHC_PUBLISHED=str(tmp_path / "warehouse" / "published" / "tthc.duckdb"))
    return env
