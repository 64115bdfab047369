"""The star-schema load at volume and end to end: synthetic staged batches of a month generated in
DuckDB, and the emulator over HTTP through landing and validation into the warehouse."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from etl import pipeline
from etl.config import Settings
from support.load_batches import dirty_periods, query, snapshot, synthetic_batch


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(warehouse=tmp_path / "warehouse" / "tthc.duckdb",
                    raw_dir=tmp_path / "warehouse" / "raw",
                    published=tmp_path / "warehouse" / "published" / "tthc.duckdb")


def test_synthetic_month_loads_and_balances(settings, tmp_path):
    batch_dir = synthetic_batch(tmp_path, "run-synthetic", dossiers=5_000, payments=2_000)
    started = time.perf_counter()
    result = pipeline.load(settings, batch_dir)
    elapsed = time.perf_counter() - started
    invalid = sum(1 for i in range(5_000) if i % 200 == 7)
    assert result.quarantined["dossier"] == invalid
    assert result.loaded["dossier"] == 5_000 - invalid
    assert query(settings.warehouse, "SELECT count(*) FROM core.dim_procedure WHERE is_inferred") == [(20,)]
    assert query(settings.warehouse, "SELECT count(*) FROM audit.run_counts "
                                     "WHERE extracted <> loaded + quarantined + duplicates") == [(0,)]
    # Received in January, finished or returned up to 4 days later: January and February,
    # the first quarter, the year.
    assert dirty_periods(settings.warehouse) == {("month", "2023-01-01"), ("month", "2023-02-01"),
                                                 ("quarter", "2023-01-01"), ("year", "2023-01-01")}
    assert elapsed < 30


# ---------------------------------------------------------------------------------------------
# End to end: the emulator over HTTP → landing → validation → load.


def land_and_validate(settings: Settings, days: list[str], reference_day: str) -> Path:
    from etl import landing, validation

    manifests = [landing.land_window(settings, entity, day)
                 for entity in ("dossier", "payment") for day in days]
    manifests += [landing.land_window(settings, entity, reference_day) for entity in ("agency", "procedure")]
    return validation.validate(settings, manifests)


def test_end_to_end_from_the_emulator(emulator, settings_for):
    import requests

    settings = settings_for(emulator)
    batch_dir = land_and_validate(settings, ["2023-02-13", "2023-02-14"], "2023-02-14")
    result = pipeline.load(settings, batch_dir)
    db = settings.warehouse

    windows = json.loads((batch_dir / "windows.json").read_text())
    counts = query(db, "SELECT entity, window_start, extracted, loaded, quarantined, duplicates "
                       "FROM audit.run_counts WHERE run_id = ?", [result.run_id])
    assert len(counts) == len(windows) == 6
    assert sorted((c[0], c[2]) for c in counts) == sorted((w["entity"], w["extracted"]) for w in windows)
    assert all(extracted == loaded + quarantined + duplicates
               for _, _, extracted, loaded, quarantined, duplicates in counts)
    assert result.loaded["dossier"] > 40 and result.quarantined["dossier"] < result.loaded["dossier"]
    assert query(db, "SELECT count(*) FROM core.fact_dossier") == [(result.loaded["dossier"],)]
    assert query(db, "SELECT count(*) FROM core.fact_payment") == [(result.loaded["payment"],)]
    assert query(db, "SELECT count(*) FROM audit.quarantine") == [(sum(result.quarantined.values()),)]

    # The agency dimension is the API's list (codes trimmed) plus inferred members for exactly
    # the codes the facts use that the list lacks.
    listed = {a["MaDonVi"].strip() for a in requests.get(
        f"{emulator.url}/api/v1/donvi", headers={"Authorization": f"Bearer {emulator.token}"},
        timeout=30).json()["duLieu"]}
    dims = dict(query(db, "SELECT agency_code, is_inferred FROM core.dim_agency"))
    assert {code for code, inferred in dims.items() if not inferred} == listed
    used = {code for code, in query(db, "SELECT agency_code FROM core.fact_dossier UNION "
                                        "SELECT agency_code FROM core.fact_payment")} - {None}
    assert {code for code, inferred in dims.items() if inferred} == used - listed
    assert query(db, "SELECT count(*) FROM core.fact_dossier f JOIN core.dim_agency a "
                     "USING (agency_sk) WHERE a.agency_code <> f.agency_code") == [(0,)]
    assert query(db, "SELECT count(*) FROM audit.validation_result WHERE run_id = ?",
                 [result.run_id])[0][0] > 10

    first = snapshot(db)
    pipeline.load(settings, batch_dir)
    assert snapshot(db) == first


def test_end_to_end_nightly_updates_and_replay(emulator_factory, settings_for):
    emu = emulator_factory(seed=11, start="2023-01-01", end="2023-03-01", dossiers_per_day=25,
                           extra=["--now", "2023-01-08"])
    settings = settings_for(emu)
    db = settings.warehouse
    early = land_and_validate(settings, ["2023-01-05", "2023-01-06", "2023-01-07"], "2023-01-07")
    pipeline.load(settings, early)
    states_before = dict(query(db, "SELECT dossier_id, updated_at FROM core.fact_dossier"))

    emu.control("clock", {"now": "2023-01-15T00:00:00+07:00"})
    late = land_and_validate(settings, [f"2023-01-{day:02d}" for day in range(8, 15)], "2023-01-14")
    result = pipeline.load(settings, late)
    states_after = dict(query(db, "SELECT dossier_id, updated_at FROM core.fact_dossier"))
    progressed = [key for key, at in states_before.items() if states_after[key] > at]
    assert progressed, "dossiers received early must have moved on (processed, returned) later"
    assert result.applied["dossier"] == result.loaded["dossier"]
    assert set(states_before) <= set(states_after)

    # Replaying the early batch (e.g. a backfill re-run) must not take any dossier back.
    facts = "SELECT * EXCLUDE (run_id) FROM core.fact_{} ORDER BY ALL"
    newest = [query(db, facts.format(entity)) for entity in ("dossier", "payment")]
    replay = pipeline.load(settings, early)
    assert [query(db, facts.format(entity)) for entity in ("dossier", "payment")] == newest
    assert replay.applied["dossier"] < replay.loaded["dossier"]
