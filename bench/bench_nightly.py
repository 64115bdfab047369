"""One nightly window of a large province into a warehouse already holding history.

The full bench's night holds the issue's workload, at least 20,000 changed dossiers and 8,000
payments (37,836 and 8,086), and its verdict says whether the extracted counts reached it.

History: `python -m etl run` over the weeks before the night (untimed, a subprocess). Then the
same night, from two copies of that warehouse:
- IN PROCESS: `etl.pipeline.run(settings, day, day + 1)` — extract, land, validate, load, KPIs,
  publish — timed in this process (target < 15 s), peak RSS of this process (emulator excluded);
- AIRFLOW: `dag.test()` of `tthc_nightly` then `tthc_kpi` (which publishes) for the same day in
  one fresh interpreter (tests/support/airflow.py: own AIRFLOW_HOME, `airflow db migrate`, pool
  `tthc_warehouse`, source as AIRFLOW_CONN_TTHC_API). Reported separately: the two dag.test()
  durations, and the whole child's wall time (interpreter + Airflow start-up included); the
  Airflow overhead is their difference with the in-process time.
- LIMIT: the same window's pages with plain requests + DuckDB read_json, for reference.
The emulator's window is computed once, untimed, before the timed passes (it caches a few).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

from bench import REPO_ROOT, TreePeak, cpu_seconds, etl_env, record, start_emulator
from bench.bench_backfill import FEEDS, _fetch_window, run_limit
from etl.config import Settings
from etl.source import accept_encoding

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
# The night is 20,000 changed dossiers and 8,000 payments. The large preset (8,500
# dossiers a day) changes 21,435 dossiers that night but pays only 4,560 (its payments run at
# ~0.22 per changed dossier), so the full bench raises the volume until both counts are reached:
# 16,000 a day gives 40,754 dossiers and 8,522 payments (15,000 gave 7,800 payments once the
# emulator's v1.1 catalogue drew its procedures anew). The run checks the counts it extracted.
FULL = dict(size="large", dossiers_per_day=16000, start=date(2024, 1, 1), night=date(2024, 2, 1),
            least={"dossier": 20000, "payment": 8000})
QUICK = dict(size="medium", dossiers_per_day=None, start=date(2024, 1, 1), night=date(2024, 1, 8),
             least={})
# A small city's night (~1,000 changed dossiers at 400 a day), in process only; target < 3 s.
SMALL_CITY = dict(size="small", dossiers_per_day=400, start=date(2024, 1, 1), night=date(2024, 2, 1),
                  least={})


def _settings(emulator, workdir: Path) -> Settings:
    return Settings(
        api_url=emulator.url, api_token=emulator.token, warehouse=workdir / "tthc.duckdb",
        raw_dir=workdir / "raw", published=workdir / "published" / "tthc.duckdb",
        pii_key="bench-pii-key",
    )


def _history(emulator, workdir: Path, start: date, end: date) -> float:
    env = etl_env(emulator, workdir)
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "etl", "run", "--start", start.isoformat(), "--end",
                    end.isoformat(), "--no-progress"], cwd=REPO_ROOT, env=env, check=True,
                   capture_output=True)
    return time.perf_counter() - began


def _copy_history(history: Path, workdir: Path) -> None:
    """What a nightly worker holds after the history: the warehouse, and the reference lists'
    last outcomes kept beside it (validation.REFERENCE_OUTCOMES)."""
    from etl.validation import REFERENCE_OUTCOMES

    (workdir / "published").mkdir(parents=True)
    shutil.copy2(history / "tthc.duckdb", workdir / "tthc.duckdb")
    if (history / REFERENCE_OUTCOMES).is_dir():
        shutil.copytree(history / REFERENCE_OUTCOMES, workdir / REFERENCE_OUTCOMES)


def emulator_args(preset: dict) -> list[str]:
    """The emulator's command line for a preset: its history and night, two days to spare."""
    night = preset["night"]
    args = ["--seed", "5", "--start", preset["start"].isoformat(),
            "--end", (night + timedelta(days=2)).isoformat(), "--size", preset["size"]]
    if preset["dossiers_per_day"] is not None:
        args += ["--dossiers-per-day", str(preset["dossiers_per_day"])]
    return args


def night_counts(emulator, day: date) -> dict[str, int]:
    """Page through the night's window once, untimed, so the emulator has computed (and cached)
    it before the timed passes; returns its records per feed."""
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {emulator.token}"
        session.headers["Accept-Encoding"] = accept_encoding(emulator.url)  # as our client asks
        return {entity: sum(len(json.loads(page)["duLieu"])
                            for page in _fetch_window(session, emulator.url, entity, day))
                for entity in FEEDS}


def _airflow(emulator, settings: Settings, night: date, home: Path) -> dict:
    from tests.support.airflow import airflow_env, prepare_metadata, run_dag_tests, settings_env

    began = time.perf_counter()
    prepare_metadata(airflow_env(home))
    migrate = time.perf_counter() - began
    env = airflow_env(home, **settings_env(settings))
    logical = (datetime.combine(night, datetime.min.time()).replace(hour=1, tzinfo=LOCAL)
               + timedelta(days=1)).isoformat()
    began = time.perf_counter()
    nightly, kpi = run_dag_tests(env, [("tthc_nightly", logical), ("tthc_kpi", None)], timeout=1200)
    child_wall = time.perf_counter() - began
    if nightly.state != "success" or kpi.state != "success":
        raise RuntimeError(f"dag.test failed: {nightly.state} {kpi.state}\n{nightly.output[-4000:]}")
    return dict(nightly=nightly.seconds, kpi=kpi.seconds, child_wall=child_wall, migrate=migrate)


def small_city_night() -> None:
    """The night of a small city after a month of history: in process, warm (a nightly worker's
    second night), against the same night from a copy of the history."""
    from etl import pipeline

    preset = SMALL_CITY
    start, night = preset["start"], preset["night"]
    args = emulator_args(preset)
    with start_emulator(args) as emulator, tempfile.TemporaryDirectory(prefix="bench-nightly-small-") as tmp:
        tmp = Path(tmp)
        _history(emulator, tmp / "history", start, night)
        for copy in ("warm", "timed"):
            _copy_history(tmp / "history", tmp / copy)
        counts = night_counts(emulator, night)
        # The first run in a process imports GX and DuckDB's extensions: a nightly worker pays
        # that once, not every night (the process start is measured by bench_fixed).
        pipeline.run(_settings(emulator, tmp / "warm"), night, night + timedelta(days=1))
        settings = _settings(emulator, tmp / "timed")
        with TreePeak(exclude=(emulator.process.pid,)) as peak:
            began = time.perf_counter()
            pipeline.run(settings, night, night + timedelta(days=1))
            inproc = time.perf_counter() - began
    rows = sum(counts.values())
    print(f"IN PROCESS small city night {night}: {counts} in {inproc:.2f}s (target < 3 s), "
          f"peak RSS {peak.mib:.0f} MiB", flush=True)
    record("nightly 1 window, small city", inproc, rows, peak.mib, None, "<3s", inproc < 3)


def main(quick: bool = False) -> None:
    _main(quick)
    small_city_night()


def _main(quick: bool) -> None:
    from etl import pipeline

    preset = QUICK if quick else FULL
    start, night = preset["start"], preset["night"]
    args = emulator_args(preset)
    with start_emulator(args) as emulator, tempfile.TemporaryDirectory(prefix="bench-nightly-") as tmp:
        tmp = Path(tmp)
        history = tmp / "history"
        seconds = _history(emulator, history, start, night)
        import duckdb

        with duckdb.connect(str(history / "tthc.duckdb"), read_only=True) as con:
            held = con.execute("SELECT (SELECT count(*) FROM core.fact_dossier), "
                               "(SELECT count(*) FROM core.fact_payment)").fetchone()
        print(f"history [{start}, {night}) of `etl emulator {' '.join(args)}`: {held[0]:,} dossiers, "
              f"{held[1]:,} payments, built in {seconds:.0f}s", flush=True)
        for copy in ("inproc", "airflow"):
            _copy_history(history, tmp / copy)
        shutil.rmtree(history)
        print(f"night {night}: {night_counts(emulator, night)} records in its window", flush=True)

        settings = _settings(emulator, tmp / "inproc")
        emulator_cpu = cpu_seconds(emulator.process.pid)
        with TreePeak(exclude=(emulator.process.pid,)) as peak:
            began, cpu = time.perf_counter(), time.process_time()
            summary = pipeline.run(settings, night, night + timedelta(days=1))
            inproc, cpu = time.perf_counter() - began, time.process_time() - cpu
        emulator_cpu = cpu_seconds(emulator.process.pid) - emulator_cpu
        with duckdb.connect(str(settings.warehouse), read_only=True) as con:
            changed = dict(con.execute(
                "SELECT entity, sum(extracted)::BIGINT FROM audit.run_counts WHERE run_id = ? "
                "AND entity IN ('dossier', 'payment') GROUP BY entity", [summary.run_id]).fetchall())
        rows = sum(changed.values())
        print(f"IN PROCESS night {night}: {changed} in {inproc:.2f}s wall, {cpu:.1f}s CPU "
              f"(emulator CPU {emulator_cpu:.1f}s), "
              f"{summary.kpi_rows:,} KPI rows, peak RSS {peak.mib:.0f} MiB (target < 15 s"
              f"{'; the issue asks for ' + workload_text(preset['least']) if preset['least'] else ''})",
              flush=True)

        limit = run_limit(emulator, tmp / "limit", [night])
        print(f"LIMIT same window: {limit['counts']} in {limit['wall']:.2f}s", flush=True)

        airflow = _airflow(emulator, _settings(emulator, tmp / "airflow"), night, tmp / "airflow_home")
        dag_total = airflow["nightly"] + airflow["kpi"]
        print(f"AIRFLOW dag.test: tthc_nightly {airflow['nightly']:.1f}s + tthc_kpi {airflow['kpi']:.1f}s "
              f"= {dag_total:.1f}s; child wall {airflow['child_wall']:.1f}s (start-up incl.); "
              f"overhead over in-process {dag_total - inproc:+.1f}s (dag.test) / "
              f"{airflow['child_wall'] - inproc:+.1f}s (child); db migrate {airflow['migrate']:.0f}s untimed",
              flush=True)
    checks = {"<15s": inproc < 15}
    if preset["least"]:
        checks[workload_text(preset["least"])] = window_is_large_enough(changed, preset["least"])
    record(f"nightly 1 window, history {held[0]:,} dossiers", inproc, rows, peak.mib,
           {"LIMIT": limit["wall"], "Airflow dag.test": dag_total}, ", ".join(checks), checks)


def workload_text(least: dict[str, int]) -> str:
    """The condition on the window's size, as the summary names it: '>=20k dossier+8k payment'."""
    return ">=" + "+".join(f"{count // 1000}k {entity}" for entity, count in least.items())


def window_is_large_enough(changed: dict[str, int], least: dict[str, int]) -> bool:
    """Whether the night extracted at least the issue's counts of each entity."""
    return all(changed.get(entity, 0) >= count for entity, count in least.items())


if __name__ == "__main__":
    main("--quick" in sys.argv)
