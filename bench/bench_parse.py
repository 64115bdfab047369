"""DAG file parse time: each dags/*.py imported in a fresh interpreter, as Airflow's DAG processor
does for every file on every parse loop (target < 0.3 s each).

Two figures per file, each the best of a few fresh subprocesses:
- parse: the DAG module's own import with Airflow already imported (`airflow.sdk`, as in the
  long-lived DAG processor) — the target;
- cold: `import airflow.sdk` + the DAG module from nothing (a task runner's start-up), for reference.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import REPO_ROOT, record

TARGET_S = 0.3
PROBE = r"""
import importlib.util, json, sys, time
path, warm = sys.argv[1], sys.argv[2] == "warm"
t0 = time.perf_counter()
if warm:
    import airflow.sdk  # noqa: F401  (the DAG processor has it loaded)
    import airflow.timetables.interval  # noqa: F401
t1 = time.perf_counter()
spec = importlib.util.spec_from_file_location("dag_under_test", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
t2 = time.perf_counter()
print(json.dumps({"airflow": t1 - t0, "module": t2 - t1, "total": t2 - t0}))
"""


def _probe(path: Path, warm: bool, env: dict[str, str]) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, str(path), "warm" if warm else "cold"],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(quick: bool = False) -> None:
    repeats = 2 if quick else 5
    with tempfile.TemporaryDirectory(prefix="bench-parse-") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "TTHC_"))}
        env.update(AIRFLOW_HOME=home, AIRFLOW__CORE__LOAD_EXAMPLES="False",
                   AIRFLOW__CORE__DAGS_FOLDER=str(REPO_ROOT / "dags"))
        for path in sorted((REPO_ROOT / "dags").glob("*.py")):
            warm = min((_probe(path, True, env) for _ in range(repeats)), key=lambda r: r["module"])
            cold = min((_probe(path, False, env) for _ in range(repeats)), key=lambda r: r["total"])
            print(f"{path.name:<18} parse {warm['module']:.3f}s (airflow.sdk preloaded, its import "
                  f"{warm['airflow']:.2f}s)  cold import {cold['total']:.2f}s  target < {TARGET_S}s "
                  f"(best of {repeats})", flush=True)
            record(f"DAG parse {path.name}", warm["module"], 0, None, {"cold import": cold["total"]},
                   f"<{TARGET_S}s", warm["module"] < TARGET_S)


if __name__ == "__main__":
    main("--quick" in sys.argv)
