"""How a pipeline process runs: memory caps, the allocator, the garbage collector, the child that
extracts ahead. Both drivers (`python -m etl run` and the Airflow tasks) take them from here, so
the stages in `etl/pipeline.py` read as the flow alone.
"""
from __future__ import annotations

import gc
import logging
import os
import sys
import threading
import time
from contextlib import contextmanager
from typing import Iterator

log = logging.getLogger(__name__)

# DuckDB's memory caps (it spills beyond them). The warehouse while loading (TTHC_DUCKDB_MEMORY_LIMIT
# overrides it), between two chunks' loads, while a batch is standardized, and while publishing:
# uncapped, DuckDB takes 80 % of RAM and a year's backfill held gigabytes (docs/decisions/0040).
WAREHOUSE_MEMORY_LIMIT = "256MB"
WAREHOUSE_IDLE_MEMORY_LIMIT = "64MB"
STAGING_MEMORY_LIMIT = "256MB"
PUBLISH_MEMORY_LIMIT = "256MB"
MEMORY_LIMIT_ENV = "TTHC_DUCKDB_MEMORY_LIMIT"

_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
# Standardizing leaves a core to the extraction child paging the next chunk (docs/decisions/0040).
STAGING_THREADS = max(1, _CORES - 1)

# Windows extracted at once in this process, and in the extraction child (docs/decisions/0040).
EXTRACT_WORKERS = 3
CHILD_EXTRACT_WORKERS = 2


def warehouse_memory_limit() -> str:
    """The warehouse's cap while a stage writes it."""
    return (os.environ.get(MEMORY_LIMIT_ENV) or WAREHOUSE_MEMORY_LIMIT).replace("'", "")


@contextmanager
def open_warehouse(settings) -> Iterator["duckdb.DuckDBPyConnection"]:  # noqa: F821
    """The warehouse, schema ensured, under the writers' memory cap."""
    from etl import warehouse

    with warehouse.open_warehouse(settings.warehouse, memory_limit=warehouse_memory_limit()) as con:
        yield con


def lower_cap(con) -> None:
    """Lower the warehouse's cap while the next chunk validates, as far as DuckDB can: an open
    transaction holds memory it cannot spill, and then it refuses the SET and keeps the load's."""
    import duckdb

    # A second connection: a refused SET aborts the transaction it ran in, which must not be the run's.
    side = con.cursor()
    try:
        side.execute(f"SET memory_limit = '{WAREHOUSE_IDLE_MEMORY_LIMIT}'")
    except duckdb.OutOfMemoryException as exc:
        log.info("the warehouse keeps its load cap between chunks: %s", str(exc).splitlines()[0])
    finally:
        side.close()


def raise_cap(con) -> None:
    con.execute(f"SET memory_limit = '{warehouse_memory_limit()}'")


# glibc's mallopt parameters M_TRIM_THRESHOLD and M_MMAP_THRESHOLD, and the value both start with.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 128 * 1024


def map_large_blocks() -> None:
    """Keep glibc mapping every block of 128 KiB or more on its own, returned once freed: left to
    itself it raises the threshold and a long run keeps the heap's holes (docs/decisions/0041).
    Process-wide; a no-op where the C library has no mallopt."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        libc.mallopt(_M_TRIM_THRESHOLD, MMAP_THRESHOLD)
    except (OSError, AttributeError):
        pass


def _rare_collections() -> None:
    """Records are acyclic JSON values: freeze what is alive (imports) out of the collector's
    reach and collect the youngest generation 100x less often (docs/decisions/0041)."""
    gc.freeze()
    gc.set_threshold(70_000, *gc.get_threshold()[1:])


@contextmanager
def tuned() -> Iterator[None]:
    """A stage's process settings, undone on the way out: the allocator and rare GC passes."""
    map_large_blocks()
    thresholds = gc.get_threshold()
    _rare_collections()
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def collect_chunk_garbage() -> None:
    """Validating leaves reference cycles (GX results, frames) that rare collections reach too
    late; what survives is frozen so the next collection walks one chunk's objects only."""
    began = time.monotonic()
    gc.collect()
    gc.freeze()
    log.debug("collected a chunk's garbage in %.2fs", time.monotonic() - began)
    arrow = sys.modules.get("pyarrow")  # pandas' strings: its pool keeps what it freed
    if arrow is not None:
        arrow.default_memory_pool().release_unused()


def prefetch_gx() -> threading.Thread:
    """Import Great Expectations (seconds of imports) in a thread while the windows download."""

    def load() -> None:
        from etl import suites

        try:
            suites.import_gx()
        except Exception:  # the real import in validation reports any problem
            pass

    thread = threading.Thread(target=load, name="gx-import", daemon=True)
    thread.start()
    return thread


# -- the extraction child ------------------------------------------------------------------------
# Extraction is Python per record; in threads here it held the GIL against validation and loading,
# so a run of several chunks extracts them in a child process (docs/decisions/0042).


def _log_handlers() -> list[tuple[str, int, str | None, str | None]]:
    """The root logger's file handlers as (path, level, format, date format), for the child."""
    return [
        (handler.baseFilename, handler.level,
         getattr(handler.formatter, "_fmt", None), getattr(handler.formatter, "datefmt", None))
        for handler in logging.getLogger().handlers if isinstance(handler, logging.FileHandler)
    ]


def _die_with_parent(parent_pid: int) -> None:
    """A SIGKILLed run must not leave its extractor paging: the kernel kills the child with its
    parent (Linux), and a watchdog thread covers other systems."""
    import signal

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
    _die_with_parent(parent_pid)
    map_large_blocks()
    root = logging.getLogger()
    for path, handler_level, fmt, datefmt in handlers:
        handler = logging.FileHandler(path, encoding="utf-8")  # appends, as the parent's does
        handler.setLevel(handler_level)
        handler.setFormatter(logging.Formatter(fmt, datefmt))
        root.addHandler(handler)
    root.setLevel(level)
    _rare_collections()


def warm_extractor() -> None:
    from etl import landing  # noqa: F401


def extraction_process():
    """A one-process pool to extract in, or None where a child is not allowed (a daemonic
    process, e.g. a Celery prefork worker): there the caller extracts in threads."""
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
