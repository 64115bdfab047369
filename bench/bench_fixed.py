"""The pipeline's fixed costs: what a run pays whatever its size.

- START: `python -m etl run` from exec to its first request to the source (a local server that
  answers 401, so the run ends there): interpreter, imports, configuration.
- EMPTY: a run of one window in which nothing changed, into a warehouse that holds a month of a
  small city: in process (warm, as a nightly worker's later nights) and as the CLI.
- DOCS: building the Data Docs of one validated batch (GX renders every suite's results).
- PUBLISH: checkpoint, atomic copy and the Parquet marts of a warehouse of 10M dossiers
  (bench_kpi's synthetic star; 1M with --quick).
"""
from __future__ import annotations

import http.server
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

from bench import REPO_ROOT, RunningEmulator, etl_env, free_port, record, start_emulator
from bench.bench_kpi import FULL_DOSSIERS, QUICK_DOSSIERS, build_star

SMALL_CITY = ["--seed", "5", "--size", "small", "--dossiers-per-day", "400",
              "--start", "2024-01-01", "--end", "2024-03-01"]
HISTORY = (date(2024, 1, 1), date(2024, 2, 1))
EMPTY_NIGHT = date(2024, 6, 1)  # after the emulated history: no record changes that day


def start_to_first_request() -> float:
    """Seconds from exec of `python -m etl run` to the first request it sends."""
    arrived = threading.Event()

    class Refuse(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            arrived.set()
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    source = RunningEmulator(f"http://127.0.0.1:{port}", "bench-token", None)
    with tempfile.TemporaryDirectory(prefix="bench-fixed-") as tmp:
        began = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "etl", "run", "--start", "2024-01-01", "--end", "2024-01-02",
             "--no-progress"], cwd=REPO_ROOT, env=etl_env(source, Path(tmp)),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        arrived.wait(timeout=120)
        seconds = time.perf_counter() - began
        process.wait(timeout=120)
    server.shutdown()
    server.server_close()
    return seconds


def empty_window() -> tuple[float, float, float]:
    """(in process, warm; the CLI; its Data Docs build) for a window without changes."""
    from bench.bench_nightly import _history, _settings
    from etl import pipeline

    with start_emulator(SMALL_CITY) as emulator, tempfile.TemporaryDirectory(prefix="bench-fixed-") as tmp:
        tmp = Path(tmp)
        _history(emulator, tmp / "history", *HISTORY)
        for copy in ("warm", "timed", "cli"):
            (tmp / copy / "published").mkdir(parents=True)
            shutil.copy2(tmp / "history" / "tthc.duckdb", tmp / copy / "tthc.duckdb")
        night = (EMPTY_NIGHT, EMPTY_NIGHT + timedelta(days=1))
        pipeline.run(_settings(emulator, tmp / "warm"), *night)  # imports GX, DuckDB extensions
        began = time.perf_counter()
        pipeline.run(_settings(emulator, tmp / "timed"), *night)
        inproc = time.perf_counter() - began
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "etl", "run", "--start", night[0].isoformat(),
                        "--end", night[1].isoformat(), "--no-progress"], cwd=REPO_ROOT, check=True,
                       env=etl_env(emulator, tmp / "cli"), capture_output=True)
        cli = time.perf_counter() - began
        docs = _docs_build_seconds(tmp / "timed")
    return inproc, cli, docs


def _docs_build_seconds(workdir: Path) -> float:
    """Validate the history's first landed day again and time the Data Docs build alone."""
    from etl import suites, validation
    from etl.config import Settings

    settings = Settings(warehouse=workdir / "docs" / "tthc.duckdb", raw_dir=workdir / "raw")
    manifests = sorted((workdir.parent / "history" / "raw").glob("*/2024-01-31/manifest.json"))
    gx = suites.gx_session(settings)
    validation.validate(settings, manifests, gx=gx)
    began = time.perf_counter()
    gx.build_docs()
    return time.perf_counter() - began


def publish_seconds(dossiers: int) -> float:
    from etl import kpi, publish, warehouse
    from etl.config import Settings

    with tempfile.TemporaryDirectory(prefix="bench-fixed-publish-") as tmp:
        path = Path(tmp) / "tthc.duckdb"
        build_star(path, dossiers)
        with warehouse.open_warehouse(path) as con, warehouse.transaction(con):
            kpi.rebuild_all(con)
        settings = Settings(warehouse=path, published=Path(tmp) / "published" / "tthc.duckdb")
        publish.publish(settings)  # the first publish creates the folders; time the nightly one
        began = time.perf_counter()
        publish.publish(settings, views_current=True)
        return time.perf_counter() - began


def main(quick: bool = False) -> None:
    start = start_to_first_request()
    print(f"START exec -> first request: {start:.2f}s", flush=True)
    record("fixed: exec to first request", start, 0, None, None, "explained")
    inproc, cli, docs = empty_window()
    print(f"EMPTY window: {inproc:.2f}s in process (warm), {cli:.2f}s as the CLI; "
          f"DOCS build {docs:.2f}s", flush=True)
    record("fixed: empty window, in process", inproc, 0, None, {"CLI": cli}, "explained")
    record("fixed: Data Docs build, one batch", docs, 0, None, None, "explained")
    dossiers = QUICK_DOSSIERS if quick else FULL_DOSSIERS
    published = publish_seconds(dossiers)
    print(f"PUBLISH {dossiers:,} dossiers: {published:.2f}s", flush=True)
    record(f"fixed: publish, {dossiers:,} dossiers", published, dossiers, None, None, "explained")


if __name__ == "__main__":
    main("--quick" in sys.argv)
