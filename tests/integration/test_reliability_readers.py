"""Concurrent readers (issue 6): four reader processes query the published copy in a loop
throughout a multi-day backfill (one pipeline run per day). Zero errors; every answer comes from
one consistent snapshot (KPI denominators equal the facts of the same snapshot) that is one of the
published states; and the writer is not slowed by the readers beyond noise (both durations printed).
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

from support import REPO_ROOT, start_emulator, stop_process
from support.children.reliability_reader import observe
from support.paths import CHILDREN_DIR
from support.reliability import run_pipeline, settings_at

READERS = 4
PAUSE = 0.2  # seconds between a reader's queries (a busy dashboard); one thread per reader
FIRST = date(2023, 1, 3)
DAYS = 4      # runs: FIRST (before the readers start), then DAYS - 1 days under readers


def _published_state(path: Path) -> dict:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return observe(con)
    finally:
        con.close()


def _run_day(settings, day: date) -> float:
    began = time.monotonic()
    run_pipeline(settings, day.isoformat(), (day + timedelta(days=1)).isoformat())
    return time.monotonic() - began


def test_readers_never_fail_see_only_published_consistent_states_and_never_block_the_writer(tmp_path):
    """Two warehouses are backfilled day by day in lockstep — one with the readers on its
    published copy, one while they hold off — so a drifting machine load hits both alike."""
    emu = start_emulator(seed=41, start="2023-01-01", end="2023-01-10", dossiers_per_day=30)
    readers: list[subprocess.Popen] = []
    stop_file, hold_file = tmp_path / "stop-readers", tmp_path / "hold-readers"
    alone, shared, states = [], [], []
    try:
        lone = settings_at(tmp_path / "alone", emu.url, emu.token)
        watched = settings_at(tmp_path / "shared", emu.url, emu.token)
        _run_day(lone, FIRST)
        _run_day(watched, FIRST)
        states.append(_published_state(watched.published)["fingerprint"])
        for number in range(READERS):
            out = open(tmp_path / f"reader-{number}.jsonl", "w")
            readers.append(subprocess.Popen(
                [sys.executable, str(CHILDREN_DIR / "reliability_reader.py"),
                 str(watched.published), str(stop_file), str(PAUSE), str(hold_file)],
                cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT))
            out.close()
        time.sleep(1.0)  # the readers are up and querying before the first run under them
        cpu = {"alone": 0.0, "shared": 0.0}
        for offset in range(1, DAYS):
            day = FIRST + timedelta(days=offset)
            hold_file.touch()
            time.sleep(0.2)
            began = time.process_time()
            alone.append(_run_day(lone, day))
            cpu["alone"] += time.process_time() - began
            hold_file.unlink()
            time.sleep(0.2)
            began = time.process_time()
            shared.append(_run_day(watched, day))
            cpu["shared"] += time.process_time() - began
            states.append(_published_state(watched.published)["fingerprint"])
        time.sleep(0.5)
    finally:
        stop_file.touch()
        for reader in readers:
            try:
                reader.wait(timeout=20)
            except subprocess.TimeoutExpired:
                stop_process(reader)
        emu.stop()

    observations = [json.loads(line) for n in range(READERS)
                    for line in (tmp_path / f"reader-{n}.jsonl").read_text().splitlines() if line.strip()]
    errors = [o["error"] for o in observations if "error" in o]
    seen = [o for o in observations if "error" not in o]
    distinct = {tuple(o["fingerprint"]) for o in seen}
    published = {tuple(s) for s in states}
    print(f"\n[readers] {READERS} readers, {len(observations)} queries, {len(errors)} errors, "
          f"{len(distinct)} distinct states seen of {len(published)} published; "
          f"slowest query {max(o['seconds'] for o in observations):.3f}s")
    print(f"[readers] writer runs (days 2..{DAYS}) without readers {sum(alone):.1f}s "
          f"{[round(d, 1) for d in alone]}, with readers {sum(shared):.1f}s {[round(d, 1) for d in shared]}; "
          f"writer CPU {cpu['alone']:.1f}s alone, {cpu['shared']:.1f}s with readers")
    assert errors == []
    # A floor, not a rate: a day's run takes ~2 s, so each reader queries ~10 times per run.
    assert len(seen) >= READERS * 20, "the readers hardly ran"
    assert all(o["checked"] > 0 for o in seen), "a snapshot without KPI rows to check"
    assert [o for o in seen if o["mismatches"]] == [], "a reader saw KPIs inconsistent with the facts"
    assert distinct <= published, f"states never published: {distinct - published}"
    assert len(distinct) >= 2, "the readers saw a single state: the backfill never changed the copy under them"
    # The copy is replaced by rename and never opened by the writer: there is no lock to wait on.
    # What remains is CPU shared with four readers on a small machine, hence the generous bound.
    assert sum(shared) <= 2 * sum(alone) + 5, "the writer was slowed down by the readers"
