"""DAG integrity (real DagBag), DAG-file parse cost, and the docker-compose topology's structure.

No Airflow metadata DB is needed here: parsing a DAG folder does not touch it.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml

from support.airflow import DAGS_DIR, REPO_ROOT, WAREHOUSE_POOL

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
DAG_FILES = sorted(DAGS_DIR.glob("*.py"))
HEAVY_MODULES = ("great_expectations", "pandas", "duckdb")


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    # Airflow reads AIRFLOW_HOME when first imported: give it a throwaway one, never ~/airflow.
    if "airflow" not in sys.modules:
        os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
        os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
        os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS_DIR)
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_dag_folder_imports_cleanly(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {"tthc_nightly", "tthc_kpi"}


def test_nightly_runs_at_1am_local_over_the_previous_local_day(dagbag):
    from airflow.timetables.interval import CronDataIntervalTimetable

    dag = dagbag.dags["tthc_nightly"]
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert str(dag.timezone) == "Asia/Ho_Chi_Minh"
    assert dag.catchup is False and dag.max_active_runs == 1
    assert dag.doc_md and "tthc_nightly" in dag.doc_md
    assert {"tthc", "nightly"} <= set(dag.tags)
    assert all(task.owner == "tthc-data" for task in dag.tasks)

    # The run that fires at 01:00 on 15 March covers a data interval starting on 14 March local.
    run_at = datetime(2023, 3, 15, 1, 30, tzinfo=LOCAL)
    interval = dag.timetable.infer_manual_data_interval(run_after=run_at)
    from etl.orchestration import local_day

    assert local_day(interval.start).isoformat() == "2023-03-14"
    assert interval.end - interval.start == timedelta(days=1)
    assert interval.start.astimezone(LOCAL).hour == 1


def test_nightly_task_graph_and_failure_policy(dagbag):
    dag = dagbag.dags["tthc_nightly"]
    tasks = dag.task_dict
    entities = ("dossier", "payment", "agency", "procedure")
    for entity in entities:
        extract, land = tasks[f"extract_{entity}"], tasks[f"land_{entity}"]
        assert extract.downstream_task_ids == {f"land_{entity}"}
        assert land.downstream_task_ids == {"validate"}
        # Transient source faults: retried with exponential backoff, bounded.
        assert extract.retries >= 2
        assert extract.retry_exponential_backoff
        assert extract.max_retry_delay is not None
    assert tasks["validate"].retries == 0  # a data problem does not heal by retrying
    assert tasks["validate"].downstream_task_ids == {"load"}
    assert tasks["load"].pool == WAREHOUSE_POOL
    assert tasks["land_pilot"].downstream_task_ids == {"validate"}
    assert {t.task_id for t in dag.roots} == {f"extract_{e}" for e in entities} | {"land_pilot"}
    # Only the warehouse writer holds the one-slot pool; extracts run in parallel.
    assert [t.task_id for t in dag.tasks if t.pool == WAREHOUSE_POOL] == ["load"]


def test_asset_wiring_between_the_dags(dagbag):
    from airflow.sdk import Asset

    nightly, kpi = dagbag.dags["tthc_nightly"], dagbag.dags["tthc_kpi"]
    (outlet,) = nightly.task_dict["load"].outlets
    assert isinstance(outlet, Asset)
    assert not any(task.outlets for task in nightly.tasks if task.task_id != "load")
    assert list(kpi.timetable.asset_condition.objects) == [outlet]
    assert kpi.max_active_runs == 1 and kpi.catchup is False
    assert {"tthc", "kpi"} <= set(kpi.tags)
    assert [t.task_id for t in kpi.topological_sort()] == ["refresh_kpis", "publish", "report"]
    assert all(task.pool == WAREHOUSE_POOL for task in kpi.tasks)


_PARSE_PROBE = r"""
import json, runpy, sys, time
import pendulum, airflow.sdk, airflow.timetables.interval  # warm, as in the dag processor
from airflow.sdk import dag  # noqa: F401  (resolve the lazy attribute before timing)
before = set(sys.modules)
began = time.perf_counter()
runpy.run_path(sys.argv[1])
seconds = time.perf_counter() - began
print(json.dumps({"seconds": seconds, "new_modules": sorted(set(sys.modules) - before)}))
"""


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_parses_fast_without_heavy_imports(dag_file, tmp_path):
    env = dict(os.environ, AIRFLOW_HOME=str(tmp_path), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    done = subprocess.run(
        [sys.executable, "-c", _PARSE_PROBE, str(dag_file)],
        env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"\n{dag_file.name}: parsed in {probe['seconds'] * 1000:.0f} ms")
    assert probe["seconds"] < 1.0
    heavy = [m for m in probe["new_modules"] if m.split(".")[0] in HEAVY_MODULES]
    assert heavy == [], f"{dag_file.name} imports heavy modules at parse time: {heavy[:5]}"


# ---------------------------------------------------------------- docker-compose.yml


@pytest.fixture(scope="module")
def compose():
    path = REPO_ROOT / "docker-compose.yml"
    return path.read_text(encoding="utf-8"), yaml.safe_load(path.read_text(encoding="utf-8"))


AIRFLOW_SERVICES = (
    "airflow-init", "airflow-apiserver", "airflow-scheduler",
    "airflow-dag-processor", "airflow-triggerer", "airflow-worker",
)


def _expand(value: str) -> str:
    """Compose's `${VAR:-default}` with the variables unset: the value a bare `up` uses."""
    return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", value)


def test_compose_has_the_celery_topology(compose):
    text, doc = compose
    services = doc["services"]
    for name in ("postgres", "redis", "emulator", *AIRFLOW_SERVICES):
        assert name in services, f"service {name} missing"
    assert "_PIP_ADDITIONAL_REQUIREMENTS" not in text
    secrets = set()
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:")
        assert "airflow-apiserver" in env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
        secrets.add(env["AIRFLOW__API_AUTH__JWT_SECRET"])
        assert any(str(v).startswith("warehouse:") for v in services[name]["volumes"])
        assert services[name]["build"]["dockerfile"] == "Dockerfile"
        conn = json.loads(_expand(env["AIRFLOW_CONN_TTHC_API"]))
        assert conn["host"] == "http://emulator:8765" and conn["password"]
    assert len(secrets) == 1, "every Airflow component must share one JWT secret"
    assert "warehouse" in doc["volumes"]


def _commands(service: dict) -> list[list[str]]:
    command = service.get("command")
    if command is None:
        return []
    if isinstance(command, str):
        command = shlex.split(command)
    if command[:2] == ["bash", "-c"]:
        return [shlex.split(part) for part in command[2].split("&&")]
    return [command]


def test_compose_commands_and_paths_exist(compose, dagbag):
    from airflow.cli.cli_parser import get_parser

    from etl.cli import build_parser

    _, doc = compose
    airflow_parser, etl_parser = get_parser(), build_parser()
    seen = set()
    for name, service in doc["services"].items():
        for argv in _commands(service):
            seen.add(argv[0])
            if argv[0] == "airflow":
                airflow_parser.parse_args(argv[1:])  # SystemExit on an unknown command/option
            elif argv[:3] == ["python", "-m", "etl"]:
                etl_parser.parse_args(argv[3:])
            else:
                pytest.fail(f"{name}: unexpected command {argv}")
        build = service.get("build")
        if build:
            assert (REPO_ROOT / build["context"] / build["dockerfile"]).is_file()
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if source.startswith("."):
                assert (REPO_ROOT / source).exists(), f"{name} mounts missing {source}"
    assert seen == {"airflow", "python"}

    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    # Dependencies are baked in from the exact pins, not installed at container start.
    assert "COPY requirements.txt" in dockerfile and "pip install -r requirements.txt" in dockerfile
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (REPO_ROOT / source).exists(), f"Dockerfile copies missing {source}"


@pytest.mark.parametrize(
    "form, value, base_url",
    [
        ("json", '{"conn_type": "http", "host": "http://10.0.0.5:9000/", "password": "t0k-en"}',
         "http://10.0.0.5:9000"),
        ("uri", "http://:t0k-en@127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("uri", "https://:t0k-en@dichvucong.example.gov.vn", "https://dichvucong.example.gov.vn"),
    ],
)
def test_tthc_api_connection_gives_base_url_and_token(dagbag, form, value, base_url):
    """Either way an operator writes AIRFLOW_CONN_TTHC_API, the DAGs reach the same API."""
    from airflow.sdk import Connection

    from etl.config import Settings
    from etl.orchestration import base_url_from_connection

    conn = (Connection.from_json(value, conn_id="tthc_api") if form == "json"
            else Connection.from_uri(value, conn_id="tthc_api"))
    url = base_url_from_connection(conn.conn_type, conn.host, conn.port, conn.schema)
    settings = Settings().with_source(url, conn.password)
    assert (settings.api_url, settings.api_token) == (base_url, "t0k-en")
