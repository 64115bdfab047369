"""`python -m etl run`: the whole pipeline over the local-day windows of [start, end).

Same stage functions as the DAGs. The warehouse changes in ONE transaction (load + KPI
rebuild), so any failure — unreachable API, bad token, blocking validation, a kill — leaves it
as it was before the run; the published copy is replaced only after that transaction commits.
"""
from __future__ import annotations

import gc
import logging
import os
import sys
import time
from collections import deque
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Callable

from etl.config import Settings
from etl.contract import FEEDS, REFERENCES

log = logging.getLogger(__name__)



# A long run is extracted, validated and staged in chunks of about this many records (one staged
# batch each, so memory does not grow with the run's length); all chunks still load in ONE
# warehouse transaction with the KPI rebuild. Cut by records, not days, so a chunk's fixed cost
# is paid per ~150k records at every scale (docs/decisions/0002).
CHUNK_RECORDS = 150_000
# DuckDB's memory cap on the warehouse while a run loads (it spills to <warehouse>.tmp beyond it)
# and, between two chunks' loads, the cap that hands its cache back while the next chunk
# validates. Uncapped (DuckDB's default, 80 % of RAM), 12 months of a large province held 7 GB;
# with the facts merged by key (no in-memory index) loads ran as fast at 256 MB.
# TTHC_DUCKDB_MEMORY_LIMIT overrides the first.
WAREHOUSE_MEMORY_LIMIT = "256MB"
WAREHOUSE_IDLE_MEMORY_LIMIT = "64MB"


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


class _Progress:
    """One rewritten status line on a terminal; silent otherwise."""

    def __init__(self, enabled: bool, total: int):
        self.enabled, self.total, self.done, self.started = enabled, total, 0, time.monotonic()

    def step(self, label: str, count: bool = True) -> None:
        self.done += count
        if self.enabled:
            elapsed = time.monotonic() - self.started
            sys.stderr.write(f"\r[{self.done}/{self.total}] {label:<40} {elapsed:6.1f}s")
            sys.stderr.flush()

    def note(self, label: str) -> None:
        if self.enabled:
            sys.stderr.write(f"\r{label:<60}\n")
            sys.stderr.flush()


# Windows extracted at once: HTTP waits overlap with pseudonymizing and landing, and the source
# is never asked for more than a few pages at a time.
EXTRACT_WORKERS = 3
# In a process of its own (a run of several chunks) two threads keep up: a quarter of a large
# province took 28.3 s with two and 28.9 s with three, and the child peaked 13 MiB lower.
CHILD_EXTRACT_WORKERS = 2


def land_references(settings: Settings, day: date, step: Callable[[str], None] = lambda _: None) -> list[Path]:
    """Land one snapshot of each reference list, and the pilot registration file, under `day`.
    Done first in a run: an auth or reachability problem fails fast, before hours of paging."""
    from etl import landing, pilot

    client = landing.client_for(settings)
    try:
        manifests = []
        for entity in REFERENCES:
            manifests.append(landing.land(settings, landing.extract(settings, entity, day, client=client)))
            step(f"{entity} list")
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
    settings: Settings, days: list[date], step: Callable[[str], None] = lambda _: None,
    workers: int = EXTRACT_WORKERS, records: int | None = None,
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
            extracted += _land_next(pending, manifests, landed, step)
            if records is not None and extracted >= records:
                break
        while pending:
            extracted += _land_next(pending, manifests, landed, step)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for api in clients:
            api.close()
    return LandedChunk(manifests, landed, extracted)


def _land_next(pending: "deque", manifests: list[Path], landed: list[date],
               step: Callable[[str], None]) -> int:
    """Wait for the earliest day in flight; returns the records its windows extracted."""
    from etl.landing import read_manifest

    day, futures = pending.popleft()
    paths = [future.result() for future in futures]
    manifests.extend(paths)
    landed.append(day)
    step(day.isoformat())
    return sum(int(read_manifest(path)["extracted"]) for path in paths)


# -- extraction in a process of its own ----------------------------------------------------------
#
# A run of several chunks extracts them in one child process while this one validates and loads
# the chunk before. Extraction is Python per record (decoding, pseudonymizing, encoding and
# compressing every record): in threads here it held the GIL against validation and loading, and
# a 2-core machine ran the year at ~78 % of its CPU (see bench/).


def _log_handlers() -> list[tuple[str, int, str | None, str | None]]:
    """The root logger's file handlers as (path, level, format, date format), for the child."""
    import logging

    return [
        (handler.baseFilename, handler.level,
         getattr(handler.formatter, "_fmt", None), getattr(handler.formatter, "datefmt", None))
        for handler in logging.getLogger().handlers if isinstance(handler, logging.FileHandler)
    ]


def _die_with_parent(parent_pid: int) -> None:
    """A SIGKILLed run must not leave its extractor behind, still paging and landing: the kernel
    kills the child when its parent dies (Linux), and a watchdog thread covers other systems."""
    import signal
    import threading

    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.1)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _extractor_init(parent_pid: int, handlers: list, level: int) -> None:
    import logging

    _die_with_parent(parent_pid)
    _map_large_blocks()
    root = logging.getLogger()
    for path, handler_level, fmt, datefmt in handlers:
        handler = logging.FileHandler(path, encoding="utf-8")  # appends, as the parent's does
        handler.setLevel(handler_level)
        handler.setFormatter(logging.Formatter(fmt, datefmt))
        root.addHandler(handler)
    root.setLevel(level)
    gc.freeze()  # what _lean_gc does for the parent: records are acyclic
    gc.set_threshold(70_000, *gc.get_threshold()[1:])


def _warm_extractor() -> None:
    from etl import landing  # noqa: F401


def _extraction_process():
    """A one-process pool for extract_and_land, or None where a child is not allowed (a daemonic
    process, e.g. a Celery prefork worker): there the chunks are extracted in threads here."""
    import logging
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if multiprocessing.current_process().daemon:
        return None
    return ProcessPoolExecutor(
        max_workers=1,
        # spawn, not fork: this process already runs threads (GX import, validation).
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_extractor_init,
        initargs=(os.getpid(), _log_handlers(), logging.getLogger().level),
    )


class _ChunkExtractor:
    """Extracts the run's chunks of ~`records` records one ahead of the caller, in a child
    process when the run spans more than one day (a night is extracted here)."""

    def __init__(self, settings: Settings, days: list[date], step: Callable[[str], None],
                 records: int):
        self.settings, self.remaining, self.step, self.records = settings, list(days), step, records
        self.pool = _extraction_process() if len(days) > 1 else None
        self.future = None
        if self.pool is not None:  # the child starts and imports while the references land
            self.pool.submit(_warm_extractor)

    @property
    def done(self) -> bool:
        return not self.remaining

    def _submit(self) -> None:
        self.future = self.pool.submit(extract_and_land, self.settings, self.remaining,
                                       workers=CHILD_EXTRACT_WORKERS, records=self.records)

    def take(self) -> list[Path]:
        """Land the next chunk (already under way in the child) and start the one after it."""
        if self.pool is None:
            chunk = extract_and_land(self.settings, self.remaining, self.step, records=self.records)
        else:
            if self.future is None:  # the first chunk
                self._submit()
            chunk = self.future.result()
            for day in chunk.days:
                self.step(day.isoformat())
        self.remaining = self.remaining[len(chunk.days):]
        self.future = None
        if self.pool is not None and self.remaining:  # chunk k+1 pages while chunk k validates
            self._submit()
        log.info("extracted a chunk of %d day(s), %d records", len(chunk.days), chunk.records)
        return chunk.manifests

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


def _prefetch_gx() -> "threading.Thread":
    """Import Great Expectations (seconds of imports) in a thread while the windows download."""
    import os
    import threading

    def load() -> None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
        try:
            import great_expectations  # noqa: F401
        except Exception:  # the real import in validation reports any problem
            pass

    thread = threading.Thread(target=load, name="gx-import", daemon=True)
    thread.start()
    return thread


@contextmanager
def _lean_gc():
    """Fewer cyclic-GC passes while millions of record dicts come and go.

    The records are acyclic (plain JSON values), yet every 700 allocations the collector walked
    them, and every full pass walked GX's and pandas' modules too: ~5 % of a backfill's CPU in
    profiles. The objects alive now (imports) are frozen out of the collector's reach and the
    youngest generation is collected 100x less often; both are undone on the way out."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(70_000, thresholds[1], thresholds[2])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _lower_cap(con) -> None:
    """Lower the warehouse's memory cap while the next chunk validates, as far as DuckDB can.

    The open transaction holds memory DuckDB cannot spill (temp tables and indexes: ~60 MB
    after a half month of a large province), and a larger province or chunk holds more than the
    idle cap: DuckDB then refuses the SET, and the cap stays at the load's."""
    import duckdb

    # Set through a second connection to the same database: the limit is the database's, but a
    # refused SET aborts the transaction it ran in ("Current transaction is aborted"), and that
    # must not be the run's.
    side = con.cursor()
    try:
        side.execute(f"SET memory_limit = '{WAREHOUSE_IDLE_MEMORY_LIMIT}'")
    except duckdb.OutOfMemoryException as exc:
        log.info("the warehouse keeps its load cap between chunks: %s", str(exc).splitlines()[0])
    finally:
        side.close()


def _collect_chunk_garbage() -> None:
    """Validating leaves reference cycles (GX results, frames) that the rarer collections of
    _lean_gc reached only every ~10 chunks, by which time a year's run had grown ~200 MiB."""
    began = time.monotonic()
    gc.collect()
    # What survived (GX's modules and context, the run's results) is frozen out of the next
    # collections, so each one walks only the objects of one chunk: 0.18 -> 0.00 s.
    gc.freeze()
    log.debug("collected a chunk's garbage in %.2fs", time.monotonic() - began)
    arrow = sys.modules.get("pyarrow")  # pandas' strings: its pool keeps what it freed
    if arrow is not None:
        arrow.default_memory_pool().release_unused()


# glibc's mallopt parameters M_TRIM_THRESHOLD and M_MMAP_THRESHOLD, and the value both start with.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 128 * 1024


def _map_large_blocks() -> None:
    """Keep glibc mapping every block of 128 KiB or more on its own, returned to the system once
    freed.

    glibc starts there but raises the threshold to the size of every mapped block freed (up to
    32 MiB), so once the first large buffers come and go their successors are cut from the
    heap, whose holes a long run keeps. Setting the threshold stops the adjustment: a year of a
    large province peaked 883/881 MiB with it and 902/899 without (paired runs; a month 751 both
    times against 754/763). Process-wide and harmless elsewhere; a no-op where the C library has
    no mallopt."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        libc.mallopt(_M_TRIM_THRESHOLD, MMAP_THRESHOLD)  # lifted with it if already adjusted
    except (OSError, AttributeError):
        pass


def run(settings: Settings, start: date, end: date, progress: bool = False,
        chunk_records: int = CHUNK_RECORDS) -> RunSummary:
    _map_large_blocks()
    with _lean_gc():
        return _run(settings, start, end, progress, chunk_records)


def _run(settings: Settings, start: date, end: date, progress: bool, chunk_records: int) -> RunSummary:
    from concurrent.futures import ThreadPoolExecutor

    from etl import kpi, load, publish, validation, warehouse

    settings.require_pii_key()  # refuse before any personal data is read
    began = time.monotonic()
    days = local_days(start, end)
    if not days:
        raise ValueError(f"empty range: [{start}, {end})")
    bar = _Progress(progress, total=len(days) + len(REFERENCES) + 1)

    from etl import source  # noqa: F401 - imported before the GX import thread starts

    gx_import: list = []  # started once the source answered: a failing run does not wait for it
    batch_dirs: list[Path] = []
    results: list = []
    # Chunk k is validated, then loaded, in one background thread while chunk k+1 downloads
    # (DuckDB and the HTTP waits release the GIL); at most one chunk is in flight there, so a
    # blocking failure stops the run after the chunk being extracted. The loads go into ONE
    # warehouse transaction, opened with the first load and committed after the KPIs: loading
    # each chunk as it is validated, not all at the end, takes the loads off the run's tail.
    validator = ThreadPoolExecutor(max_workers=1, thread_name_prefix="validate")
    # One GX context for the run's chunks: set up once, Data Docs built once and listing all —
    # in the background while the KPIs rebuild (rendering holds the GIL, DuckDB does not).
    gx = validation.gx_session(settings)
    open_transaction = ExitStack()
    holder: list = []  # the warehouse connection, once the first chunk is validated

    limit = (os.environ.get("TTHC_DUCKDB_MEMORY_LIMIT") or WAREHOUSE_MEMORY_LIMIT).replace("'", "")

    def warehouse_connection():
        if not holder:
            con = open_transaction.enter_context(
                warehouse.open_warehouse(settings.warehouse, memory_limit=limit))
            open_transaction.enter_context(warehouse.transaction(con))
            holder.append(con)
        return holder[0]

    def validate_and_load(manifests: list[Path]) -> Path:
        batch_dir = validation.validate(settings, manifests, gx=gx)
        con = warehouse_connection()
        con.execute(f"SET memory_limit = '{limit}'")  # back from the idle cap of the last load
        results.append(load.load_batch(con, batch_dir))
        _lower_cap(con)
        _collect_chunk_garbage()
        return batch_dir

    pending = None
    extractor = _ChunkExtractor(settings, days, bar.step, chunk_records)
    with open_transaction:  # on any failure: ROLLBACK, then close (the warehouse is as before)
        try:
            while not extractor.done:
                # The reference lists, snapshotted on the run's last day, go with the first chunk,
                # so every chunk's facts resolve against them as one batch's would.
                manifests: list[Path] = []
                if pending is None:
                    manifests += land_references(settings, days[-1], bar.step)
                    gx_import.append(_prefetch_gx())
                manifests += extractor.take()
                if pending is not None:
                    batch_dirs.append(pending.result())
                    bar.step("validated and loaded", count=False)
                for thread in gx_import:
                    thread.join()  # no two threads importing at once while validation starts its imports
                pending = validator.submit(validate_and_load, manifests)
            extractor.close()  # idle since the last chunk: its memory goes back before the tail
            batch_dirs.append(pending.result())
            bar.step("validated and loaded", count=False)
            docs = validator.submit(gx.build_docs)
            holder[0].execute(f"SET memory_limit = '{limit}'")
            kpi_rows = kpi.rebuild_pending(holder[0])
            bar.step("KPIs rebuilt")
            docs.result()  # Data Docs that cannot be built fail the run before it commits
            log.info("KPIs rebuilt (%d rows); committing the run's %d batch(es)", kpi_rows, len(results))
        finally:
            extractor.close()
            validator.shutdown(wait=True, cancel_futures=True)
    log.info("committed")
    publish.publish(settings, views_current=True)  # the KPI rebuild created them in the run
    result = results[0]
    loaded: dict[str, int] = {}
    quarantined: dict[str, int] = {}
    for each in results:
        for entity, count in each.loaded.items():
            loaded[entity] = loaded.get(entity, 0) + count
        for entity, count in each.quarantined.items():
            quarantined[entity] = quarantined.get(entity, 0) + count
    summary = RunSummary(
        run_id=result.run_id,
        days=len(days),
        batch_dir=batch_dirs[0],
        loaded=loaded,
        quarantined=quarantined,
        kpi_rows=kpi_rows,
        seconds=time.monotonic() - began,
        run_ids=[each.run_id for each in results],
        batch_dirs=batch_dirs,
    )
    bar.note(
        f"run {summary.run_id}: {len(days)} day(s), loaded {summary.loaded}, "
        f"quarantined {summary.quarantined}, {kpi_rows} KPI rows rebuilt, {summary.seconds:.1f}s"
    )
    log.info("run finished: %s", summary)
    return summary
