"""`make airflow-ui`: the Airflow UI on the demo's set-up, with its source running.

Starts the emulator (as `make demo` does) and `airflow standalone` on the demo's AIRFLOW_HOME, so
the UI shows both DAGs, their docs and the demo's runs. Both DAGs are paused first: the scheduler
starts nothing until the user unpauses one. `airflow standalone` starts its components by name,
so the venv's bin folder goes on PATH. Ctrl-C (or SIGTERM) stops both, by PID.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from etl import demo

DAG_IDS = ("tthc_nightly", "tthc_kpi")


def ui_env(api_url: str, port: int, home) -> dict[str, str]:
    env = demo.demo_env(api_url)
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="True",
        AIRFLOW__API__PORT=str(port),
        PATH=f"{demo.BIN_DIR}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def _airflow(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run([demo.AIRFLOW, *args], env=env, cwd=demo.REPO_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise demo.DemoError(f"airflow {' '.join(args)} failed: {(done.stdout + done.stderr)[-1500:].strip()}")


def prepare(env: dict[str, str]) -> None:
    """The metadata DB, the pool, and both DAGs parsed and paused before any scheduler runs."""
    _airflow(["db", "migrate"], env)
    _airflow(["pools", "set", *demo.WAREHOUSE_POOL], env)
    _airflow(["dags", "reserialize"], env)
    for dag_id in DAG_IDS:
        _airflow(["dags", "pause", dag_id], env)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m etl.airflow_ui", description=__doc__.splitlines()[0])
    default_port, _, _ = demo.emulator_defaults()
    parser.add_argument("--port", type=int, default=8080, help="the UI's port (8080)")
    parser.add_argument("--emulator-port", type=int, default=default_port, help=f"the source's port ({default_port})")
    parser.add_argument("--airflow-home", type=Path, default=demo.AIRFLOW_HOME, help="the demo's (.airflow)")
    args = parser.parse_args(argv)

    env = ui_env(f"http://127.0.0.1:{args.emulator_port}", args.port, args.airflow_home)
    began = time.monotonic()

    def say(message: str) -> None:
        print(f"[airflow-ui {time.monotonic() - began:5.1f}s] {message}", flush=True)

    signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM stops both, as Ctrl-C does
    emulator = standalone = None
    try:
        say("preparing Airflow (metadata DB, pool, DAGs paused)")
        prepare(env)
        emulator, url = demo.start_emulator(demo.Steps(log_dir=args.airflow_home / "ui-logs"), env,
                                            args.emulator_port)
        say(f"emulator on {url} (pid {emulator.pid})")
        standalone = subprocess.Popen([demo.AIRFLOW, "standalone"], env=env, cwd=demo.REPO_ROOT,
                                      start_new_session=True)
        say(f"Airflow on http://127.0.0.1:{args.port} (pid {standalone.pid}); user admin, password in "
            f"{args.airflow_home / 'simple_auth_manager_passwords.json.generated'}. Both DAGs are "
            "paused: unpause one to schedule it. Ctrl-C stops everything.")
        return standalone.wait()
    except demo.DemoError as exc:
        print(f"airflow-ui: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        if standalone is not None:
            # `airflow standalone` and the components it started, all in its process group.
            demo.stop(standalone, timeout=30, group=True)
        if emulator is not None:
            demo.stop(emulator)
            say("stopped")


if __name__ == "__main__":
    sys.exit(main())
