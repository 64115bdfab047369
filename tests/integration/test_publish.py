"""Publishing: readers in other processes during a run, read-only access, the Parquet marts."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from support import REPO_ROOT, TEST_PII_KEY, start_emulator, stop_process
from etl.config import Settings
from etl import pipeline

# A reader of the published copy, as a BI tool would be: a separate process that opens the file
# read-only over and over. Each read reports the facts and the KPI rows derived from them; in a
# consistent copy the yearly `*` denominators of ONLINE_RATE count exactly the received dossiers.
READER = r"""
import json, sys, time, pathlib
import duckdb
path, stop = sys.argv[1], pathlib.Path(sys.argv[2])
while not stop.exists():
    try:
        con = duckdb.connect(path, read_only=True)
        try:
            facts, checksum, received = con.execute(
                "SELECT count(*), coalesce(sum(hash(dossier_id, updated_at)), 0)::VARCHAR, "
                "count(*) FILTER (WHERE status NOT IN (1, 3) AND received_at IS NOT NULL) "
                "FROM core.fact_dossier").fetchall()[0]
            kpi_rows, kpi_received = con.execute(
                "SELECT count(*), coalesce(sum(denominator) FILTER (WHERE period_type = 'year' "
                "AND agency_code = '*' AND kpi_code = 'ONLINE_RATE'), 0) FROM mart.kpi_value"
            ).fetchall()[0]
        finally:
            con.close()
        print(json.dumps({"facts": facts, "checksum": checksum, "received": received,
                          "kpi_rows": kpi_rows, "kpi_received": kpi_received}), flush=True)
    except Exception as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}), flush=True)
    time.sleep(0.02)
"""


def published_state(path) -> dict:
    con = duckdb.connect(str(path), read_only=True)
    try:
        facts, checksum = con.execute(
            "SELECT count(*), coalesce(sum(hash(dossier_id, updated_at)), 0)::VARCHAR FROM core.fact_dossier"
        ).fetchall()[0]
        return {"facts": facts, "checksum": checksum}
    finally:
        con.close()


@pytest.fixture
def small_run(emulator_factory, settings_for):
    emu = emulator_factory(seed=11, start="2023-01-01", end="2023-02-01", dossiers_per_day=12)
    settings = settings_for(emu)
    pipeline.run(settings, date(2023, 1, 1), date(2023, 1, 16), progress=False)
    return settings


def test_readers_see_the_old_or_the_new_copy_never_a_mix(small_run, tmp_path):
    settings = small_run
    old = published_state(settings.published)
    stop = tmp_path / "stop-reader"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(settings.published), str(stop)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        first_read = reader.stdout.readline()  # the reader is reading the old copy when the run starts
        pipeline.run(settings, date(2023, 1, 16), date(2023, 2, 1), progress=False)
        new = published_state(settings.published)
        time.sleep(0.5)  # and keeps reading the new one afterwards
        stop.touch()
        out, err = reader.communicate(timeout=60)
    finally:
        stop.touch()
        stop_process(reader)
    reads = [json.loads(line) for line in (first_read + out).splitlines() if line.strip()]
    errors = [r["error"] for r in reads if "error" in r]
    assert errors == [], errors[:3]
    assert len(reads) >= 10, err
    assert new["facts"] > old["facts"]
    seen = {(r["facts"], r["checksum"]) for r in reads}
    assert seen <= {(old["facts"], old["checksum"]), (new["facts"], new["checksum"])}
    assert (old["facts"], old["checksum"]) in seen and (new["facts"], new["checksum"]) in seen
    assert all(r["received"] == r["kpi_received"] and r["kpi_rows"] > 0 for r in reads)
    # Nothing is left beside the published file: no temp copies, no WAL.
    leftovers = sorted(p.name for p in settings.published.parent.iterdir()
                       if p.name != settings.published.name and p.is_file())
    assert leftovers == []


@pytest.fixture(scope="module")
def published_run(tmp_path_factory):
    """One run shared by the read-only tests below (they do not change anything)."""
    root = tmp_path_factory.mktemp("published")
    emu = start_emulator(seed=11, start="2023-01-01", end="2023-02-01", dossiers_per_day=12)
    try:
        settings = Settings(
            api_url=emu.url, api_token=emu.token, warehouse=root / "tthc.duckdb",
            raw_dir=root / "raw", published=root / "published" / "tthc.duckdb", pii_key=TEST_PII_KEY,
        )
        pipeline.run(settings, date(2023, 1, 1), date(2023, 2, 1), progress=False)
        yield settings
    finally:
        emu.stop()


def test_published_copy_opens_read_only_and_through_sqlalchemy(published_run):
    settings = published_run
    from sqlalchemy import create_engine, text

    con = duckdb.connect(str(settings.published), read_only=True)
    try:
        expected = con.execute("SELECT count(*), sum(denominator) FROM mart.kpi_value").fetchall()[0]
        with pytest.raises(duckdb.Error):
            con.execute("DELETE FROM mart.kpi_value")
    finally:
        con.close()
    assert expected[0] > 0

    engine = create_engine(f"duckdb:///{settings.published}", connect_args={"read_only": True})
    try:
        with engine.connect() as connection:
            got = connection.execute(
                text("SELECT count(*), sum(denominator) FROM mart.kpi_value")).fetchall()[0]
            wide = connection.execute(text("SELECT count(*) FROM mart.kpi_wide_month")).scalar()
    finally:
        engine.dispose()
    assert tuple(got) == tuple(expected)
    assert wide > 0


def test_parquet_marts_equal_the_published_tables(published_run):
    from etl import kpi, publish

    settings = published_run
    con = duckdb.connect(str(settings.published), read_only=True)
    try:
        for name in publish.PARQUET_TABLES + kpi.PUBLISHED_VIEWS:
            # Through Arrow, as read_parquet does, so DATE columns come out as the same Python dates.
            table = con.sql(f"SELECT * FROM mart.{name}").to_arrow_table().to_pandas()
            parquet = pd.read_parquet(settings.published_parquet_dir / f"{name}.parquet")
            keys = list(table.columns)
            assert list(parquet.columns) == keys, name
            pd.testing.assert_frame_equal(
                parquet.sort_values(keys).reset_index(drop=True),
                table.sort_values(keys).reset_index(drop=True),
                check_dtype=False,
                obj=name,
            )
            if name == "kpi_value":
                assert len(table) > 0
    finally:
        con.close()
    leftovers = [p.name for p in settings.published_parquet_dir.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_publish_recreates_the_mart_views_unless_the_caller_just_did(small_run):
    from etl import publish

    settings = small_run
    con = duckdb.connect(str(settings.warehouse))
    try:
        con.execute("DROP VIEW mart.kpi_ranking")
    finally:
        con.close()
    # The pipeline's publish trusts its own KPI rebuild for the views: the missing one is named.
    with pytest.raises(duckdb.Error, match="kpi_ranking"):
        publish.publish(settings, views_current=True)
    publish.publish(settings)
    wal = Path(f"{settings.warehouse}.wal")
    assert not wal.exists() or wal.stat().st_size == 0
    con = duckdb.connect(str(settings.published), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM mart.kpi_ranking").fetchall()[0][0] > 0
    finally:
        con.close()
