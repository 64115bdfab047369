"""
### tthc_nightly — load yesterday's dossiers and payments into the TTHC warehouse

Every day at 01:00 Asia/Ho_Chi_Minh this DAG loads the **previous local day**
(`[day 00:00+07:00, day+1 00:00+07:00)`, the day of the run's `data_interval_start`) from the
provincial TTHC export API:

1. `extract_<entity>` — pages the API for dossiers, payments, agencies and procedures into the
   spool, personal data pseudonymized (`etl.pipeline.extract`). Transient source faults retry with
   exponential backoff; a permanent fault (wrong token, 4xx) fails at once.
2. `land_<entity>` — commits each window to the landing zone (`etl.pipeline.land`);
   `land_pilot` lands the paper-free pilot registration file `TTHC_PILOT_FILE` (`etl.pipeline.land_pilot`).
3. `validate` — standardizes and runs the Great Expectations suites (`etl.pipeline.validate`);
   invalid records are quarantined, a blocking failure fails the run without retries.
4. `load` — loads the star schema in one transaction (`etl.pipeline.load`) and updates the Asset
   `tthc_warehouse_core`, which schedules `tthc_kpi`.

Source: the `tthc_api` connection (host = base URL, password = token), else `TTHC_API_URL` /
`TTHC_API_TOKEN`. Warehouse writers share the one-slot pool `tthc_warehouse`.
Backfill: `airflow backfill create --dag-id tthc_nightly --from-date D1 --to-date D2` loads the
local days [D1, D2), like `python -m etl run --start D1 --end D2`, when
`core.default_timezone = Asia/Ho_Chi_Minh` (as docker-compose.yml sets it): the night of D2 starts
its data interval at D2 01:00, after `--to-date`. A backfill runs up to `--max-active-runs` nights
at once (10 by default): extraction and validation overlap, the pool still serializes the loads.
Every run is idempotent; each task is one call of the engine that `python -m etl run` loops
(docs/ARCHITECTURE.md "One engine, two drivers").
"""
from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, dag, task
from airflow.timetables.interval import CronDataIntervalTimetable

# Light module (stdlib + etl.config): the contract names shared with tthc_kpi.
from etl.contract import ENTITIES, LOCAL_TZ
from etl.orchestration import CORE_ASSET_NAME, CORE_ASSET_URI, WAREHOUSE_POOL

TTHC_CORE_ASSET = Asset(name=CORE_ASSET_NAME, uri=CORE_ASSET_URI)

# First delay between extract retries (doubling each time, capped); tests and impatient
# operators shorten it. The source client has already retried for TTHC_SOURCE_MAX_RETRY_SECONDS
# before a task attempt fails, so the default is minutes, not seconds.
EXTRACT_RETRY_DELAY = timedelta(seconds=float(os.environ.get("TTHC_EXTRACT_RETRY_DELAY_SECONDS") or 120))

default_args = {
    "owner": "tthc-data",
    "retries": 0,
}


@dag(
    dag_id="tthc_nightly",
    schedule=CronDataIntervalTimetable("0 1 * * *", timezone=LOCAL_TZ),
    start_date=pendulum.datetime(2023, 1, 1, tz=LOCAL_TZ),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["tthc", "warehouse", "nightly"],
    doc_md=__doc__,
)
def tthc_nightly():
    @task(
        retries=4,
        retry_delay=EXTRACT_RETRY_DELAY,
        retry_exponential_backoff=2.0,
        max_retry_delay=timedelta(minutes=30),
    )
    def extract(entity: str, data_interval_start=None) -> str:
        from etl import orchestration

        return orchestration.extract(entity, orchestration.local_day(data_interval_start))

    @task
    def land(spool: str) -> str:
        from etl import orchestration

        return orchestration.land(spool)

    @task(retries=0)
    def land_pilot(data_interval_start=None) -> str:
        from etl import orchestration

        return orchestration.land_pilot(orchestration.local_day(data_interval_start))

    @task(retries=0)
    def validate(manifests: list[str]) -> str:
        from etl import orchestration

        return orchestration.validate(list(manifests))

    # Retried once: the only transient failure here is another process holding DuckDB's lock.
    @task(pool=WAREHOUSE_POOL, outlets=[TTHC_CORE_ASSET], retries=1, retry_delay=timedelta(minutes=1))
    def load(batch_dir: str) -> dict:
        from etl import orchestration

        return orchestration.load(batch_dir)

    manifests = [
        land.override(task_id=f"land_{entity}")(
            extract.override(task_id=f"extract_{entity}")(entity)
        )
        for entity in ENTITIES
    ]
    load(validate([*manifests, land_pilot()]))


tthc_nightly()
