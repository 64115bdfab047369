"""`make airflow-ui` (`python -m etl.airflow_ui`): the emulator and the Airflow UI together, both DAGs
there with no import error, paused, and no run started; everything stopped by PID afterwards."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from support import REPO_ROOT, stop_process



def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(check, timeout: float, what: str, process: subprocess.Popen, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"airflow-ui exited {process.returncode} before {what}:\n{log.read_text()[-4000:]}")
        try:
            value = check()
            if value:
                return value
        except (requests.RequestException, OSError, ValueError, KeyError):
            pass
        time.sleep(1)
    pytest.fail(f"timed out waiting for {what}:\n{log.read_text()[-4000:]}")


@pytest.mark.e2e
def test_airflow_ui_serves_both_dags_paused_with_the_emulator(tmp_path):
    ui_port, emulator_port, home = free_port(), free_port(), tmp_path / "airflow"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "TTHC_"))}
    env.update(TTHC_WAREHOUSE=str(tmp_path / "w" / "tthc.duckdb"), TTHC_RAW_DIR=str(tmp_path / "w" / "raw"),
               TTHC_PUBLISHED=str(tmp_path / "w" / "published" / "tthc.duckdb"))
    log = tmp_path / "airflow-ui.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "etl.airflow_ui", "--port", str(ui_port), "--emulator-port",
             str(emulator_port), "--airflow-home", str(home)],
            env=env, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{ui_port}"
    try:
        wait_for(lambda: requests.get(f"{base}/api/v2/monitor/health", timeout=5).ok, 300, "the API", process, log)
        assert listening(emulator_port), "the emulator runs beside the UI"
        passwords = home / "simple_auth_manager_passwords.json.generated"
        password = wait_for(lambda: json.loads(passwords.read_text())["admin"], 60, "the admin password",
                            process, log)
        token = requests.post(f"{base}/auth/token", json={"username": "admin", "password": password},
                              timeout=10).json()["access_token"]
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {token}"

        def both_dags():
            dags = {d["dag_id"]: d for d in api.get(f"{base}/api/v2/dags", timeout=10).json()["dags"]}
            return dags if {"tthc_nightly", "tthc_kpi"} <= set(dags) else None

        dags = wait_for(both_dags, 120, "both DAGs in the API", process, log)
        assert all(dags[d]["is_paused"] for d in ("tthc_nightly", "tthc_kpi")), dags
        assert api.get(f"{base}/api/v2/importErrors", timeout=10).json()["total_entries"] == 0
        time.sleep(5)  # a scheduler loop or two: a paused DAG must start nothing
        runs = api.get(f"{base}/api/v2/dags/~/dagRuns", timeout=10).json()
        assert runs["total_entries"] == 0, runs
    finally:
        stop_process(process, timeout=60, group=True)  # the standalone's whole process group
    deadline = time.monotonic() + 30
    while (listening(ui_port) or listening(emulator_port)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not listening(ui_port) and not listening(emulator_port), "everything stopped"
