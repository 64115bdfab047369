"""`python -m etl status`: is the warehouse fresh and healthy? One screen, or JSON for monitoring.

Read from the published copy, which a running pipeline never locks (the warehouse itself when
nothing is published yet): the last day loaded and the latest NgayCapNhat per feed, the latest
runs with their counts, the KPI periods still pending, the last days' quarantine by reason, the
published copy's age and the schema version.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from etl.config import Settings
from etl.contract import LOCAL_TIMEZONE

# Exit code when the data is older than the threshold (0: fresh; 1: an error, e.g. no warehouse).
EXIT_STALE = 3
DEFAULT_MAX_AGE_HOURS = 36.0  # a nightly run missed, with a few hours' grace
QUARANTINE_DAYS = 7
RUNS_SHOWN = 5


@dataclass
class Status:
    source: str
    schema_version: int
    schema_latest: int
    feeds: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    pending_periods: list[dict[str, Any]]
    quarantine: list[dict[str, Any]]
    published_age_hours: float | None
    data_age_hours: float | None
    max_age_hours: float
    fresh: bool


def _rows(con, relative: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    from etl import steps

    cursor = con.execute(steps.render(steps.SQL_DIR.joinpath(relative).read_text(encoding="utf-8"),
                                      params, source=relative))
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 1)


def collect(settings: Settings, max_age_hours: float = DEFAULT_MAX_AGE_HOURS,
            now: datetime | None = None) -> Status:
    from etl import warehouse

    source = Path(settings.published) if Path(settings.published).exists() else Path(settings.warehouse)
    if not source.exists():
        raise FileNotFoundError(f"no warehouse at {settings.warehouse} and nothing published at "
                                f"{settings.published}: run `python -m etl run` first")
    now = now or datetime.now(LOCAL_TIMEZONE).replace(tzinfo=None)
    con = warehouse.connect(source, read_only=True)
    try:
        version = warehouse.schema_version(con)
        feeds = _rows(con, "status/feeds.sql")
        runs = _rows(con, "status/runs.sql", {"runs": RUNS_SHOWN})
        pending = _rows(con, "status/pending_periods.sql")
        quarantine = _rows(con, "status/quarantine_by_reason.sql", {"days": QUARANTINE_DAYS})
    finally:
        con.close()
    loaded = [feed["loaded_until"] for feed in feeds if feed["loaded_until"] is not None]
    data_age = _hours((now - min(loaded)).total_seconds()) if loaded else None
    published_age = (_hours(time.time() - os.stat(settings.published).st_mtime)
                     if Path(settings.published).exists() else None)
    return Status(
        source=str(source), schema_version=version, schema_latest=warehouse.latest_version(),
        feeds=feeds, runs=runs, pending_periods=pending, quarantine=quarantine,
        published_age_hours=published_age, data_age_hours=data_age, max_age_hours=max_age_hours,
        fresh=data_age is not None and data_age <= max_age_hours,
    )


def as_json(status: Status) -> str:
    return json.dumps(asdict(status), default=str, ensure_ascii=False, indent=2)


def render(status: Status) -> str:
    verdict = "FRESH" if status.fresh else "STALE"
    lines = [
        f"{verdict}: data {status.data_age_hours if status.data_age_hours is not None else '?'} h old "
        f"(threshold {status.max_age_hours:g} h); read from {status.source}",
        f"schema version {status.schema_version} (latest {status.schema_latest}); published copy "
        + (f"{status.published_age_hours} h old" if status.published_age_hours is not None else "absent"),
        "",
        "feed      loaded until          latest NgayCapNhat",
    ]
    lines += [f"{f['entity']:<9} {str(f['loaded_until'] or '-'):<21} {f['latest_update'] or '-'}"
              for f in status.feeds]
    lines += ["", f"last {len(status.runs)} runs (by last window)   extracted     loaded  quarantined  duplicates"]
    lines += [f"{r['run_id'][:28]:<28} {str(r['last_window'])[:10]} {r['extracted']:>9,} {r['loaded']:>10,} "
              f"{r['quarantined']:>12,} {r['duplicates']:>11,}" for r in status.runs]
    periods = ", ".join(f"{p['period_type']} {p['period_start']}" for p in status.pending_periods)
    lines += ["", f"KPI periods pending: {periods or 'none'}", "",
              f"quarantined, last {QUARANTINE_DAYS} days of windows, by reason:"]
    lines += [f"{q['records']:>8,}  {q['entity']:<9} {q['reason']}" for q in status.quarantine[:10]]
    if not status.quarantine:
        lines.append("       0")
    elif len(status.quarantine) > 10:
        lines.append(f"          … {len(status.quarantine) - 10} more reasons (--json lists all)")
    return "\n".join(lines)
