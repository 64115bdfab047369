"""The DAGs run by real Airflow (`dag.test()`, SQLite metadata DB) against the emulator over HTTP.

Each dag.test() runs in a fresh interpreter (support.airflow.run_dag_test) with an AIRFLOW_HOME of
this module's own, the source given as the `tthc_api` connection.
"""
from __future__ import annotations

import shutil
from dataclasses import replace
import sqlite3
import threading
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import pytest

from support.airflow import (
    airflow_env, prepare_metadata, run_dag_test, run_dag_tests, settings_env, wait_until,
)
from support.source_api import day_window, fetch_window

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
NIGHTLY_TASKS = {f"{step}_{entity}" for step in ("extract", "land") for entity in
                 ("dossier", "payment", "agency", "procedure")} | {"land_pilot", "validate", "load"}


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow_home")
    prepare_metadata(airflow_env(home))
    return home


def logical_date_for(day: str) -> str:
    """A nightly run loads the local day its data interval starts on: the run of 01:00 next day."""
    return (datetime.fromisoformat(day).replace(hour=1, tzinfo=LOCAL) + timedelta(days=1)).isoformat()


def api_dossiers(emu, day: str) -> list[dict]:
    """Every dossier record the API serves for a local day, paged to the end like any client."""
    return fetch_window(emu, "hoso", *day_window(date.fromisoformat(day)), size=500)


def table_rows(con, table: str) -> list[tuple]:
    return sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr)


def test_nightly_then_kpi_dag_load_one_day(emulator, settings_for, airflow_home, tmp_path):
    day = "2023-02-10"
    # A pilot registration for the pairs that receive dossiers that day (operations.md).
    served = api_dossiers(emulator, day)
    pairs = sorted({(r["MaDonVi"].strip(), r["MaTTHC"].strip()) for r in served
                    if isinstance(r.get("MaDonVi"), str) and isinstance(r.get("MaTTHC"), str)
                    and r["MaDonVi"].strip() and r["MaTTHC"].strip()})[:5]
    pilot_file = tmp_path / "pilot.csv"
    pilot_file.write_text("MaDonVi,MaTTHC,TuNgay,DenNgay,Thu\n"
                          + "".join(f"{a},{p},1/1/2020,,\n" for a, p in pairs), encoding="utf-8")
    settings = replace(settings_for(emulator), pilot_file=pilot_file)
    env = airflow_env(airflow_home, **settings_env(settings))

    nightly, kpi = run_dag_tests(env, [("tthc_nightly", logical_date_for(day)), ("tthc_kpi", None)])
    print(f"\ndag.test(tthc_nightly, {day}): {nightly.seconds:.1f}s; dag.test(tthc_kpi): {kpi.seconds:.1f}s")
    assert nightly.state == "success", nightly.output[-5000:]
    assert set(nightly.tasks) == NIGHTLY_TASKS
    assert all(t["state"] == "success" for t in nightly.tasks.values()), nightly.tasks
    # The run keyed its work on the previous local day: that window, and only it, was landed.
    assert [p.name for p in (settings.raw_dir / "dossier").iterdir()] == [day]

    # One fact row per distinct dossier the API served for the day, except the invalid ones.
    distinct = {r["MaHoSo"] for r in served if (r.get("MaHoSo") or "").strip()}
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        facts = {row[0] for row in con.execute("SELECT dossier_id FROM core.fact_dossier").fetchall()}
        quarantined_keys = {row[0] for row in con.execute(
            "SELECT record_key FROM audit.quarantine WHERE entity = 'dossier' AND record_key IS NOT NULL"
        ).fetchall()}
        counts = con.execute(
            "SELECT sum(extracted), sum(loaded), sum(quarantined), sum(duplicates) "
            "FROM audit.run_counts WHERE entity = 'dossier'"
        ).fetchone()
        assert facts and facts <= distinct
    assert facts == distinct - quarantined_keys
    assert counts[0] == len(served) and counts[1] == len(facts)

    assert kpi.state == "success", kpi.output[-5000:]
    assert {t: v["state"] for t, v in kpi.tasks.items()} == {"refresh_kpis": "success", "publish": "success", "report": "success"}

    # The incremental rebuild equals a full rebuild from the loaded data, and it was published.
    from etl import kpi as kpi_stage

    scratch = tmp_path / "full.duckdb"
    shutil.copy(settings.warehouse, scratch)
    with duckdb.connect(str(scratch)) as con:
        assert con.execute("SELECT count(*) FROM audit.kpi_dirty_period").fetchone()[0] == 0
        incremental = table_rows(con, "mart.kpi_value")
        kpi_stage.rebuild_all(con)
        assert incremental and incremental == table_rows(con, "mart.kpi_value")
        assert con.execute("SELECT count(*) FROM core.dim_pilot_registration").fetchone()[0] == len(pairs)
        assert any(row[3] == "PILOT_PAPER_FREE_RATE" for row in incremental)
    with duckdb.connect(str(settings.published), read_only=True) as con:
        assert table_rows(con, "mart.kpi_value") == incremental


def _waiting_for_retry(airflow_home, task_id: str) -> bool:
    """Whether a task instance of tthc_nightly is failed-and-waiting-to-retry right now."""
    with sqlite3.connect(f"file:{airflow_home / 'airflow.db'}?mode=ro", uri=True, timeout=5) as db:
        (count,) = db.execute(
            "SELECT count(*) FROM task_instance WHERE dag_id = 'tthc_nightly' AND task_id = ? "
            "AND state = 'up_for_retry'",
            (task_id,),
        ).fetchone()
    return count > 0


def test_extract_retries_through_a_source_outage(emulator_factory, settings_for, airflow_home):
    emu = emulator_factory(seed=11, start="2023-03-01", end="2023-03-08", dossiers_per_day=15)
    settings = settings_for(emu)
    env = airflow_env(
        airflow_home, **settings_env(settings),
        TTHC_SOURCE_MAX_RETRY_SECONDS="2",   # the client gives up fast: Airflow's retry takes over
        TTHC_EXTRACT_RETRY_DELAY_SECONDS="2",
    )
    emu.control("faults", {"rate": 1.0, "kinds": ["502", "503"]})
    restored = threading.Event()

    def end_outage_after_a_failed_attempt() -> None:
        try:
            wait_until(
                lambda: _waiting_for_retry(airflow_home, "extract_dossier"),
                timeout=240, what="extract_dossier to fail once", interval=0.5,
            )
        finally:
            emu.control("faults", {"rate": 0.0})
            restored.set()

    healer = threading.Thread(target=end_outage_after_a_failed_attempt, daemon=True)
    healer.start()
    began = time.monotonic()
    result = run_dag_test(env, "tthc_nightly", logical_date_for("2023-03-05"))
    healer.join(timeout=60)
    print(f"\ndag.test(tthc_nightly) through an outage: {time.monotonic() - began:.1f}s")
    assert restored.is_set()
    assert result.state == "success", result.output[-5000:]
    extract = result.tasks["extract_dossier"]
    assert extract["state"] == "success" and extract["try_number"] >= 2, extract
    assert "extract dossier 2023-03-05 failed transiently (SourceUnavailable)" in result.output


def test_wrong_token_fails_extract_at_once_without_leaking_it(emulator, settings_for, airflow_home):
    wrong_token = "wrong-token-9d3a7c"
    settings = settings_for(emulator)
    settings = settings.with_source(settings.api_url, wrong_token)
    env = airflow_env(airflow_home, **settings_env(settings))

    result = run_dag_test(env, "tthc_nightly", logical_date_for("2023-02-20"))
    print(f"\ndag.test(tthc_nightly) with a wrong token: {result.seconds:.1f}s")
    assert result.state == "failed"
    for entity in ("dossier", "payment", "agency", "procedure"):
        task = result.tasks[f"extract_{entity}"]
        assert task["state"] == "failed" and task["try_number"] == 1, (entity, task)
    assert result.tasks["load"]["state"] == "upstream_failed"
    assert not settings.warehouse.exists() or not duckdb.connect(
        str(settings.warehouse), read_only=True).execute("SELECT count(*) FROM core.fact_dossier").fetchone()[0]

    clear_lines = [l for l in result.output.splitlines() if "failed permanently" in l and "extract" in l]
    assert clear_lines, result.output[-5000:]
    assert "401" in clear_lines[0] or "token" in clear_lines[0].lower()
    assert wrong_token not in result.output
    for path in airflow_home.rglob("*"):
        if path.is_file() and path.suffix != ".db":
            assert wrong_token not in path.read_text(errors="ignore"), path
