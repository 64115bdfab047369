"""`python -m etl status`: freshness and health in one screen, JSON for monitoring, an exit code."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import duckdb
import pytest

from support import REPO_ROOT



def etl(settings, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TTHC_API_URL": settings.api_url, "TTHC_API_TOKEN": settings.api_token,
           "TTHC_WAREHOUSE": str(settings.warehouse), "TTHC_RAW_DIR": str(settings.raw_dir),
           "TTHC_PUBLISHED": str(settings.published), "TTHC_PII_KEY": settings.pii_key}
    return subprocess.run([sys.executable, "-m", "etl", *args], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def loaded(emulator, tmp_path_factory):
    from support import settings_under

    settings = settings_under(tmp_path_factory.mktemp("status"), emulator)
    done = etl(settings, "run", "--start", "2023-02-01", "--end", "2023-02-11")
    assert done.returncode == 0, done.stderr
    return settings


def test_status_json_agrees_with_the_warehouse(loaded):
    done = etl(loaded, "status", "--json", "--max-age-hours", "1e9")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    with duckdb.connect(str(loaded.published), read_only=True) as con:
        ends = dict(con.execute("SELECT entity, max(window_end)::VARCHAR FROM audit.run_counts "
                                "GROUP BY entity").fetchall())
        latest = con.execute("SELECT max(updated_at)::VARCHAR FROM core.fact_dossier").fetchall()[0][0]
        totals = con.execute("SELECT sum(extracted), sum(quarantined) FROM audit.run_counts").fetchall()[0]
        reasons = con.execute("SELECT count(*) FROM audit.quarantine, unnest(string_split(reasons, '; ')) "
                              "WHERE window_start >= DATE '2023-02-04'").fetchall()[0][0]
        version = con.execute("SELECT max(version) FROM audit.schema_version").fetchall()[0][0]
    feeds = {feed["entity"]: feed for feed in status["feeds"]}
    assert feeds["dossier"]["loaded_until"] == ends["dossier"] == "2023-02-11 00:00:00"
    assert feeds["dossier"]["latest_update"] == latest
    assert [sum(run[k] for run in status["runs"]) for k in ("extracted", "quarantined")] == list(totals)
    assert sum(q["records"] for q in status["quarantine"]) == reasons > 0
    assert status["schema_version"] == status["schema_latest"] == version
    assert status["pending_periods"] == [] and status["fresh"] is True
    assert status["published_age_hours"] is not None and status["published_age_hours"] < 1


def test_stale_data_exits_3_with_the_screen(loaded):
    done = etl(loaded, "status")  # February 2023 is years older than 36 hours
    assert done.returncode == 3, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("STALE: data ") and "threshold 36 h" in first
    assert "KPI periods pending: none" in done.stdout and "quarantined, last 7 days" in done.stdout
    assert len(done.stdout.splitlines()) <= 40  # one screen


def test_no_warehouse_is_one_clear_line(emulator, settings_for, tmp_path):
    settings = settings_for(emulator, tmp_path / "empty")
    done = etl(settings, "status")
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1 and "etl run" in done.stderr
