"""A long `etl run` is extracted, validated and staged in chunks (one staged batch each) and loaded
in one transaction: its warehouse holds the same facts, dimensions and KPIs as one batch would.

Surrogate keys are compared through the natural keys they stand for: members inferred for codes
the catalogue does not list are numbered in the order batches meet them (as nightly loads do)."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date

import duckdb
import psutil
import pytest

from support import REPO_ROOT, env_for
from etl import landing, pipeline, runtime

NATURAL = (
    "p.procedure_code AS p_code, p.valid_from AS p_from, p.is_inferred AS p_inferred, "
    "a.agency_code AS a_code, a.valid_from AS a_from"
)
COMPARED = {
    "core.fact_dossier": f"SELECT f.* EXCLUDE (run_id, procedure_sk, agency_sk), {NATURAL} "
                         "FROM core.fact_dossier f LEFT JOIN core.dim_procedure p USING (procedure_sk) "
                         "LEFT JOIN core.dim_agency a USING (agency_sk)",
    "core.fact_payment": f"SELECT f.* EXCLUDE (run_id, procedure_sk, agency_sk), {NATURAL} "
                         "FROM core.fact_payment f LEFT JOIN core.dim_procedure p USING (procedure_sk) "
                         "LEFT JOIN core.dim_agency a USING (agency_sk)",
    "core.dim_agency": "SELECT * EXCLUDE (agency_sk) FROM core.dim_agency",
    "core.dim_procedure": "SELECT * EXCLUDE (procedure_sk) FROM core.dim_procedure",
    "mart.kpi_value": "SELECT * FROM mart.kpi_value",
    "audit.run_counts": "SELECT * EXCLUDE (run_id) FROM audit.run_counts",
    "quarantined keys": "SELECT DISTINCT entity, record_key, reasons FROM audit.quarantine",
}


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _command(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:  # it ended meanwhile
        return ""


def _assert_gone_soon(processes: list[psutil.Process], seconds: float = 5) -> None:
    """Every process ends (or is a zombie) within `seconds`; else the survivors' command lines."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not all(_gone(p.pid) for p in processes):
        time.sleep(0.05)
    assert all(_gone(p.pid) for p in processes), [_command(p) for p in processes if not _gone(p.pid)]


def snapshot(path) -> dict[str, list]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {name: sorted(con.execute(sql).fetchall(), key=repr) for name, sql in COMPARED.items()}


def test_chunked_run_equals_one_batch(emulator_factory, settings_for, tmp_path, monkeypatch):
    emu = emulator_factory(seed=23, start="2023-01-01", end="2023-01-20", dossiers_per_day=40)
    one = settings_for(emu, tmp_path / "one")
    chunked = settings_for(emu, tmp_path / "chunked")
    start, end = date(2023, 1, 1), date(2023, 1, 11)

    log_file = tmp_path / "run.log"
    handler = logging.FileHandler(log_file)
    handler.setFormatter(logging.Formatter("%(process)d %(name)s: %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # Between two chunks' loads the warehouse's cap is lowered; here below what the open
    # transaction holds, so DuckDB refuses it, and the run must go on (a refused SET aborts the
    # transaction it runs in: with a 16 MB cap, half a year of a large province failed so).
    monkeypatch.setattr(runtime, "WAREHOUSE_IDLE_MEMORY_LIMIT", "1KB")
    try:
        whole = pipeline.run(one, start, end, chunk_records=10**9)
        whole_lines = log_file.read_text().splitlines()
        parts = pipeline.run(chunked, start, end, chunk_records=150)
        parts_lines = log_file.read_text().splitlines()[len(whole_lines):]
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()

    # The chunks are extracted in one child process (logging to the same file), one ahead of
    # this process, which validates and loads them: the child ends with the run.
    def pids(lines, what):
        return {line.split()[0] for line in lines if what in line}

    me = {str(os.getpid())}
    extractors = pids(parts_lines, "etl.landing: extracted dossier")
    assert len(extractors) == 1 and extractors != me
    assert pids(parts_lines, "etl.validation: validated") == me
    assert pids(parts_lines, "the warehouse keeps its load cap between chunks") == me
    assert _gone(int(next(iter(extractors))))

    assert len(whole.run_ids) == 1 and len(parts.run_ids) >= 2
    assert parts.loaded == whole.loaded and parts.quarantined == whole.quarantined
    assert parts.kpi_rows == whole.kpi_rows
    assert snapshot(chunked.published) == snapshot(one.published)


def test_a_killed_run_takes_its_extractor_with_it(emulator_factory, settings_for, tmp_path):
    """SIGKILL leaves the run no chance to stop its child: the child must notice and go, not
    keep paging the source and landing windows behind the next run's back."""
    emu = emulator_factory(seed=29, start="2023-01-01", end="2023-03-01", dossiers_per_day=200)
    settings = settings_for(emu)
    run = subprocess.Popen(
        [sys.executable, "-m", "etl", "run", "--start", "2023-01-01", "--end", "2023-03-01",
         "--no-progress"],
        cwd=REPO_ROOT, env=env_for(settings), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and run.poll() is None:
            children = psutil.Process(run.pid).children(recursive=True)
            if any("spawn_main" in _command(child) for child in children):
                break
            time.sleep(0.05)
        assert any("spawn_main" in _command(child) for child in children), \
            "the run never started its extraction process"
        os.kill(run.pid, signal.SIGKILL)
        run.wait(timeout=10)
        _assert_gone_soon(children)
    finally:
        for process in [run, *children]:
            try:
                os.kill(process.pid, signal.SIGKILL)
            except (ProcessLookupError, psutil.NoSuchProcess):
                pass
        run.wait(timeout=10)


def test_a_failing_load_stops_the_run_and_changes_nothing(emulator_factory, settings_for):
    """A chunk's load that fails while the next chunk is being extracted (here the warehouse is
    locked by a process that opened it instead of the published copy) fails the run with DuckDB's
    error, rolls everything back and leaves no thread or process of the run behind."""
    emu = emulator_factory(seed=23, start="2023-01-01", end="2023-01-20", dossiers_per_day=40)
    settings = settings_for(emu)
    pipeline.run(settings, date(2023, 1, 1), date(2023, 1, 4))
    before = snapshot(settings.warehouse)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; con = duckdb.connect(sys.argv[1], read_only=True); "
         "print('open', flush=True); time.sleep(600)", str(settings.warehouse)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        children_before = set(psutil.Process().children(recursive=True))
        with pytest.raises(duckdb.IOException, match="lock"):
            pipeline.run(settings, date(2023, 1, 4), date(2023, 1, 14), chunk_records=150)
        leftover_threads = [t.name for t in threading.enumerate() if t.name.startswith("validate")]
        assert leftover_threads == []
        # multiprocessing's resource tracker stays for the life of this (pytest) process.
        _assert_gone_soon([child for child in set(psutil.Process().children(recursive=True)) - children_before
                           if "resource_tracker" not in _command(child)])
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert snapshot(settings.warehouse) == before



MMAP_PROBE = """
import ctypes, sys
from etl import landing, pipeline, runtime

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "set":
    runtime.map_large_blocks()
freed = bytearray(16 << 20)  # a mapped block, freed: glibc may lift its threshold to its size
del freed
before = libc.mallinfo2().hblks
kept = bytearray(2 << 20)  # 2 MiB: far above 128 KiB, more than the heap holds free
print(libc.mallinfo2().hblks > before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
@pytest.mark.parametrize("mode, mapped", [("unset", "False"), ("set", "True")])
def test_a_run_keeps_large_blocks_mapped(mode, mapped):
    # A run calls runtime.map_large_blocks first. In a fresh interpreter, once a large block was freed,
    # glibc serves the next large one from the heap; with the call, from a mapping of its own.
    probe = subprocess.run([sys.executable, "-c", MMAP_PROBE, mode], cwd=REPO_ROOT,
                           capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == mapped


@pytest.mark.parametrize("size, per_day", [("small", 300), ("large", 8500)])
def test_chunks_are_cut_by_records_a_small_month_is_one_a_large_month_several(
        emulator_factory, settings_for, size, per_day):
    emu = emulator_factory(seed=3, start="2024-01-01", end="2024-02-01", dossiers_per_day=per_day,
                           extra=["--size", size])
    settings = settings_for(emu)
    days = pipeline.local_days(date(2024, 1, 1), date(2024, 2, 1))
    extractor = pipeline._ChunkExtractor(settings, days, pipeline.CHUNK_RECORDS)
    chunks = []
    try:
        while not extractor.done:
            chunk = extractor.take()
            chunks.append(sum(landing.read_manifest(path)["extracted"] for path in chunk.manifests))
            assert chunk.records == chunks[-1]
    finally:
        extractor.close()
    print(f"{size}: chunks of {chunks} records")
    if size == "small":
        assert len(chunks) == 1
    else:
        assert len(chunks) > 1
        assert all(records >= pipeline.CHUNK_RECORDS for records in chunks[:-1])
        # Cut near the target: a chunk overshoots by at most the days already under way.
        assert max(chunks) < 2 * pipeline.CHUNK_RECORDS
    assert len({path.parent for path in (settings.raw_dir / "dossier").glob("*/manifest.json")}) == 31
