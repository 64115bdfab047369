"""Helpers for the tests that run real Airflow: isolated AIRFLOW_HOMEs, CLI calls, dag.test() in
a fresh interpreter, and process groups that are always stopped by PID.

Airflow reads its configuration once, when `airflow` is first imported; running it in child
processes with an explicit environment keeps every test's Airflow apart from the pytest process
and from each other. That child is support/children/dag_test.py (`python dag_test.py DAG_ID
LOGICAL_DATE …` runs `dag.test()`s and prints each outcome as JSON on a marked line).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .children.dag_test import RESULT_MARK
from .paths import CHILDREN_DIR, DAGS_DIR, REPO_ROOT

BIN_DIR = Path(sys.executable).parent
AIRFLOW = str(BIN_DIR / "airflow")
WAREHOUSE_POOL = "tthc_warehouse"


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    """A clean environment for an Airflow child process using `home` as AIRFLOW_HOME."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_", "TTHC_"))
    }
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS_DIR),
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",
        PYTHONPATH=str(REPO_ROOT),
    )
    env.update(extra)
    return env


def settings_env(settings) -> dict[str, str]:
    """Pipeline settings for the DAGs: the source via the `tthc_api` connection, the rest via TTHC_*."""
    return {
        "AIRFLOW_CONN_TTHC_API": json.dumps(
            {"conn_type": "http", "host": settings.api_url, "password": settings.api_token}
        ),
        "TTHC_WAREHOUSE": str(settings.warehouse),
        "TTHC_RAW_DIR": str(settings.raw_dir),
        "TTHC_PUBLISHED": str(settings.published),
        "TTHC_PII_KEY": settings.pii_key or "",
        "TTHC_PILOT_FILE": str(settings.pilot_file or ""),
    }


def run_airflow(args: list[str], env: dict[str, str], timeout: float = 300) -> str:
    """Run `airflow ARGS`; raise with its output when it fails. Returns stdout+stderr."""
    done = subprocess.run(
        [AIRFLOW, *args], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout
    )
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise RuntimeError(f"airflow {' '.join(args)} exited {done.returncode}:\n{output[-4000:]}")
    return output


def prepare_metadata(env: dict[str, str]) -> None:
    """Migrate the metadata DB and create the one-slot warehouse pool, as the demo and compose do."""
    run_airflow(["db", "migrate"], env, timeout=600)
    run_airflow(
        ["pools", "set", WAREHOUSE_POOL, "1", "DuckDB warehouse: one writer at a time"], env
    )


@dataclass
class DagTestResult:
    state: str
    tasks: dict[str, dict]
    seconds: float
    output: str

    def task_state(self, task_id: str) -> str:
        return self.tasks[task_id]["state"]


def run_dag_test(
    env: dict[str, str], dag_id: str, logical_date: str | None, timeout: float = 600
) -> DagTestResult:
    """`dag.test()` of DAG_ID in a fresh interpreter with `env`; its outcome and all its output."""
    return run_dag_tests(env, [(dag_id, logical_date)], timeout)[0]


def run_dag_tests(
    env: dict[str, str], runs: list[tuple[str, str | None]], timeout: float = 600
) -> list[DagTestResult]:
    """Several `dag.test()`s, in order, in ONE fresh interpreter: Airflow's in-process execution
    API costs seconds to start, so sharing it keeps the suite fast. Each result carries the whole
    output and its own duration."""
    args = [sys.executable, str(CHILDREN_DIR / "dag_test.py")]
    for dag_id, logical_date in runs:
        args += [dag_id, logical_date or "none"]
    done = subprocess.run(args, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)
    output = done.stdout + done.stderr
    marked = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if done.returncode != 0 or len(marked) != len(runs):
        raise RuntimeError(f"dag.test{runs} did not finish (rc {done.returncode}):\n{output[-6000:]}")
    results = []
    for line in marked:
        result = json.loads(line[len(RESULT_MARK):])
        results.append(DagTestResult(result["state"], result["tasks"], result["seconds"], output))
    return results


# ---------------------------------------------------------------- long-running processes


@dataclass
class ProcessGroup:
    """Processes started in their own sessions, each stopped by its process-group id."""

    log_dir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        log_file = open(self.log_dir / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            args, env=env, cwd=REPO_ROOT, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log_file.close()  # the child holds its own copy
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited {process.returncode}:\n{self.log(name)[-4000:]}")

    def stop_all(self, timeout: float = 20) -> None:
        # Airflow services fork workers (gunicorn/uvicorn, celery, task supervisors): signal the
        # whole group each started, first politely, then for good.
        for process in self.processes.values():
            _signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for process in self.processes.values():
            _signal_group(process.pid, signal.SIGKILL)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def wait_until(
    predicate: Callable[[], object], timeout: float, what: str, interval: float = 2.0,
    on_poll: Callable[[], None] | None = None,
):
    """Poll until `predicate()` is truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if on_poll:
            on_poll()
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
