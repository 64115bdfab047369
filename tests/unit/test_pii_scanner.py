"""The personal-data scan (support.pii) catches planted values in every kind of file, and the
session-end check fails the session on them, so a clean scan means something.
"""
from __future__ import annotations

import gzip
import json
import unicodedata
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
import zstandard

from etl.emulator.catalogue import PROVINCE_ID_PREFIX
from support import TEST_TOKEN
from support.pii import scan, scan_at_session_end

PERSON, PHONE = "Nguyễn Văn An", "0912345678"
ID_NUMBER = f"0{PROVINCE_ID_PREFIX:02d}190123456"


def test_the_scanner_finds_planted_values_in_every_kind_of_file(tmp_path_factory):
    plant = tmp_path_factory.mktemp("planted")  # removed from the final scan's roots below
    person, id_number, phone = PERSON, ID_NUMBER, PHONE
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




class _Reporter:
    def __init__(self):
        self.lines: list[str] = []

    def write_line(self, line: str, **markup) -> None:
        self.lines.append(line)


def _session(basetemp: Path, tiers: list[str]):
    """What scan_at_session_end reads of a pytest session: its options, temp folder and items."""
    reporter = _Reporter()
    config = SimpleNamespace(
        option=SimpleNamespace(collectonly=False),
        pluginmanager=SimpleNamespace(get_plugin=lambda name: reporter),
        _tmp_path_factory=SimpleNamespace(getbasetemp=lambda: basetemp),
    )
    tests = Path(__file__).resolve().parent.parent
    items = [SimpleNamespace(path=tests / tier / "test_x.py") for tier in tiers]
    return SimpleNamespace(config=config, items=items, exitstatus=pytest.ExitCode.OK), reporter


def test_the_session_end_check_fails_the_session_on_planted_values_and_names_the_file(tmp_path_factory):
    base = tmp_path_factory.mktemp("planted-session")  # "planted…": never in the real session's scan
    (base / "run" / "logs").mkdir(parents=True)
    (base / "run" / "logs" / "etl.log").write_text(f"owner {unicodedata.normalize('NFC', PERSON)}\n")
    (base / "clean").mkdir()
    (base / "clean" / "a.log").write_text("nothing personal\n")

    session, reporter = _session(base, ["unit", "integration"])
    scan_at_session_end(session, warehouse=None)
    assert session.exitstatus == pytest.ExitCode.TESTS_FAILED
    assert any("etl.log" in line and "name" in line for line in reporter.lines), reporter.lines

    (base / "run" / "logs" / "etl.log").write_text("owner [pseudonymised]\n")
    session, reporter = _session(base, ["integration"])
    scan_at_session_end(session, warehouse=None)
    assert session.exitstatus == pytest.ExitCode.OK, reporter.lines
    assert "0 with findings" in reporter.lines[-1]


def test_a_session_of_unit_tests_only_is_not_scanned(tmp_path_factory):
    base = tmp_path_factory.mktemp("planted-unit-only")
    (base / "run").mkdir()
    (base / "run" / "x.log").write_text(PHONE)
    session, reporter = _session(base, ["unit", "unit"])
    scan_at_session_end(session, warehouse=None)
    assert session.exitstatus == pytest.ExitCode.OK and reporter.lines == []
