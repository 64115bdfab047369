"""One engine, two drivers: the same three nights through the Airflow DAGs (`dag.test`, one
`tthc_nightly` per night, then `tthc_kpi`) and through `python -m etl run` over the three days
give the same warehouse: identical `mart.kpi_value`, identical facts, and identical
`audit.run_counts` totals.

The one designed difference (docs/ARCHITECTURE.md "One engine, two drivers"): a night lands the
reference lists and the pilot file every night, a backfill once for the run. So for those the
test asks that every night's snapshot counts equal the backfill's one snapshot.
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb

from etl.contract import FEEDS, LOCAL_TZ
from support import REPO_ROOT
from support.airflow import airflow_env, prepare_metadata, run_dag_tests, settings_env

NIGHTS = [date(2023, 3, 6), date(2023, 3, 7), date(2023, 3, 8)]
# Lineage, not content: which run wrote a row differs between the drivers by design.
LINEAGE = {"run_id"}
FACTS = ("core.fact_dossier", "core.fact_payment")
COUNTS = "sum(extracted), sum(loaded), sum(quarantined), sum(duplicates)"


def logical_date_for(day: date) -> str:
    """The nightly run of 01:00 the next local day loads `day`."""
    return (datetime.combine(day + timedelta(days=1), datetime.min.time()).replace(
        hour=1, tzinfo=ZoneInfo(LOCAL_TZ))).isoformat()


def content(con, table: str) -> list[tuple]:
    columns = [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall() if row[0] not in LINEAGE]
    return sorted(con.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall(), key=repr)


def feed_totals(con) -> dict[str, tuple]:
    return {entity: tuple(con.execute(f"SELECT {COUNTS} FROM audit.run_counts WHERE entity = ?",
                                      [entity]).fetchall()[0]) for entity in FEEDS}


def snapshot_counts(con, entity: str) -> set[tuple]:
    """Each run's counts of a list landed whole (a reference list, the pilot file)."""
    return set(con.execute(f"SELECT {COUNTS} FROM audit.run_counts WHERE entity = ? GROUP BY run_id",
                           [entity]).fetchall())


def test_airflow_nights_and_a_backfill_build_the_same_warehouse(emulator_factory, settings_for, tmp_path):
    pilot = tmp_path / "pilot.csv"  # the emulator's registrations, unreadable rows included
    emulator = emulator_factory(seed=5, start="2023-02-01", end="2023-03-10", dossiers_per_day=40,
                                extra=["--pilot-file", str(pilot)])
    home = tmp_path / "airflow_home"
    prepare_metadata(airflow_env(home))

    airflow = replace(settings_for(emulator, tmp_path / "airflow"), pilot_file=pilot)
    backfill = replace(settings_for(emulator, tmp_path / "backfill"), pilot_file=pilot)

    runs = [("tthc_nightly", logical_date_for(day)) for day in NIGHTS] + [("tthc_kpi", None)]
    results = run_dag_tests(airflow_env(home, **settings_env(airflow)), runs, timeout=900)
    for (dag_id, _), result in zip(runs, results):
        assert result.state == "success", (dag_id, result.output[-5000:])

    env = {**os.environ, **{k: v for k, v in settings_env(backfill).items() if k.startswith("TTHC_")},
           "TTHC_API_URL": backfill.api_url, "TTHC_API_TOKEN": backfill.api_token}
    done = subprocess.run([sys.executable, "-m", "etl", "run", "--start", NIGHTS[0].isoformat(),
                           "--end", (NIGHTS[-1] + timedelta(days=1)).isoformat(), "--no-progress"],
                          env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr

    with duckdb.connect(str(airflow.published), read_only=True) as nights, \
            duckdb.connect(str(backfill.published), read_only=True) as run:
        kpis = content(nights, "mart.kpi_value")
        assert kpis and kpis == content(run, "mart.kpi_value")
        for table in FACTS:
            rows = content(nights, table)
            assert rows and rows == content(run, table), table
        assert feed_totals(nights) == feed_totals(run)
        assert nights.execute("SELECT count(DISTINCT run_id) FROM audit.run_counts WHERE entity = 'dossier'"
                              ).fetchall()[0][0] == len(NIGHTS)
        for entity in ("agency", "procedure", "pilot"):
            once = snapshot_counts(run, entity)
            assert len(once) == 1 and snapshot_counts(nights, entity) == once, entity
