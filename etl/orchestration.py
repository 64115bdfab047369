"""The Airflow driver: each task of `dags/` is one call of the run engine (`etl/pipeline.py`).

The DAG files import this module inside their task functions only, so parsing a DAG never pays
for DuckDB, pandas or Great Expectations. Every task body is wrapped by `task_body`: the settings
(source from the `tthc_api` connection), the process tuning of `etl/runtime.py`, and the failure
policy of `etl/errors.py` (a permanent error fails the task at once with one line and no token;
a transient one propagates so Airflow retries with backoff). Tasks hand each other file paths
(strings), never data.
"""
from __future__ import annotations

import functools
import logging
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

from etl import pipeline
from etl.config import Settings, from_env
from etl.contract import LOCAL_TZ

log = logging.getLogger(__name__)

CONNECTION_ID = "tthc_api"
WAREHOUSE_POOL = "tthc_warehouse"
# The Asset that the nightly load updates and the KPI DAG is scheduled on. Its name and URI are a
# contract between the two DAGs (and any consumer in the UI): never rename them.
CORE_ASSET_NAME = "tthc_warehouse_core"
CORE_ASSET_URI = "tthc://warehouse/core"


# ---------------------------------------------------------------- settings and dates


def base_url_from_connection(
    conn_type: str | None, host: str | None, port: int | None, schema: str | None
) -> str | None:
    """The API base URL held by an Airflow connection, whichever way it was written.

    The documented form puts the whole base URL in `host` (JSON connections); the URI form
    (`http://:token@127.0.0.1:8765`) splits it into host and port, with `schema` as the scheme
    the way Airflow's HTTP connections use it.
    """
    host = (host or "").strip()
    if not host:
        return None
    if "://" in host:
        url = host.rstrip("/")
        if port and url.count(":") == 1:  # a port given separately from a port-less URL
            url = f"{url}:{port}"
        return url
    scheme = (schema or "").strip().lower()
    if scheme not in {"http", "https"}:
        scheme = "https" if (conn_type or "").lower() == "https" else "http"
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def settings_from_airflow() -> Settings:
    """`from_env()` with the source taken from the `tthc_api` connection when it is defined."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    settings = from_env()
    try:
        conn = Connection.get(CONNECTION_ID)
    except AirflowNotFoundException:
        log.info("No Airflow connection %r: using TTHC_API_URL/TTHC_API_TOKEN", CONNECTION_ID)
        return settings
    from etl.source import redact_url

    url = base_url_from_connection(conn.conn_type, conn.host, conn.port, conn.schema)
    log.info("Source from Airflow connection %r: %s", CONNECTION_ID, redact_url(url or settings.api_url))
    return settings.with_source(url, conn.password or None)


def local_day(data_interval_start: datetime) -> date:
    """The local day a nightly run loads: its data interval starts at 01:00 local on that day."""
    if data_interval_start.tzinfo is None:
        raise ValueError("data_interval_start must be timezone-aware")
    return data_interval_start.astimezone(ZoneInfo(LOCAL_TZ)).date()


# ---------------------------------------------------------------- one policy for every task


def task_body(stage: str) -> Callable:
    """Run a task body with the Airflow settings, tuned like the CLI, under the failure policy."""

    def wrap(body: Callable) -> Callable:
        @functools.wraps(body)
        def run(*args: Any) -> Any:
            from etl import errors, runtime

            settings = settings_from_airflow()
            try:
                with runtime.tuned():
                    return body(settings, *args)
            except Exception as exc:
                what = " ".join([stage, *(str(arg) for arg in args if not isinstance(arg, list))])
                message = errors.one_line(what, exc, settings.api_token)
                if errors.is_permanent(exc):
                    from airflow.sdk.exceptions import AirflowFailException

                    log.error("%s", message)
                    raise AirflowFailException(message) from None
                log.warning("%s; Airflow retries", message)
                raise

        return run

    return wrap


# ---------------------------------------------------------------- task bodies


@task_body("extract")
def extract(settings: Settings, entity: str, day: date) -> str:
    return str(pipeline.extract(settings, entity, day))


@task_body("land")
def land(settings: Settings, spool: str) -> str:
    return str(pipeline.land(settings, Path(spool)))


@task_body("land pilot")
def land_pilot(settings: Settings, day: date) -> str:
    """The pilot registration file read tonight (none configured: a window without files)."""
    return str(pipeline.land_pilot(settings, day))


@task_body("validate")
def validate(settings: Settings, manifests: list[str]) -> str:
    return str(pipeline.validate(settings, [Path(m) for m in manifests]))


@task_body("load")
def load(settings: Settings, batch_dir: str) -> dict[str, Any]:
    """One night's batch in its own transaction; its counts go to XCom."""
    return {"batch_dir": batch_dir, "result": _jsonable(pipeline.load(settings, Path(batch_dir)))}


@task_body("kpi refresh")
def refresh_kpis(settings: Settings) -> int:
    """Every pending period, whatever the number of load runs behind it."""
    return pipeline.refresh_kpis(settings)


@task_body("publish")
def publish(settings: Settings) -> str:
    return str(pipeline.publish(settings))


@task_body("report")
def report(settings: Settings) -> list[str]:
    return [str(path) for path in pipeline.write_reports(settings)]


def _jsonable(value: Any) -> Any:
    """A LoadResult (or anything) reduced to what XCom can serialize."""
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
