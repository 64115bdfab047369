"""12-month backfills at the scales most provinces have, each against its LIMIT baseline.

A small city (~300k dossiers a year, ~800 a day) and a province of ~1M dossiers, with the same
code and settings as the large province of bench_backfill (~3M). OURS and LIMIT as there, but
both read a replay source (bench/replay.py) warmed by one untimed LIMIT pass: against the
emulator itself a small city's LIMIT is bound by the emulator's ~0.2 s per day, which hid the
pipeline's fixed cost per chunk. Target: OURS within 1.5x LIMIT, peak < 2 GiB.
`--quick`: the small city's first month only.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import requests

from bench import record, start_emulator
from bench.bench_backfill import _days, run_limit, run_ours
from bench.replay import start_replay

YEAR_START, YEAR_END = date(2024, 1, 1), date(2025, 1, 1)
SCALES = {
    "small city": dict(size="small", dossiers_per_day=820),
    "1M dossiers": dict(size="medium", dossiers_per_day=2800),
}
QUICK_END = date(2024, 2, 1)


def _warm(source, workdir: Path, days: list[date]) -> float:
    """One untimed LIMIT pass and the reference lists: every later request is a cache hit."""
    began = time.perf_counter()
    run_limit(source, workdir, days)
    shutil.rmtree(workdir, ignore_errors=True)
    for path in ("/api/v1/donvi", "/api/v1/thutuc"):
        requests.get(source.url + path, headers={"Authorization": f"Bearer {source.token}"},
                     timeout=600).raise_for_status()
    return time.perf_counter() - began


def backfill(name: str, preset: dict, start: date, end: date) -> None:
    days = _days(start, end)
    args = ["--seed", "7", "--start", start.isoformat(), "--end", end.isoformat(),
            "--size", preset["size"], "--dossiers-per-day", str(preset["dossiers_per_day"])]
    with start_emulator(args) as emulator, start_replay(emulator) as source, \
            tempfile.TemporaryDirectory(prefix="bench-scales-") as tmp:
        tmp = Path(tmp)
        warm = _warm(source, tmp / "warm", days)
        limit = run_limit(source, tmp / "limit", days, exclude=(emulator.process.pid,))
        shutil.rmtree(tmp / "limit", ignore_errors=True)
        ours = run_ours(source, tmp / "ours", start, end)
    rows, limit_rows = sum(ours["counts"].values()), sum(limit["counts"].values())
    ratio = ours["wall"] / limit["wall"]
    print(f"{name} [{start}, {end}): warm-up through the emulator {warm:.1f}s; "
          f"LIMIT {limit['counts']} {limit['wall']:.1f}s (peak {limit['peak_mib']:.0f} MiB); "
          f"OURS {ours['counts']} {ours['wall']:.1f}s, pipeline CPU {ours['child_cpu']:.1f}s, "
          f"peak {ours['peak_mib']:.0f} MiB: {ratio:.2f}x LIMIT (target <= 1.5)", flush=True)
    if rows != limit_rows:
        print(f"note: OURS extracted {rows:,} records, LIMIT {limit_rows:,}", flush=True)
    checks = {"<=1.5x LIMIT": ratio <= 1.5, "<2GiB": ours["peak_mib"] < 2048}
    months = round((end - start).days / 30.4)
    record(f"backfill {months} months, {name}, {ours['counts'].get('dossier', 0):,} dossiers (replay)",
           ours["wall"], rows, ours["peak_mib"], {"LIMIT": limit["wall"]}, ", ".join(checks), checks)


def main(quick: bool = False) -> None:
    for name, preset in SCALES.items():
        if quick and name != "small city":
            continue
        backfill(name, preset, YEAR_START, QUICK_END if quick else YEAR_END)


if __name__ == "__main__":
    main("--quick" in sys.argv)
