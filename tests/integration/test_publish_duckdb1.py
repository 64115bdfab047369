"""The marts published for tools stuck on DuckDB 1.x: a real duckdb 1.x driver, in a process of its
own, opens `published/duckdb1/<file>` and reads the same marts, with their comments, as the
main copy holds."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import duckdb
import pytest

from support import REPO_ROOT, env_for, settings_under

DUCKDB1 = "duckdb==1.5.6"
READER = """
import duckdb, json, sys
con = duckdb.connect(sys.argv[1], read_only=True)
print(json.dumps({
    "version": duckdb.__version__,
    "kpi_value": con.execute("SELECT count(*), sum(numerator), sum(denominator) FROM mart.kpi_value").fetchall()[0],
    "tables": sorted(r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'mart'").fetchall()),
    "comment": con.execute("SELECT comment FROM duckdb_columns() WHERE table_name = 'kpi_value' AND column_name = 'numerator'").fetchall()[0][0],
}))
"""


@pytest.fixture(scope="session")
def duckdb1(tmp_path_factory):
    """A duckdb 1.x package in a folder of its own (the venv holds 2.0; one venv cannot hold both)."""
    target = tmp_path_factory.mktemp("duckdb1")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target), DUCKDB1],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"pip install {DUCKDB1} failed: {done.stderr[-2000:]}"
    return target


def test_a_duckdb1_driver_reads_the_published_marts(emulator, tmp_path, duckdb1):
    settings = settings_under(tmp_path, emulator)
    done = subprocess.run([sys.executable, "-m", "etl", "run", "--start", "2023-02-01", "--end", "2023-02-08"],
                          env=env_for(settings), cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    copy = settings.published_duckdb1
    assert copy.exists() and copy.name == settings.published.name

    # -S: no site-packages, so the 1.x package is the only duckdb the reader can import.
    read = subprocess.run([sys.executable, "-S", "-c", READER, str(copy)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(duckdb1)}, timeout=120)
    assert read.returncode == 0, read.stderr[-2000:]
    old = json.loads(read.stdout)
    assert old["version"].startswith("1.")

    with duckdb.connect(str(settings.published), read_only=True) as con:
        expected = list(con.execute(
            "SELECT count(*), sum(numerator), sum(denominator) FROM mart.kpi_value").fetchall()[0])
    assert old["kpi_value"] == expected and expected[0] > 0
    assert {"kpi_value", "kpi_target", "kpi_gap", "agency"} <= set(old["tables"])
    assert " | " in old["comment"]
