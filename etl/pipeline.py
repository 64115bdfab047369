"""The run engine: the pipeline's stages as calls, in the order data flows through them.

source -> landing (`land_references`, `extract`/`land`, `extract_and_land`) -> validation
(`validate`) -> load (`load`) -> marts (`refresh_kpis`) -> publish (`publish`, `write_reports`).
`python -m etl run` is `run` below, a loop over chunks of these calls; each Airflow task
(`etl/orchestration.py`) is one of them. Where the two drivers differ it is a parameter here,
listed with its reason in docs/ARCHITECTURE.md "One engine, two drivers". How the process runs
(memory caps, allocator, GC, the extraction child) is in `etl/runtime.py`.
"""
from __future__ import annotations

import logging
import sys
import time
from collections import deque
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from etl import runtime
from etl.config import Settings
from etl.contract import FEEDS, REFERENCES
from etl.progress import Progress

log = logging.getLogger(__name__)

# A long run is extracted, validated and staged in chunks of about this many records, so memory
# does not grow with the run's length and a chunk's fixed cost is paid per ~150k records at every
# scale (docs/decisions/0002).
CHUNK_RECORDS = 150_000
# The stages a run's progress shows, in days of [start, end) and their records.
EXTRACTED, LOADED = "extracted", "validated+loaded"


@dataclass
class RunSummary:
    run_id: str  # the first batch's; a run of more than CHUNK_RECORDS has one batch per chunk
    days: int
    batch_dir: Path
    loaded: dict[str, int] = field(default_factory=dict)
    quarantined: dict[str, int] = field(default_factory=dict)
    kpi_rows: int = 0
    seconds: float = 0.0
    run_ids: list[str] = field(default_factory=list)
    batch_dirs: list[Path] = field(default_factory=list)


def local_days(start: date, end: date) -> list[date]:
    """The local days of [start, end)."""
    return [start + timedelta(days=offset) for offset in range((end - start).days)]


def land_references(settings: Settings, day: date) -> list[Path]:
    """Land one snapshot of each reference list, and the pilot registration file, under `day`.
    Done first in a run: an auth or reachability problem fails fast, before hours of paging."""
    from etl import landing, pilot

    client = landing.client_for(settings)
    try:
        manifests = []
        for entity in REFERENCES:
            manifests.append(landing.land(settings, landing.extract(settings, entity, day, client=client)))
        manifests.append(pilot.land_pilot(settings, day))
        return manifests
    finally:
        client.close()


@dataclass(frozen=True)
class LandedChunk:
    manifests: list[Path]  # in day order, feeds in FEEDS order
    days: list[date]       # the days landed: the first of those asked for
    records: int           # records extracted (the manifests' `extracted`)


def extract_and_land(
    settings: Settings, days: list[date], workers: int = runtime.EXTRACT_WORKERS, records: int | None = None,
) -> LandedChunk:
    """Land the feed windows of `days`, in day order; with `records`, stop once the days landed
    hold that many records (the days already under way land too).

    The windows are extracted by a few threads (each with its own API client); every window
    lands on its own, so the landing zone holds the same files in any order. The manifests are
    returned in day order, feeds in FEEDS order, as a serial run would return them.
    """
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from etl import landing
    from etl.source import ApiClient

    local = threading.local()
    clients: list[ApiClient] = []
    clients_lock = threading.Lock()

    def land_window(entity: str, day: date) -> Path:
        api = getattr(local, "client", None)
        if api is None:
            api = local.client = landing.client_for(settings)
            with clients_lock:
                clients.append(api)
        return landing.land(settings, landing.extract(settings, entity, day, client=api))

    manifests: list[Path] = []
    landed: list[date] = []
    extracted = 0
    # Days in flight: enough to keep every thread busy, few enough to stop near `records`.
    ahead = max(1, workers)
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="extract")
    try:
        pending = deque()
        for day in days:
            pending.append((day, [pool.submit(land_window, entity, day) for entity in FEEDS]))
            if len(pending) < ahead:
                continue
            extracted += _land_next(pending, manifests, landed)
            if records is not None and extracted >= records:
                break
        while pending:
            extracted += _land_next(pending, manifests, landed)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for api in clients:
            api.close()
    return LandedChunk(manifests, landed, extracted)


def _land_next(pending: "deque", manifests: list[Path], landed: list[date]) -> int:
    """Wait for the earliest day in flight; returns the records its windows extracted."""
    from etl.landing import read_manifest

    day, futures = pending.popleft()
    paths = [future.result() for future in futures]
    manifests.extend(paths)
    landed.append(day)
    return sum(int(read_manifest(path)["extracted"]) for path in paths)


class _ChunkExtractor:
    """Extracts the run's chunks of ~`records` records one ahead of the caller, in a child
    process when the run spans more than one day (a night is extracted here)."""

    def __init__(self, settings: Settings, days: list[date], records: int):
        self.settings, self.remaining, self.records = settings, list(days), records
        self.pool = runtime.extraction_process() if len(days) > 1 else None
        self.future = None
        if self.pool is not None:  # the child starts and imports while the references land
            self.pool.submit(runtime.warm_extractor)

    @property
    def done(self) -> bool:
        return not self.remaining

    def _submit(self) -> None:
        self.future = self.pool.submit(extract_and_land, self.settings, self.remaining,
                                       workers=runtime.CHILD_EXTRACT_WORKERS, records=self.records)

    def take(self) -> LandedChunk:
        """Land the next chunk (already under way in the child) and start the one after it."""
        if self.pool is None:
            chunk = extract_and_land(self.settings, self.remaining, records=self.records)
        else:
            if self.future is None:  # the first chunk
                self._submit()
            chunk = self.future.result()
        self.remaining = self.remaining[len(chunk.days):]
        self.future = None
        if self.pool is not None and self.remaining:  # chunk k+1 pages while chunk k validates
            self._submit()
        log.info("extracted a chunk of %d day(s), %d records", len(chunk.days), chunk.records)
        return chunk

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


# -- one call per stage: each Airflow task is one of these ------------------------------------------


def extract(settings: Settings, entity: str, day: date) -> Path:
    """One entity's window of `day` into the spool, personal data pseudonymized."""
    from etl import landing

    return landing.extract(settings, entity, day)


def land(settings: Settings, spool: Path) -> Path:
    """A spooled window committed to the landing zone; returns its manifest."""
    from etl import landing

    return landing.land(settings, spool)


def land_pilot(settings: Settings, day: date) -> Path:
    from etl import pilot

    return pilot.land_pilot(settings, day)


def validate(settings: Settings, manifests: list[Path], gx=None) -> Path:
    """Landed windows standardized and checked into a staged batch; `gx`: a run's shared GX
    session (a process that validates one batch makes its own)."""
    from etl import validation

    return validation.validate(settings, manifests, gx=gx)


def load(settings: Settings, batch_dir: Path):
    """A staged batch into the warehouse in one transaction, under the writers' memory cap."""
    from etl import load as load_stage
    from etl.warehouse import transaction

    with runtime.open_warehouse(settings) as con, transaction(con):
        return load_stage.load_batch(con, batch_dir)


def refresh_kpis(settings: Settings, full: bool = False) -> int:
    """mart.kpi_value rebuilt for the pending periods (every period with `full`), and the mart
    views brought up to date; returns the rows written."""
    from etl import kpi
    from etl.warehouse import transaction

    with runtime.open_warehouse(settings) as con, transaction(con):
        return kpi.rebuild_all(con) if full else kpi.rebuild_pending(con)


def publish(settings: Settings) -> Path:
    """The read-only copy and the Parquet marts. Called after `refresh_kpis` (or a run), which
    leaves the mart views current: publishing need not create them again."""
    from etl import publish as publish_stage

    return publish_stage.publish(settings, views_current=True)


def write_reports(settings: Settings) -> list[Path]:
    """The report of the latest month and quarter, read from the published copy."""
    from etl import report

    return [Path(path) for path in report.write_latest(settings)]


# -- the backfill driver -----------------------------------------------------------------------


def run(settings: Settings, start: date, end: date, progress: bool = False,
        chunk_records: int = CHUNK_RECORDS, reports: bool = False) -> RunSummary:
    """The local days [start, end) through every stage, in ONE warehouse transaction (load and
    KPI rebuild): any failure leaves the warehouse as it was before the run, and the published
    copy is replaced only after it commits. `reports`: write the latest report as the KPI DAG
    does (off by default: a backfill's latest month is seldom the one wanted; `etl report`)."""
    with runtime.tuned():
        summary = _run(settings, start, end, progress, chunk_records)
    if reports:
        write_reports(settings)
    return summary


def _run(settings: Settings, start: date, end: date, progress: bool, chunk_records: int) -> RunSummary:
    from concurrent.futures import ThreadPoolExecutor

    from etl import kpi, suites, warehouse
    from etl import load as load_stage

    settings.require_pii_key()  # refuse before any personal data is read
    began = time.monotonic()
    days = local_days(start, end)
    if not days:
        raise ValueError(f"empty range: [{start}, {end})")
    bar = Progress(terminal=progress)
    bar.stage(EXTRACTED, len(days))
    bar.stage(LOADED, len(days))

    from etl import source  # noqa: F401 - imported before the GX import thread starts

    gx_import: list = []  # started once the source answered: a failing run does not wait for it
    batch_dirs: list[Path] = []
    results: list = []
    # Three chunks at once: chunk k+2 downloads (the child), k+1 validates (GX holds the GIL) and
    # k loads (DuckDB releases it), each stage in a thread of its own and in chunk order. Chunk
    # k+1's validation starts once chunk k-1's load has ended, so at most one staged batch waits;
    # a blocking failure stops the run at the next chunk. The loads go into ONE warehouse
    # transaction, opened with the first load and committed after the KPIs (decision 0073).
    validator = ThreadPoolExecutor(max_workers=1, thread_name_prefix="validate")
    loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="load")
    # One GX context for the run's chunks; Data Docs built once, while the KPIs rebuild.
    gx = suites.gx_session(settings)
    open_transaction = ExitStack()
    holder: list = []  # the warehouse connection, once the first chunk is validated

    def warehouse_connection():
        if not holder:
            con = open_transaction.enter_context(runtime.open_warehouse(settings))
            open_transaction.enter_context(warehouse.transaction(con))
            holder.append(con)
        return holder[0]

    def load_chunk(batch_dir: Path, chunk: LandedChunk) -> Path:
        con = warehouse_connection()
        runtime.raise_cap(con)  # back from the idle cap of the last load
        results.append(load_stage.load_batch(con, batch_dir))
        runtime.lower_cap(con)
        bar.advance(LOADED, len(chunk.days), chunk.records)
        return batch_dir

    def validate_chunk(manifests: list[Path]) -> Path:
        batch_dir = validate(settings, manifests, gx=gx)
        runtime.collect_chunk_garbage()
        return batch_dir

    validating = loading = None  # (future, chunk)

    def load_validated() -> None:
        nonlocal validating, loading
        future, chunk = validating
        batch_dir = future.result()  # a blocking failure stops the run here
        if loading is not None:
            batch_dirs.append(loading[0].result())
        loading, validating = (loader.submit(load_chunk, batch_dir, chunk), chunk), None

    extractor = _ChunkExtractor(settings, days, chunk_records)
    with open_transaction:  # on any failure: ROLLBACK, then close (the warehouse is as before)
        try:
            while not extractor.done:
                # The reference lists, snapshotted once under the run's last day, go with the
                # first chunk, so every chunk's facts resolve against them as one batch's would.
                manifests: list[Path] = []
                if validating is None and loading is None:
                    manifests += land_references(settings, days[-1])
                    gx_import.append(runtime.prefetch_gx())
                chunk = extractor.take()
                bar.advance(EXTRACTED, len(chunk.days), chunk.records)
                if validating is not None:
                    load_validated()
                for thread in gx_import:
                    thread.join()  # no two threads importing at once while validation starts its imports
                validating = (validator.submit(validate_chunk, manifests + chunk.manifests), chunk)
            extractor.close()  # idle since the last chunk: its memory goes back before the tail
            load_validated()
            batch_dirs.append(loading[0].result())
            docs = validator.submit(gx.build_docs)
            runtime.raise_cap(holder[0])
            kpi_rows = kpi.rebuild_pending(holder[0])
            docs.result()  # Data Docs that cannot be built fail the run before it commits
            log.info("KPIs rebuilt (%d rows); committing the run's %d batch(es)", kpi_rows, len(results))
        finally:
            extractor.close()
            validator.shutdown(wait=True, cancel_futures=True)
            loader.shutdown(wait=True, cancel_futures=True)
            bar.close()
    log.info("committed")
    publish(settings)
    summary = _summary(results, batch_dirs, len(days), kpi_rows, time.monotonic() - began)
    if progress:
        print(f"run {summary.run_id}: {len(days)} day(s), loaded {summary.loaded}, quarantined "
              f"{summary.quarantined}, {kpi_rows} KPI rows rebuilt, {summary.seconds:.1f}s", file=sys.stderr)
    log.info("run finished: %s", summary)
    return summary


def _summary(results: list, batch_dirs: list[Path], days: int, kpi_rows: int, seconds: float) -> RunSummary:
    loaded: dict[str, int] = {}
    quarantined: dict[str, int] = {}
    for each in results:
        for entity, count in each.loaded.items():
            loaded[entity] = loaded.get(entity, 0) + count
        for entity, count in each.quarantined.items():
            quarantined[entity] = quarantined.get(entity, 0) + count
    return RunSummary(
        run_id=results[0].run_id, days=days, batch_dir=batch_dirs[0], loaded=loaded,
        quarantined=quarantined, kpi_rows=kpi_rows, seconds=seconds,
        run_ids=[each.run_id for each in results], batch_dirs=batch_dirs,
    )
