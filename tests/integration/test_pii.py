"""Personal data and secrets (issue 6): the scanner's patterns against what the emulator serves,
one pipeline run's files scanned, and the Airflow task refusing to run without a pseudonymisation key.

The scan itself (support.pii) runs again over every file the session wrote when the session ends
(pytest_sessionfinish in tests/conftest.py); tests/unit/test_pii_scanner.py shows that it catches
planted values.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from support import REPO_ROOT, TEST_TOKEN
from support.pii import _ID_BYTES, _PHONE_BYTES, _bounded, _name, _scan_bytes, scan
from support.reliability import run_pipeline


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


@pytest.fixture(scope="module")
def own_run(emulator, tmp_path_factory):
    """A run of the pipeline: landing, warehouse, published and Parquet files, which the
    session-end scan reads again with everything else (the suite's CLI runs add etl.log files and
    reports)."""
    from etl.config import Settings

    root = tmp_path_factory.mktemp("pii-run")
    settings = Settings(api_url=emulator.url, api_token=emulator.token,
                        warehouse=root / "warehouse" / "tthc.duckdb", raw_dir=root / "warehouse" / "raw",
                        published=root / "warehouse" / "published" / "tthc.duckdb", pii_key="pii-scan-key")
    run_pipeline(settings, "2023-01-20", "2023-01-23")
    return settings


def test_no_personal_data_nor_token_in_any_file_a_pipeline_run_wrote(own_run):
    """The scan over one run's files; the whole session's files are scanned when it ends (tests/conftest.py)."""
    root = own_run.warehouse.parent.parent
    findings, kinds = scan([root])
    print(f"\n[pii] scanned {sum(kinds.values())} files of a pipeline run: {kinds}; {len(findings)} with findings")
    assert kinds.get("zstd", 0) and kinds.get("duckdb", 0) and kinds.get("parquet", 0), kinds
    assert findings == {}, json.dumps(findings, ensure_ascii=False, indent=1)


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
