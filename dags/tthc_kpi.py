"""
### tthc_kpi — rebuild the KPI marts and publish the read-only warehouse

Scheduled on the Asset `tthc_warehouse_core`, which every successful `tthc_nightly` load
updates.

1. `refresh_kpis` — recomputes `mart.kpi_value` for the periods pending in
   `audit.kpi_dirty_period` only (`etl.pipeline.refresh_kpis`), then clears them.
2. `publish` — replaces `TTHC_PUBLISHED` atomically with a consistent copy (`etl.pipeline.publish`).
3. `report` — writes the monthly and quarterly report (HTML + XLSX, in Vietnamese; English with
   `python -m etl report --lang en`) of the latest month and quarter in `mart.kpi_value`, read
   from the published copy, under `<warehouse folder>/reports` (`etl.pipeline.write_reports`).

Cheap under backfills: one run handles all the Asset events queued while it waited
(`max_active_runs=1`), and it rebuilds only the periods still pending, so 90 backfilled nights
cost a few KPI runs, not 90 full rebuilds. Both tasks write the warehouse and take the one-slot
pool `tthc_warehouse`.
"""
from __future__ import annotations


import pendulum
from airflow.sdk import Asset, dag, task

from etl.contract import LOCAL_TZ
from etl.orchestration import CORE_ASSET_NAME, CORE_ASSET_URI, WAREHOUSE_POOL

TTHC_CORE_ASSET = Asset(name=CORE_ASSET_NAME, uri=CORE_ASSET_URI)


@dag(
    dag_id="tthc_kpi",
    schedule=[TTHC_CORE_ASSET],
    start_date=pendulum.datetime(2023, 1, 1, tz=LOCAL_TZ),
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "tthc-data", "retries": 1, "pool": WAREHOUSE_POOL},
    tags=["tthc", "warehouse", "kpi"],
    doc_md=__doc__,
)
def tthc_kpi():
    @task
    def refresh_kpis() -> None:
        from etl import orchestration

        orchestration.refresh_kpis()

    @task
    def publish() -> str:
        from etl import orchestration

        return orchestration.publish()

    @task
    def report() -> list[str]:
        from etl import orchestration

        return orchestration.report()

    refresh_kpis() >> publish() >> report()


tthc_kpi()
