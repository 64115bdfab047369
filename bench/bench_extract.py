"""Extract + land throughput against the emulator, next to a plain requests + json.loads baseline.

Both passes fetch the same windows from the same emulator, so the difference in this process's CPU
time is what pseudonymization, de-duplication, spooling and zstd landing cost on top of HTTP.
Peak memory is this process's RSS high-water mark, which must not grow with the window's size.
"""
from __future__ import annotations

import json
import resource
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import requests

from bench import start_emulator
from etl import landing
from etl.config import Settings
from etl.contract import FEEDS
from etl.source import ApiClient, accept_encoding, entity_spec

FIRST_DAY = date(2023, 3, 1)
BACKFILL_TARGET_ROWS = 3_000_000


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _days(count: int) -> list[date]:
    return [FIRST_DAY + timedelta(days=offset) for offset in range(count)]


def _land_window(settings: Settings, client: ApiClient, entity: str, day: date) -> int:
    return landing.read_manifest(landing.land_window(settings, entity, day, client=client))["extracted"]


def _baseline_window(session: requests.Session, url: str, entity: str, day: date) -> int:
    """What any client must do at least: fetch every page of the window and parse it."""
    start, end = landing.local_day_window(day)
    rows, page = 0, 1
    while True:
        response = session.get(
            url + entity_spec(entity).path,
            params={"tuNgay": start.isoformat(), "denNgay": end.isoformat(), "trang": page, "soBanGhi": landing.PAGE_SIZE},
            timeout=60,
        )
        response.raise_for_status()
        records = json.loads(response.content)["duLieu"]
        if not records:
            return rows
        rows += len(records)
        page += 1


def _warm_window(session: requests.Session, url: str, entity: str, day: date) -> None:
    start, end = landing.local_day_window(day)
    session.get(
        url + entity_spec(entity).path,
        params={"tuNgay": start.isoformat(), "denNgay": end.isoformat(), "trang": 1, "soBanGhi": 1},
        timeout=120,
    ).raise_for_status()


class _Meter:
    """Wall and CPU time summed over the calls it times."""

    def __init__(self) -> None:
        self.rows, self.wall, self.cpu = 0, 0.0, 0.0

    def run(self, function, *args) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.rows += function(*args)
        self.wall += time.perf_counter() - wall
        self.cpu += time.process_time() - cpu


def main(quick: bool = False) -> None:
    days = _days(2 if quick else 30)
    size = "medium" if quick else "large"
    emulator_args = ["--seed", "11", "--start", "2023-01-01", "--end", "2023-04-01", "--size", size]
    print(f"emulator --size {size}; {len(days)} days of {', '.join(FEEDS)} from {days[0]}", flush=True)
    began = time.perf_counter()
    with start_emulator(emulator_args) as emulator, tempfile.TemporaryDirectory() as tmp:
        print(f"emulator ready in {time.perf_counter() - began:.1f}s", flush=True)
        settings = Settings(
            api_url=emulator.url, api_token=emulator.token,
            warehouse=Path(tmp) / "tthc.duckdb", raw_dir=Path(tmp) / "raw", pii_key="bench-pii-key",
        )
        ours, base = _Meter(), _Meter()
        rss_before = _peak_rss_mib()
        with ApiClient(settings.api_url, settings.api_token) as client, requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {emulator.token}"
            # The transport our client uses (plain over loopback): the baselines are not
            # charged for gzip that the pipeline no longer asks for.
            session.headers["Accept-Encoding"] = accept_encoding(emulator.url)
            for number, (day, entity) in enumerate((d, e) for d in days for e in FEEDS):
                # The emulator computes a window on its first request and caches it: warm it
                # untimed so neither pass pays for that, and alternate who goes first.
                _warm_window(session, emulator.url, entity, day)
                runs = [(ours.run, (_land_window, settings, client, entity, day)),
                        (base.run, (_baseline_window, session, emulator.url, entity, day))]
                for run, args in runs if number % 2 == 0 else reversed(runs):
                    run(*args)
        rss_peak = _peak_rss_mib()
        landed_bytes = sum(path.stat().st_size for path in settings.raw_dir.rglob("data-*.jsonl.zst"))
    ours_rows, ours_wall, ours_cpu = ours.rows, ours.wall, ours.cpu
    base_rows, base_wall, base_cpu = base.rows, base.wall, base.cpu
    if base_rows != ours_rows:
        raise RuntimeError(f"the two passes saw different data: {ours_rows} vs {base_rows} records")
    overhead_cpu = max(ours_cpu - base_cpu, 0.0)
    projected = overhead_cpu / max(ours_rows, 1) * BACKFILL_TARGET_ROWS
    print(f"extract+land : {ours_rows:>9,} rows  {ours_wall:7.2f}s wall  {ours_rows / ours_wall:>10,.0f} rows/s  "
          f"client CPU {ours_cpu:6.2f}s")
    print(f"baseline     : {base_rows:>9,} rows  {base_wall:7.2f}s wall  {base_rows / base_wall:>10,.0f} rows/s  "
          f"client CPU {base_cpu:6.2f}s  (requests + json.loads)")
    print(f"ratio        : extract+land wall = {ours_wall / base_wall:.2f} x baseline; "
          f"CPU beyond baseline {overhead_cpu * 1e6 / max(ours_rows, 1):.1f} us/row "
          f"-> {projected:.1f}s per {BACKFILL_TARGET_ROWS:,} rows")
    print(f"memory       : peak RSS {rss_peak:.0f} MiB (before extract {rss_before:.0f} MiB); "
          f"landed {landed_bytes / 2**20:.1f} MiB zstd")


if __name__ == "__main__":
    import sys

    main("--quick" in sys.argv)
