"""Reliability under source faults (issue 6): for every fault the emulator injects, a backfill
gives exactly the warehouse of a fault-free run; a source that stays down fails the run with one
clear line and leaves the warehouse and the published copy byte for byte as they were.

One emulator and one fault-free baseline serve every case; the client's waits are kept short
through the TTHC_SOURCE_* knobs (read timeout, backoff, retry budget).
"""
from __future__ import annotations

import shutil

import pytest
import requests

from support import env_for, start_emulator
from support.reliability import (
    STATE_TABLES, Stopwatch, published_digests, run_cli, run_counts_balance, run_pipeline,
    settings_at, table_rows,
)

START, END = "2023-01-05", "2023-01-07"  # two local days of a small province
READ_TIMEOUT = 1.0
SLOW_SECONDS = 12.0  # a 'slow' answer comes after the read timeout: the client must give up and retry
KINDS = ("429", "500", "502", "503", "slow", "drop", "truncated", "repeat", "mutate")


@pytest.fixture(scope="module")
def source():
    emu = start_emulator(seed=23, start="2023-01-01", end="2023-01-10", dossiers_per_day=30)
    try:
        yield emu
    finally:
        emu.stop()


def _state(emu) -> dict:
    response = requests.get(f"{emu.url}/_emulator/state",
                            headers={"Authorization": f"Bearer {emu.token}"}, timeout=30)
    response.raise_for_status()
    return response.json()


@pytest.fixture(scope="module")
def baseline(source, tmp_path_factory):
    emu = source
    emu.control("faults", {"rate": 0})
    root = tmp_path_factory.mktemp("faults-baseline")
    settings = settings_at(root, emu.url, emu.token, source_read_timeout=READ_TIMEOUT)
    watch = Stopwatch()
    run_pipeline(settings, START, END)
    print(f"\n[faults] fault-free backfill {START}..{END}: {watch.seconds:.1f}s")
    rows = table_rows(settings.warehouse)
    assert rows["core.fact_dossier"] and rows["mart.kpi_value"], "the baseline loaded nothing"
    return settings, rows


@pytest.mark.parametrize("kind", KINDS)
def test_a_backfill_under_each_fault_equals_the_fault_free_run(source, baseline, kind, tmp_path):
    emu = source
    _, expected = baseline
    served_before = _state(emu)["faults_served"].get(kind, 0)
    emu.control("faults", {"rate": 0.3, "kinds": [kind], "seed": 5, "slow_seconds": SLOW_SECONDS})
    try:
        settings = settings_at(tmp_path, emu.url, emu.token, source_read_timeout=READ_TIMEOUT)
        watch = Stopwatch()
        run_pipeline(settings, START, END)
        seconds = watch.seconds
    finally:
        emu.control("faults", {"rate": 0})
    served = _state(emu)["faults_served"].get(kind, 0) - served_before
    print(f"\n[faults] {kind:>9}: {served} faults served, backfill {seconds:.1f}s")
    assert served > 0, f"the emulator served no {kind} fault: the case proves nothing"
    if kind == "slow":  # the client gave up on each slow answer after its read timeout
        assert seconds < SLOW_SECONDS, f"{seconds:.1f}s: the client waited for a slow answer"
    actual = table_rows(settings.warehouse)
    for table in STATE_TABLES:
        assert actual[table] == expected[table], f"{table} differs from the fault-free run under {kind}"
    assert table_rows(settings.published, ("mart.kpi_value",))["mart.kpi_value"] == expected["mart.kpi_value"]
    assert run_counts_balance(settings.warehouse) == []


def test_a_source_down_past_the_budget_fails_clearly_and_changes_nothing(source, baseline, tmp_path):
    emu = source
    base_settings, _ = baseline
    root = tmp_path / "copy"
    shutil.copytree(base_settings.warehouse_dir, root / "warehouse")
    settings = settings_at(root, emu.url, emu.token)
    before = published_digests(settings)
    assert before["warehouse"] and before["published"] and any(k.startswith("parquet/") for k in before)
    env = env_for(settings)
    env.update(TTHC_SOURCE_MAX_RETRY_SECONDS="3", TTHC_SOURCE_BACKOFF_SECONDS="0.2",
               TTHC_SOURCE_READ_TIMEOUT_SECONDS="2")
    emu.control("faults", {"rate": 1.0, "kinds": ["503", "502"], "seed": 1})
    try:
        watch = Stopwatch()
        result = run_cli(["run", "--start", "2023-01-07", "--end", "2023-01-09"], env)
        seconds = watch.seconds
    finally:
        emu.control("faults", {"rate": 0})
    print(f"\n[faults] source down: exit {result.returncode} after {seconds:.1f}s: {result.stderr.strip()}")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "unavailable" in lines[0] and "retry budget" in lines[0] and "HTTP 50" in lines[0], lines[0]
    assert emu.token not in result.stderr + result.stdout
    assert published_digests(settings) == before
