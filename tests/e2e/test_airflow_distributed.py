"""The distributed Airflow 3 topology without Docker: PostgreSQL metadata DB, Redis broker,
CeleryExecutor, and api-server, scheduler, dag-processor, triggerer and a Celery worker as separate
processes — the services of docker-compose.yml. Four nights are backfilled with
`airflow backfill create`, the Asset schedules the KPI DAG, and a reprocessing backfill of the
same nights must leave every core and mart table exactly as it was.

Skipped, with the reason, when PostgreSQL (127.0.0.1:5432, trust auth) or Redis (127.0.0.1:6379)
is not reachable.
"""
from __future__ import annotations

import os
import shutil
import socket
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from support.airflow import (
    AIRFLOW, ProcessGroup, airflow_env, prepare_metadata, run_airflow, settings_env, wait_until,
)

PG_HOST, PG_PORT, REDIS_PORT = "127.0.0.1", 5432, 6379
# Own names per run: another checkout's suite may run this test on the same servers at once.
RUN_TAG = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
DATABASE = f"tthc_airflow_test_{RUN_TAG}"
REDIS_DB = 11
REDIS_PREFIX = f"tthc-test-{RUN_TAG}:"
# `--from-date D1 --to-date D2` loads the local days [D1, D2), like `etl run --start --end`: the
# night of D2 starts its data interval at D2 01:00, after D2 00:00. Four nights of the emulator's
# history: enough for several Asset events per KPI run, and CI's time (a week took ~250 s).
FIRST_DAY, END_DAY = date(2023, 2, 6), date(2023, 2, 10)
RUN_TIMEOUT = 600
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def _reachable(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg_user() -> str:
    import psycopg2

    for user in ("postgres", "root"):
        try:
            psycopg2.connect(host=PG_HOST, port=PG_PORT, user=user, dbname="postgres",
                             connect_timeout=3).close()
            return user
        except psycopg2.OperationalError:
            continue
    pytest.skip("PostgreSQL at 127.0.0.1:5432 accepts neither user postgres nor root without a password")


def _admin(user: str, statement: str) -> None:
    import psycopg2

    con = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=user, dbname="postgres")
    con.autocommit = True
    try:
        con.cursor().execute(statement)
    finally:
        con.close()


class Metadata:
    """Read-only look at the Airflow metadata DB, to follow the runs the services make."""

    def __init__(self, user: str):
        self.user = user

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        import psycopg2

        con = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=self.user, dbname=DATABASE)
        try:
            with con.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall()
        finally:
            con.close()

    def dags_ready(self) -> bool:
        found = self.rows(
            "SELECT d.dag_id FROM dag d JOIN serialized_dag s ON s.dag_id = d.dag_id "
            "WHERE d.dag_id IN ('tthc_nightly', 'tthc_kpi') AND NOT d.is_paused"
        )
        return {r[0] for r in found} == {"tthc_nightly", "tthc_kpi"}

    def latest_backfill(self) -> int | None:
        rows = self.rows("SELECT max(id) FROM backfill WHERE dag_id = 'tthc_nightly'")
        return rows[0][0]

    def backfill_runs(self, backfill_id: int) -> list[tuple]:
        return self.rows(
            "SELECT r.data_interval_start, r.state FROM dag_run r "
            "JOIN backfill_dag_run b ON b.dag_run_id = r.id WHERE b.backfill_id = %s "
            "ORDER BY r.data_interval_start",
            (backfill_id,),
        )

    def backfill_done(self, backfill_id: int) -> bool:
        return self.rows("SELECT completed_at FROM backfill WHERE id = %s", (backfill_id,))[0][0] is not None

    def failed_tasks(self) -> list[tuple]:
        return self.rows(
            "SELECT dag_id, run_id, task_id, try_number FROM task_instance WHERE state = 'failed'"
        )

    def kpi_runs(self) -> dict[str, int]:
        return dict(self.rows("SELECT state, count(*) FROM dag_run WHERE dag_id = 'tthc_kpi' GROUP BY state"))

    def quiet(self) -> bool:
        """No run of either DAG active, no KPI run pending on the Asset, at least one KPI run done.

        (Unpausing tthc_nightly also starts its latest scheduled night, as in production: it
        loads an empty window of today's calendar and must be finished too.)"""
        queued = self.rows(
            "SELECT count(*) FROM asset_dag_run_queue WHERE target_dag_id = 'tthc_kpi'"
        )[0][0]
        active = self.rows(
            "SELECT count(*) FROM dag_run WHERE state IN ('queued', 'running')"
        )[0][0]
        return queued == 0 and active == 0 and self.kpi_runs().get("success", 0) > 0


def _snapshot(warehouse: Path, scratch: Path) -> dict[str, list[tuple]]:
    """Every row of every core and mart table (read from a copy: a worker may open the file)."""
    shutil.copy(warehouse, scratch)
    with duckdb.connect(str(scratch), read_only=True) as con:
        tables = [r[0] + "." + r[1] for r in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema IN ('core', 'mart') AND table_type = 'BASE TABLE' ORDER BY 1, 2"
        ).fetchall()]
        return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


@pytest.fixture
def distributed_airflow(tmp_path, emulator, settings_for):
    if not _reachable(PG_PORT):
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    if not _reachable(REDIS_PORT):
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    user = _pg_user()
    import redis

    _admin(user, f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    _admin(user, f"CREATE DATABASE {DATABASE}")
    broker = redis.Redis(host="127.0.0.1", port=REDIS_PORT, db=REDIS_DB)

    settings = settings_for(emulator)
    api_port = _free_port()
    home = tmp_path / "airflow_home"
    home.mkdir()
    env = airflow_env(
        home,
        **settings_env(settings),
        AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
        AIRFLOW__CORE__DEFAULT_TIMEZONE="Asia/Ho_Chi_Minh",
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{api_port}/execution/",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"postgresql+psycopg2://{user}@{PG_HOST}:{PG_PORT}/{DATABASE}",
        AIRFLOW__CELERY__BROKER_URL=f"redis://127.0.0.1:{REDIS_PORT}/{REDIS_DB}",
        AIRFLOW__CELERY__RESULT_BACKEND=f"db+postgresql+psycopg2://{user}@{PG_HOST}:{PG_PORT}/{DATABASE}",
        AIRFLOW__CELERY__WORKER_CONCURRENCY="4",
        AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX=REDIS_PREFIX,
        AIRFLOW__API_AUTH__JWT_SECRET=f"tthc-test-{uuid.uuid4().hex}",  # one secret, all services
        AIRFLOW__API__PORT=str(api_port),
        AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(_free_port()),
        AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(_free_port()),
        AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK="False",
        AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
        TTHC_EXTRACT_RETRY_DELAY_SECONDS="5",
    )
    prepare_metadata(env)
    group = ProcessGroup(log_dir=tmp_path)
    try:
        group.start("api-server", [AIRFLOW, "api-server", "--port", str(api_port), "--workers", "1"], env)
        group.start("scheduler", [AIRFLOW, "scheduler"], env)
        group.start("dag-processor", [AIRFLOW, "dag-processor"], env)
        group.start("triggerer", [AIRFLOW, "triggerer"], env)
        group.start("worker", [AIRFLOW, "celery", "worker", "--concurrency", "4"], env)
        yield env, settings, Metadata(user), group
    finally:
        group.stop_all()
        if any(p.poll() is None for p in group.processes.values()):
            print("warning: a service outlived SIGKILL", file=sys.stderr)
        for key in broker.scan_iter(match=f"{REDIS_PREFIX}*"):
            broker.delete(key)
        broker.close()
        _admin(user, f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def _backfill(env, meta: Metadata, group: ProcessGroup, *extra: str) -> list[tuple]:
    """Create a backfill of the nights and wait (bounded) until all its runs are done."""
    before = meta.latest_backfill()
    run_airflow(
        ["backfill", "create", "--dag-id", "tthc_nightly",
         "--from-date", FIRST_DAY.isoformat(), "--to-date", END_DAY.isoformat(), *extra],
        env,
    )
    backfill_id = meta.latest_backfill()
    assert backfill_id is not None and backfill_id != before

    def finished() -> bool:
        if meta.failed_tasks():
            raise AssertionError(f"failed tasks: {meta.failed_tasks()}\n{group.log('worker')[-4000:]}")
        return meta.backfill_done(backfill_id)

    wait_until(finished, RUN_TIMEOUT, f"backfill {backfill_id} to complete", on_poll=group.check_alive)
    return meta.backfill_runs(backfill_id)


def _kpi_settled(meta: Metadata, group: ProcessGroup) -> dict[str, int]:
    wait_until(meta.quiet, RUN_TIMEOUT, "the KPI DAG to catch up with the Asset events",
               on_poll=group.check_alive)
    return meta.kpi_runs()


def test_backfill_four_nights_on_the_celery_topology_then_reprocess_changes_nothing(
    distributed_airflow, tmp_path
):
    began = time.monotonic()
    env, settings, meta, group = distributed_airflow
    wait_until(meta.dags_ready, 180, "the dag-processor to register both DAGs", on_poll=group.check_alive)

    runs = _backfill(env, meta, group)
    days = [start.astimezone(LOCAL).date() for start, _ in runs]
    assert days == [FIRST_DAY + timedelta(days=i) for i in range((END_DAY - FIRST_DAY).days)]
    assert {state for _, state in runs} == {"success"}
    kpi_runs = _kpi_settled(meta, group)
    first_backfill = time.monotonic() - began
    print(f"\nbackfill of {len(runs)} nights: {first_backfill:.0f}s; tthc_kpi runs: {kpi_runs}")
    # Many Asset events, few KPI runs: each run takes every event queued while the last one ran.
    assert set(kpi_runs) == {"success"} and kpi_runs["success"] <= len(runs)

    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        windows = {r[0] for r in con.execute(
            "SELECT DISTINCT CAST(window_start AS DATE) FROM audit.run_counts WHERE entity = 'dossier'"
        ).fetchall()}
        pending = con.execute("SELECT count(*) FROM audit.kpi_dirty_period").fetchone()[0]
        kpi_rows = con.execute("SELECT count(*) FROM mart.kpi_value").fetchone()[0]
        facts = con.execute("SELECT count(*) FROM core.fact_dossier").fetchone()[0]
    assert set(days) <= windows
    assert facts > 0 and kpi_rows > 0 and pending == 0
    with duckdb.connect(str(settings.published), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM mart.kpi_value").fetchone()[0] == kpi_rows

    before = _snapshot(settings.warehouse, tmp_path / "before.duckdb")
    rerun = _backfill(env, meta, group, "--reprocess-behavior", "completed")
    assert [start for start, _ in rerun] == [start for start, _ in runs]
    assert {state for _, state in rerun} == {"success"}
    _kpi_settled(meta, group)
    after = _snapshot(settings.warehouse, tmp_path / "after.duckdb")
    assert after.keys() == before.keys() and "core.fact_dossier" in after
    for table in before:
        assert after[table] == before[table], f"{table} changed on reprocessing"
    print(f"distributed test: {time.monotonic() - began:.0f}s "
          f"(first backfill and KPIs {first_backfill:.0f}s)")
