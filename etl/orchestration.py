"""Task bodies shared by the Airflow DAGs (`dags/`): the glue between Airflow and the stages.

The DAG files import this module inside their task functions only, so parsing a DAG never pays
for DuckDB, pandas or Great Expectations. Each body calls the same stage function as
`python -m etl run` and hands the next task a file path (a string), never data.

Failure policy (operations.md, source-api.md): a transient source fault (`SourceUnavailable`,
raised once the client's own bounded retries are spent) propagates so Airflow retries the task
with backoff; anything retrying cannot fix (a permanent `SourceError` such as a wrong token, a
`BlockingValidationError`, a configuration error) raises `AirflowFailException` so the task fails
at once. Messages never carry the token: stage errors are written to avoid it, and
`_redact` removes it again in case one ever does.
"""
from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

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


# ---------------------------------------------------------------- failure policy


def _redact(text: str, settings: Settings) -> str:
    token = settings.api_token
    return text.replace(token, "***") if token else text


def _fail(stage: str, exc: BaseException, settings: Settings) -> None:
    """Fail the task now, without retries, with one clear line that holds no secret."""
    from airflow.sdk.exceptions import AirflowFailException

    message = _redact(f"{stage} failed permanently ({type(exc).__name__}): {exc}", settings)
    log.error("%s", message)
    raise AirflowFailException(message) from None


def _is_permanent(exc: BaseException) -> bool:
    from etl.config import ConfigError
    from etl.source import SourceError, SourceUnavailable

    if isinstance(exc, SourceUnavailable):
        return False
    return isinstance(exc, (SourceError, ConfigError))


# ---------------------------------------------------------------- task bodies


def extract(entity: str, day: date) -> str:
    """Extract one entity's window into the spool; transient faults are left to Airflow's retries."""
    from etl import landing

    settings = settings_from_airflow()
    try:
        spool = landing.extract(settings, entity, day)
    except Exception as exc:
        if _is_permanent(exc):
            _fail(f"extract {entity} {day}", exc, settings)
        # Transient: log without the token and let Airflow retry with exponential backoff.
        log.warning("%s", _redact(f"extract {entity} {day}: transient source fault: {exc}", settings))
        raise
    log.info("extract %s %s -> %s", entity, day, spool)
    return str(spool)


def land(spool: str) -> str:
    from etl import landing

    settings = settings_from_airflow()
    try:
        manifest = landing.land(settings, Path(spool))
    except Exception as exc:
        if _is_permanent(exc):
            _fail(f"land {spool}", exc, settings)
        raise
    log.info("landed %s -> %s", spool, manifest)
    return str(manifest)


def land_pilot(day: date) -> str:
    """Land the pilot registration file read tonight (none configured: a window without files)."""
    from etl import pilot

    settings = settings_from_airflow()
    try:
        manifest = pilot.land_pilot(settings, day)
    except pilot.PilotFileError as exc:
        _fail(f"land pilot {day}", exc, settings)
    log.info("landed pilot %s -> %s", day, manifest)
    return str(manifest)


def validate(manifests: list[str]) -> str:
    """Validate the landed windows; a blocking failure is a data problem, not worth a retry."""
    from etl import validation

    settings = settings_from_airflow()
    try:
        batch_dir = validation.validate(settings, [Path(m) for m in manifests])
    except Exception as exc:
        if isinstance(exc, validation.BlockingValidationError) or _is_permanent(exc):
            _fail("validate", exc, settings)
        raise
    log.info("validated %d windows -> %s", len(manifests), batch_dir)
    return str(batch_dir)


def load(batch_dir: str) -> dict[str, Any]:
    """Load a staged batch into the warehouse (one transaction); returns its counts for XCom."""
    from etl import load as load_stage

    settings = settings_from_airflow()
    try:
        result = load_stage.load(settings, Path(batch_dir))
    except Exception as exc:
        if _is_permanent(exc):
            _fail("load", exc, settings)
        raise
    summary = _jsonable(result)
    log.info("loaded %s: %s", batch_dir, summary)
    return {"batch_dir": batch_dir, "result": summary}


def refresh_kpis() -> None:
    """Rebuild `mart.kpi_value` for every pending period, whatever the number of load runs behind it."""
    from etl import kpi

    settings = settings_from_airflow()
    try:
        kpi.refresh(settings)
    except Exception as exc:
        if _is_permanent(exc):
            _fail("kpi refresh", exc, settings)
        raise


def publish() -> str:
    from etl import publish as publish_stage

    settings = settings_from_airflow()
    path = publish_stage.publish(settings)
    log.info("published %s", path)
    return str(path)


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
