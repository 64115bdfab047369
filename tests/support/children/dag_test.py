"""Child side of support.airflow.run_dag_tests: real `dag.test()`s in a fresh interpreter.

Run as `python dag_test.py DAG_ID LOGICAL_DATE|none [DAG_ID LOGICAL_DATE|none …]` with the
environment of an isolated AIRFLOW_HOME; prints each run's outcome (its state and every task
instance) as JSON on a line starting with RESULT_MARK.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

DAGS_DIR = Path(__file__).resolve().parents[3] / "dags"
RESULT_MARK = "DAG_TEST_RESULT "


def main(pairs: list[str]) -> int:
    """Run the real dag.test()s and report every task instance."""
    from datetime import datetime

    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    bag = DagBag(dag_folder=str(DAGS_DIR))
    if bag.import_errors:
        print(f"import errors: {bag.import_errors}", file=sys.stderr)
        return 2
    for dag_id, logical_date in zip(pairs[::2], pairs[1::2]):
        dag = bag.dags[dag_id]
        began = time.monotonic()
        if logical_date == "none":
            dag_run = dag.test()
        else:
            dag_run = dag.test(logical_date=datetime.fromisoformat(logical_date))
        seconds = time.monotonic() - began
        with create_session() as session:
            tis = session.query(TaskInstance).filter(
                TaskInstance.dag_id == dag_id, TaskInstance.run_id == dag_run.run_id
            ).all()
            tasks = {ti.task_id: {"state": str(ti.state), "try_number": ti.try_number} for ti in tis}
        payload = {"state": str(dag_run.state), "tasks": tasks, "seconds": seconds}
        print(RESULT_MARK + json.dumps(payload), flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and len(sys.argv) % 2 == 1:
        sys.exit(main(sys.argv[1:]))
    print(f"usage: {sys.argv[0]} DAG_ID LOGICAL_DATE|none [DAG_ID LOGICAL_DATE|none …]", file=sys.stderr)
    sys.exit(2)
