"""`python -m etl run`: the whole pipeline over the local-day windows of [start, end).

Same stage functions as the DAGs. The warehouse changes in ONE transaction (load + KPI
rebuild), so any failure — unreachable API, bad token, blocking validation, a kill — leaves it
as it was before the run; the published copy is replaced only after that transaction commits.
"""
from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Callable

from etl.config import Settings

log = logging.getLogger(__name__)

FEEDS = ("dossier", "payment")
REFERENCES = ("agency", "procedure")


@dataclass
class RunSummary:
    run_id: str
    days: int
    batch_dir: Path
    loaded: dict[str, int] = field(default_factory=dict)
    quarantined: dict[str, int] = field(default_factory=dict)
    kpi_rows: int = 0
    seconds: float = 0.0


def local_days(start: date, end: date) -> list[date]:
    """The local days of [start, end)."""
    return [start + timedelta(days=offset) for offset in range((end - start).days)]


class _Progress:
    """One rewritten status line on a terminal; silent otherwise."""

    def __init__(self, enabled: bool, total: int):
        self.enabled, self.total, self.done, self.started = enabled, total, 0, time.monotonic()

    def step(self, label: str) -> None:
        self.done += 1
        if self.enabled:
            elapsed = time.monotonic() - self.started
            sys.stderr.write(f"\r[{self.done}/{self.total}] {label:<40} {elapsed:6.1f}s")
            sys.stderr.flush()

    def note(self, label: str) -> None:
        if self.enabled:
            sys.stderr.write(f"\r{label:<60}\n")
            sys.stderr.flush()


def extract_and_land(
    settings: Settings, days: list[date], step: Callable[[str], None] = lambda _: None
) -> list[Path]:
    """Land every feed window of `days` and one snapshot of each reference list."""
    from etl import landing
    from etl.source import ApiClient

    client = ApiClient(
        settings.api_url, settings.api_token, max_retry_seconds=settings.source_retry_seconds,
        read_timeout=settings.source_read_timeout, backoff_base=settings.source_backoff_seconds,
    )
    manifests: list[Path] = []
    # Reference lists first: an auth or reachability problem fails fast, before hours of paging.
    for entity in REFERENCES:
        manifests.append(landing.land(settings, landing.extract(settings, entity, days[-1], client=client)))
        step(f"{entity} list")
    for day in days:
        for entity in FEEDS:
            manifests.append(landing.land(settings, landing.extract(settings, entity, day, client=client)))
        step(f"{day.isoformat()}")
    return manifests


def run(settings: Settings, start: date, end: date, progress: bool = False) -> RunSummary:
    from etl import kpi, load, publish, validation, warehouse

    settings.require_pii_key()  # refuse before any personal data is read
    began = time.monotonic()
    days = local_days(start, end)
    if not days:
        raise ValueError(f"empty range: [{start}, {end})")
    bar = _Progress(progress, total=len(days) + len(REFERENCES) + 3)

    manifests = extract_and_land(settings, days, bar.step)
    batch_dir = validation.validate(settings, manifests)
    bar.step("validated")

    with warehouse.open_warehouse(settings.warehouse) as con:
        with warehouse.transaction(con):
            result = load.load_batch(con, batch_dir)
            bar.step("loaded")
            kpi_rows = kpi.rebuild_pending(con)
            bar.step("KPIs rebuilt")
    publish.publish(settings)
    summary = RunSummary(
        run_id=result.run_id,
        days=len(days),
        batch_dir=batch_dir,
        loaded=dict(result.loaded),
        quarantined=dict(result.quarantined),
        kpi_rows=kpi_rows,
        seconds=time.monotonic() - began,
    )
    bar.note(
        f"run {summary.run_id}: {len(days)} day(s), loaded {summary.loaded}, "
        f"quarantined {summary.quarantined}, {kpi_rows} KPI rows rebuilt, {summary.seconds:.1f}s"
    )
    log.info("run finished: %s", summary)
    return summary
