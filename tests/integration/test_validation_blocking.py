"""validate() refuses a batch as a whole: blocking failures (missing columns, counts or checksums
that do not match the manifest, duplicate keys) leave nothing staged and keep the previous batch;
plus one run through the real emulator and landing, a killed validate, and what importing costs."""
from __future__ import annotations

import gzip
import json
from datetime import datetime

import duckdb
import pytest

from etl import validation
from etl.config import Settings
from etl.standardize import ENTITIES
from etl.validation import BlockingValidationError
from support import REPO_ROOT
from support.validation_data import (
    ABSENT, agency, dossier, land, payment, procedure, read_parquet, settings_in,
)


# --------------------------------------------------------------------------- blocking failures

def assert_nothing_staged(settings: Settings) -> None:
    staged = settings.staged_dir
    assert not staged.exists() or list(staged.iterdir()) == []


def test_missing_required_column_blocks(tmp_path):
    records = [dossier("H1", TrangThaiHoSo=ABSENT), dossier("H2", TrangThaiHoSo=ABSENT)]
    manifest = land(tmp_path / "raw", "dossier", "2023-02-01", records)
    settings = settings_in(tmp_path)
    with pytest.raises(BlockingValidationError, match=r"dossier window 2023-02-01: required column.*TrangThaiHoSo"):
        validation.validate(settings, [manifest])
    assert_nothing_staged(settings)


def test_row_count_mismatch_blocks(tmp_path):
    manifest = land(tmp_path / "raw", "payment", "2023-02-01", [payment("T1"), payment("T2")])
    document = json.loads(manifest.read_text())
    document["rows"] = document["files"][0]["rows"] = document["extracted"] = 3
    manifest.write_text(json.dumps(document))
    settings = settings_in(tmp_path)
    with pytest.raises(BlockingValidationError, match=r"payment window 2023-02-01: 2 landed rows in data-\w+\.jsonl\.gz, manifest says 3"):
        validation.validate(settings, [manifest])
    assert_nothing_staged(settings)


def test_checksum_mismatch_blocks(tmp_path):
    manifest = land(tmp_path / "raw", "dossier", "2023-02-01", [dossier("H1")])
    data = next(manifest.parent.glob("data-*.jsonl.gz"))
    data.write_bytes(gzip.compress(b'{"MaHoSo": "H1", "tampered": true}\n'))
    settings = settings_in(tmp_path)
    with pytest.raises(BlockingValidationError, match="checksum mismatch"):
        validation.validate(settings, [manifest])
    assert_nothing_staged(settings)


def test_duplicate_keys_within_a_window_block(tmp_path):
    records = [dossier("H1"), dossier("H2"), dossier("H1", TrangThaiHoSo=9)]
    manifest = land(tmp_path / "raw", "dossier", "2023-02-01", records)
    other = land(tmp_path / "raw", "agency", "2023-02-01", [agency("G1")])
    settings = settings_in(tmp_path)
    with pytest.raises(BlockingValidationError, match=r"dossier: key is not unique within a window.*H1"):
        validation.validate(settings, [other, manifest])
    assert_nothing_staged(settings)


def test_a_failed_run_keeps_the_previous_batch(tmp_path):
    settings = settings_in(tmp_path)
    good = land(tmp_path / "raw", "agency", "2023-02-01", [agency("G1")])
    first = validation.validate(settings, [good])
    bad = land(tmp_path / "raw", "agency", "2023-02-02", [agency("G1")], fields=["TenDonVi"])
    with pytest.raises(BlockingValidationError, match="required column"):
        validation.validate(settings, [good, bad])
    assert [p.name for p in settings.staged_dir.iterdir()] == [first.name]
    assert (first / "batch.json").is_file()


# --------------------------------------------------------------------------- end to end

def test_end_to_end_through_the_emulator_and_landing(emulator, settings_for, tmp_path):
    from etl import landing

    settings = settings_for(emulator)
    manifests = [landing.land_window(settings, entity, day)
                 for entity in ("dossier", "payment") for day in ("2023-02-06", "2023-02-07")]
    manifests += [landing.land_window(settings, entity, "2023-02-07") for entity in ("agency", "procedure")]
    out = validation.validate(settings, manifests)

    windows = json.loads((out / "windows.json").read_text())
    con = duckdb.connect()
    try:
        for entity in ENTITIES:
            counts = con.execute(
                f"SELECT window_start::VARCHAR, count(*) FILTER (is_valid AND NOT superseded), "
                f"count(*) FILTER (NOT is_valid), count(*) FILTER (superseded), count(*) "
                f"FROM read_parquet('{out / f'{entity}.parquet'}') GROUP BY ALL").fetchall()
            by_window = {c[0]: c[1:] for c in counts}
            for window in (w for w in windows if w["entity"] == entity):
                loaded, quarantined, superseded, staged = by_window.get(window["window_start"], (0, 0, 0, 0))
                assert staged == window["rows"]
                assert window["extracted"] == loaded + quarantined + superseded + window["duplicates"]
        stats = con.execute(
            f"SELECT count(*), count(*) FILTER (NOT is_valid), count(DISTINCT channel_code), "
            f"min(updated_at), max(updated_at) FROM read_parquet('{out / 'dossier.parquet'}')"
        ).fetchall()[0]
        total, invalid, channels, first_update, last_update = stats
        assert total > 40 and invalid < total * 0.1 and channels == 3
        assert datetime(2023, 2, 6) <= first_update and last_update < datetime(2023, 2, 8)
        text = con.execute(
            f"SELECT string_agg(record, '') FROM read_parquet('{out / 'dossier.parquet'}')").fetchall()[0][0]
        assert "ChuHoSo\"" not in text and "SoDienThoai" not in text and "SoGiayToChuHoSo\"" not in text
        levels = con.execute(
            f"SELECT count(*) FILTER (agency_levels IS NOT NULL), count(*) "
            f"FROM read_parquet('{out / 'procedure.parquet'}') WHERE is_valid").fetchall()[0]
        assert levels[1] > 0 and levels[0] == levels[1]
    finally:
        con.close()


def test_blocking_in_a_later_entity_discards_the_earlier_entities(tmp_path):
    """dossier is staged before procedure fails: its parquet must not survive anywhere."""
    good = land(tmp_path / "raw", "dossier", "2023-02-01", [dossier("H1")])
    duplicated = land(tmp_path / "raw", "procedure", "2023-02-01",
                      [procedure("1.001"), procedure(" 1.001 ")])
    settings = settings_in(tmp_path)
    with pytest.raises(BlockingValidationError, match=r"procedure: key is not unique.*1\.001@2020-01-01"):
        validation.validate(settings, [good, duplicated])
    assert_nothing_staged(settings)


def test_explicit_run_id_names_the_batch_and_must_be_a_plain_name(tmp_path):
    manifest = land(tmp_path / "raw", "agency", "2023-02-01", [agency("G1")])
    settings = settings_in(tmp_path)
    out = validation.validate(settings, [manifest], run_id="manual__2023-02-01T00:00:00+07:00")
    assert out == settings.staged_dir / "manual__2023-02-01T00:00:00+07:00"
    assert json.loads((out / "validation.json").read_text())[0]["run_id"] == out.name
    for bad in ("../escape", ".hidden", "a/b", "x" * 300):
        with pytest.raises(ValueError, match="cannot name a batch directory"):
            validation.validate(settings, [manifest], run_id=bad)


def test_a_killed_validate_leaves_no_batch(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    records = [dossier(f"H{i}") for i in range(2000)]
    manifest = land(tmp_path / "raw", "dossier", "2023-02-01", records)
    settings = settings_in(tmp_path)
    script = (
        "import sys; from pathlib import Path; from etl import validation; "
        "from etl.config import Settings; "
        "validation.validate(Settings(warehouse=Path(sys.argv[1]), raw_dir=Path(sys.argv[2])), [Path(sys.argv[3])])"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(settings.warehouse), str(settings.raw_dir), str(manifest)],
        cwd=REPO_ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if settings.staged_dir.is_dir() and any(settings.staged_dir.glob(".tmp-*")):
                break
            time.sleep(0.01)
        assert process.poll() is None, "validate finished before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    assert [p for p in settings.staged_dir.iterdir() if not p.name.startswith(".")] == []
    # The next run is not confused by the leftovers, and sweeps them once they are stale.
    leftover = next(settings.staged_dir.glob(".tmp-*"))
    os.utime(leftover, (time.time() - 2 * validation.STALE_TEMP_SECONDS,) * 2)
    out = validation.validate(settings, [manifest])
    assert len(read_parquet(out / "dossier.parquet")) == 2000
    assert not leftover.exists()


def test_importing_validation_loads_no_heavy_library():
    """The DAG files import etl modules at parse time; GX, pandas and duckdb load on use."""
    import subprocess
    import sys

    probe = ("import sys, etl.validation, etl.standardize; "
             "print(sorted(m for m in ('duckdb', 'pandas', 'great_expectations') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            cwd=REPO_ROOT, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


def test_manifest_counts_that_do_not_balance_block(tmp_path):
    manifest = land(tmp_path / "raw", "payment", "2023-02-01", [payment("T1")], duplicates=2)
    document = json.loads(manifest.read_text())
    document["extracted"] = 2
    manifest.write_text(json.dumps(document))
    settings = settings_in(tmp_path)
    with pytest.raises(BlockingValidationError, match=r"extracted=2 is not rows=1 \+ duplicates=2"):
        validation.validate(settings, [manifest])
    assert_nothing_staged(settings)
