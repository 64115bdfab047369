"""The scan for personal data and secrets (issue 6) in every file a test session wrote.

What the emulator generates as personal data — citizen ID numbers, phone numbers and applicants'
names, recognised by the generator's own shapes and word lists, in NFC and NFD — and the API
tokens the tests use. .gz and .zst files are decompressed; DuckDB and Parquet files are searched
as raw bytes and through their text columns.

`scan_at_session_end` runs from tests/conftest.py's pytest_sessionfinish: once every test has
run, pytest's base temp directory holds every file the session's runs wrote (landing zones,
warehouses, quarantine, published copies, Parquet, Data Docs, etl.log files, reports, the Airflow
tests' AIRFLOW_HOME task logs); they and warehouse/ under the repository are scanned, and a
finding fails the session. tests/unit/test_pii_scanner.py shows the scanner and the session check
catch planted values; tests/integration/test_pii.py that the patterns match what the emulator
serves, so a clean scan means something.
"""
from __future__ import annotations

import gzip
import json
import re
import unicodedata
from pathlib import Path
from typing import Callable

import duckdb
import pytest
import zstandard

from etl.emulator.catalogue import PROVINCE_ID_PREFIX
from etl.emulator.generator import (
    BUSINESS_KINDS, BUSINESS_WORDS, FAMILY_NAMES, GIVEN_FEMALE, GIVEN_MALE, MIDDLE_FEMALE, MIDDLE_MALE,
    ORG_KINDS, PHONE_PREFIXES,
)

from .contract_source import TOKEN as CONTRACT_SOURCE_TOKEN
from .emulator import TEST_TOKEN
from .paths import REPO_ROOT
from .tiers import tier_of

TOKENS = (TEST_TOKEN, CONTRACT_SOURCE_TOKEN)

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


# Folders of pytest's base temp directory the session scan leaves out: the unit tests' planted values.
PLANTED_PREFIX = "planted"


def session_scan(basetemp: Path, warehouse: Path | None = REPO_ROOT / "warehouse"):
    """Scan what a session wrote: every folder of `basetemp` but the planted ones, and `warehouse`
    when it exists. Returns (findings by file, files read per kind, the roots scanned)."""
    roots = [p for p in sorted(Path(basetemp).iterdir()) if p.is_dir() and not p.name.startswith(PLANTED_PREFIX)]
    if warehouse is not None and Path(warehouse).is_dir():
        roots.append(Path(warehouse))
    findings, kinds = scan(roots)
    return findings, kinds, roots


def scan_at_session_end(session, warehouse: Path | None = REPO_ROOT / "warehouse") -> None:
    """pytest_sessionfinish: after a session that ran more than unit tests (those write no pipeline
    output), scan what it wrote; on a finding, print it and fail the session."""
    config = session.config
    if config.option.collectonly or session.exitstatus == pytest.ExitCode.INTERRUPTED:
        return
    if all(tier_of(item.path) == "unit" for item in session.items):
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    write: Callable[..., None] = reporter.write_line if reporter else (lambda line, **_: print(line))
    try:
        findings, kinds, roots = session_scan(config._tmp_path_factory.getbasetemp(), warehouse)
    except Exception as exc:  # a scan that cannot run is a failed check, never a silent pass
        write(f"[pii] the session-end scan failed: {type(exc).__name__}: {exc}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return
    write(f"[pii] session-end scan: {sum(kinds.values())} files under {len(roots)} roots: {kinds}; "
          f"{len(findings)} with findings")
    if findings:
        write("[pii] personal data or a token in files the tests wrote (first 20):", red=True, bold=True)
        for path, hits in list(findings.items())[:20]:
            write(f"[pii]   {path}: {json.dumps(hits, ensure_ascii=False)}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
