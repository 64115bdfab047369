"""`make demo`: the whole system on one machine, with no setup beyond the venv.

1. An embedded Airflow: AIRFLOW_HOME=<repo>/.airflow (SQLite metadata DB, git-ignored), the DAG
   folder <repo>/dags, no example DAGs, the one-slot `tthc_warehouse` pool.
2. The emulator of the provincial export API (`python -m etl emulator`, default options) in the
   background, writing its paper-free pilot registrations next to the warehouse (pilot.csv,
   TTHC_PILOT_FILE of every child); the public demo pseudonymization key (TTHC_DEMO=1).
3. History with `python -m etl run` over the emulator's range except its last three days, then
   those three nights through Airflow itself (`dag.test()` of tthc_nightly), then the KPI DAG —
   all in one Airflow child process, which starts Airflow's in-process execution API once.
4. The KPI scorecard from the published copy, and how to open the Airflow UI (`make airflow-ui`).

Every child runs with an explicit environment; the emulator is stopped by its PID whatever
happens. Exit code 0 on success, 1 with one clear line otherwise.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date, datetime, time as clock, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from etl.config import DEMO_TOKEN
from etl.contract import LOCAL_TZ
from etl.orchestration import local_day

REPO_ROOT = Path(__file__).resolve().parent.parent
AIRFLOW_HOME = REPO_ROOT / ".airflow"
BIN_DIR = Path(sys.executable).parent
AIRFLOW = str(BIN_DIR / "airflow")
NIGHTLY_DAYS = 3
EMULATOR_READY_SECONDS = 300
WAREHOUSE_POOL = ("tthc_warehouse", "1", "DuckDB warehouse: one writer at a time")
DAG_TESTS_FLAG = "--dag-tests"
DAG_TEST_MARK = "[dag.test] "


class DemoError(RuntimeError):
    """A demo step failed; the message says which and where its log is."""


def emulator_defaults() -> tuple[int, date, date]:
    """Port and [start, end) of the emulator's default history, from its own CLI defaults."""
    from etl.cli import build_parser

    args = build_parser().parse_args(["emulator"])
    return int(args.port), date.fromisoformat(str(args.start)), date.fromisoformat(str(args.end))


def nightly_logical_date(day: date) -> datetime:
    """The logical date whose inferred data interval starts at 01:00 local on `day`."""
    return datetime.combine(day + timedelta(days=1), clock(1, 0), tzinfo=ZoneInfo(LOCAL_TZ))


def split_history(start: date, end: date, nightly_days: int = NIGHTLY_DAYS) -> tuple[date, list[date]]:
    """(end of the bulk `etl run`, the days left for the nightly DAG)."""
    if (end - start).days <= nightly_days:
        raise DemoError(f"the emulator's range [{start}, {end}) is too short for the demo")
    cut = end - timedelta(days=nightly_days)
    return cut, [cut + timedelta(days=i) for i in range(nightly_days)]


def demo_env(api_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    env.update(
        AIRFLOW_HOME=str(AIRFLOW_HOME),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO_ROOT / "dags"),
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
        AIRFLOW_CONN_TTHC_API=json.dumps(
            {"conn_type": "http", "host": api_url, "password": DEMO_TOKEN}
        ),
        PYTHONPATH=str(REPO_ROOT),
        TTHC_DEMO="1",
        TTHC_API_URL=api_url,
        TTHC_API_TOKEN=DEMO_TOKEN,
    )
    for name, relative in (
        ("TTHC_WAREHOUSE", "warehouse/tthc.duckdb"),
        ("TTHC_RAW_DIR", "warehouse/raw"),
        ("TTHC_PUBLISHED", "warehouse/published/tthc.duckdb"),
    ):
        env.setdefault(name, str(REPO_ROOT / relative))
    # The emulator writes this file for its own world: the pilot KPI needs that one.
    env["TTHC_PILOT_FILE"] = str(Path(env["TTHC_WAREHOUSE"]).parent / "pilot.csv")
    return env


# ---------------------------------------------------------------- steps


class Steps:
    def __init__(self, log_dir: Path = AIRFLOW_HOME / "demo-logs") -> None:
        self.began = time.monotonic()
        self.log_dir = log_dir
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for old in self.log_dir.glob("*.log"):  # this run's logs only
            old.unlink()

    def say(self, message: str) -> None:
        print(f"[demo {time.monotonic() - self.began:6.1f}s] {message}", flush=True)

    def marked_lines(self, log_name: str, mark: str) -> list[str]:
        log_path = self.log_dir / f"{log_name}.log"
        if not log_path.exists():
            return []
        lines = log_path.read_text(errors="replace").splitlines()
        return [line[len(mark):] for line in lines if line.startswith(mark)]

    def run(self, name: str, args: list[str], env: dict[str, str], *, show: bool = False) -> None:
        """Run a child to completion; its output goes to the terminal (`show`) or a log file."""
        self.say(name)
        log_path = self.log_dir / f"{name.split()[0]}.log"
        if show:
            done = subprocess.run(args, env=env, cwd=REPO_ROOT)
        else:
            with open(log_path, "a") as log_file:
                done = subprocess.run(args, env=env, cwd=REPO_ROOT, stdout=log_file, stderr=subprocess.STDOUT)
        if done.returncode != 0:
            where = "" if show else f"; see {log_path}"
            raise DemoError(f"{name} failed (exit {done.returncode}){where}")


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start_emulator(steps: Steps, env: dict[str, str], port: int) -> tuple[subprocess.Popen, str]:
    if _port_in_use(port):
        raise DemoError(f"port {port} is already in use: stop whatever listens there (another emulator?)")
    url = f"http://127.0.0.1:{port}"
    steps.say(f"starting the emulator on {url}")
    process = subprocess.Popen(
        [sys.executable, "-m", "etl", "emulator", "--port", str(port),
         "--pilot-file", env["TTHC_PILOT_FILE"]],
        env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def drain() -> None:  # read forever so the emulator never blocks on a full pipe
        for line in process.stdout:
            if not ready.is_set():
                lines.append(line)
                if url in line:
                    ready.set()

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + EMULATOR_READY_SECONDS
    while not ready.wait(0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            raise DemoError(f"the emulator did not start: {''.join(lines)[-1500:].strip()}")
    return process, url


def stop(process: subprocess.Popen, *, timeout: float = 15, group: bool = False) -> None:
    """SIGTERM to a still running process by its PID (to its whole process group when `group`),
    then SIGKILL if it has not exited after `timeout` seconds."""
    if process.poll() is None:
        kill = os.killpg if group else os.kill
        kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill(process.pid, signal.SIGKILL)
            process.wait()


def run_demo() -> None:
    steps = Steps()
    port, first_day, end = emulator_defaults()
    cut, nightly_days = split_history(first_day, end)
    env = demo_env(f"http://127.0.0.1:{port}")

    steps.run("airflow db migrate", [AIRFLOW, "db", "migrate"], env)
    steps.run("airflow pools set", [AIRFLOW, "pools", "set", *WAREHOUSE_POOL], env)

    emulator, _ = start_emulator(steps, env, port)
    try:
        steps.run(
            f"etl run --start {first_day} --end {cut} (history)",
            [sys.executable, "-m", "etl", "run", "--start", str(first_day), "--end", str(cut)],
            env, show=True,
        )
        runs = [f"tthc_nightly={nightly_logical_date(day).isoformat()}" for day in nightly_days]
        try:
            steps.run(
                f"airflow dag.test: tthc_nightly for {', '.join(map(str, nightly_days))}, then tthc_kpi",
                [sys.executable, "-m", "etl.demo", DAG_TESTS_FLAG, *runs, "tthc_kpi=now"],
                env,
            )
        finally:
            for line in steps.marked_lines("airflow", DAG_TEST_MARK):
                steps.say(line)
    finally:
        stop(emulator)
        steps.say(f"emulator (pid {emulator.pid}) stopped")

    steps.run("etl scorecard", [sys.executable, "-m", "etl", "scorecard"], env, show=True)
    steps.say(f"done in {time.monotonic() - steps.began:.0f}s; Airflow logs in {steps.log_dir}")
    print(
        "\nOpen the Airflow UI on this set-up, with the emulator running and both DAGs paused:\n"
        "  make airflow-ui\n"
        "then browse http://localhost:8080 (user admin) — DAGs tthc_nightly and tthc_kpi, with these runs."
    )


def run_dag_tests(specs: list[str]) -> int:
    """Child side: `dag.test()` of each DAG_ID=LOGICAL_DATE|now in order, stopping at a failure.

    Runs with the demo's AIRFLOW_HOME already in the environment (set by the parent)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO_ROOT / "dags"))
    if bag.import_errors:
        print(f"{DAG_TEST_MARK}DAG import errors: {bag.import_errors}", flush=True)
        return 1
    for spec in specs:
        dag_id, _, when = spec.partition("=")
        began = time.monotonic()
        dag = bag.dags[dag_id]
        dag_run = dag.test() if when == "now" else dag.test(logical_date=datetime.fromisoformat(when))
        state = getattr(dag_run.state, "value", dag_run.state)
        interval = dag_run.data_interval_start
        label = f"local day {local_day(interval)}" if dag_id == "tthc_nightly" and interval else "now"
        print(f"{DAG_TEST_MARK}{dag_id} ({label}): {state} in {time.monotonic() - began:.0f}s", flush=True)
        if state != "success":
            return 1
    return 0


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == DAG_TESTS_FLAG:
        return run_dag_tests(sys.argv[2:])
    try:
        run_demo()
    except DemoError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("demo: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
