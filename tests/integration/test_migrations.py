"""Schema versions: a warehouse made by an earlier release opens with this code, is brought up to
date in place by sql/migrations/ and stamped, keeps every row, and a second open applies nothing.

The earlier release's warehouse is made with a FROZEN copy of its DDL and seed
(tests/fixtures/ddl_v1_1: sql/ddl/*.sql and sql/seed/seed.sql as v1.1 shipped them; ddl_v1_0 for
v1.0), then filled with the rows the real pipeline wrote from the emulator for a few days.
"""
from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import duckdb
import pytest

from support import FIXTURES_DIR, settings_under, start_emulator
from etl import kpi, pipeline, warehouse

FIXTURES = FIXTURES_DIR
DDL_V1_0 = FIXTURES / "ddl_v1_0"
DDL_V1_1 = FIXTURES / "ddl_v1_1"

# What the migrations themselves change on an upgraded warehouse (0003 drops the KPI caches and
# marks every period dirty); every other table must keep every row.
CHANGED_BY_MIGRATIONS = {"audit.schema_version", "audit.kpi_dirty_period",
                         "intermediate.kpi_month_term", "intermediate.kpi_month_paid_dossier"}


def build_from_frozen_ddl(path: Path, ddl: Path) -> duckdb.DuckDBPyConnection:
    """A warehouse as the release of `ddl` made it: its DDL files, then its seed when it has one."""
    con = duckdb.connect(str(path))
    for name in sorted(ddl.glob("0*.sql")):
        con.execute(name.read_text(encoding="utf-8"))
    seed = ddl / "seed.sql"
    if seed.exists():
        con.execute(f"SET VARIABLE seed_dir = '{(warehouse.SQL_DIR / 'seed').as_posix()}'")
        warehouse._stage_targets(con)
        con.execute(seed.read_text(encoding="utf-8"))
    return con


def tables_of(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [f"{schema}.{name}" for schema, name in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() "
        "WHERE database_name = current_database() ORDER BY ALL").fetchall()]


def columns_of(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
    columns: dict[str, list[tuple[str, str]]] = {}
    for schema, table, column, data_type in con.execute(
            "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE database_name = current_database() AND NOT internal "
            "AND table_name IN (SELECT table_name FROM duckdb_tables()) "
            "ORDER BY schema_name, table_name, column_index").fetchall():
        columns.setdefault(f"{schema}.{table}", []).append((column, data_type))
    return columns


def snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every row of every table, in a canonical order."""
    return {table: con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
            for table in tables_of(con)}


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A warehouse the pipeline filled from the emulator (a pilot file too), across a month's end."""
    root = tmp_path_factory.mktemp("migrations")
    pilot_file = root / "pilot.csv"
    emu = start_emulator(seed=11, start="2023-01-01", end="2023-03-01", dossiers_per_day=15,
                         extra=["--pilot-file", str(pilot_file)])
    try:
        settings = dataclasses.replace(settings_under(root, emu), pilot_file=pilot_file)
        pipeline.run(settings, date(2023, 1, 27), date(2023, 2, 3), progress=False)
    finally:
        emu.stop()
    con = warehouse.connect(settings.warehouse, read_only=True)
    try:
        yield {"path": settings.warehouse, "rows": snapshot(con), "columns": columns_of(con)}
    finally:
        con.close()


def legacy_copy(source: dict, path: Path, ddl: Path = DDL_V1_1) -> Path:
    """A warehouse made with the frozen DDL of `ddl`, holding the source warehouse's rows."""
    con = build_from_frozen_ddl(path, ddl)
    try:
        con.execute(f"ATTACH '{source['path']}' AS src (READ_ONLY)")
        legacy_tables = set(tables_of(con))
        for table in sorted(source["rows"]):
            schema, name = table.split(".")
            if table == "audit.schema_version":
                continue
            if table not in legacy_tables:  # the derived caches, which the KPI rebuild created
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                con.execute(f"CREATE TABLE {table} AS FROM src.{table}")
                continue
            con.execute(f"DELETE FROM {table}")  # the seeded rows come again from the source
            con.execute(f"INSERT INTO {table} BY NAME FROM src.{table}")
        # The surrogate keys' sequences as far as the rows copied have taken them.
        for sequence, table, column in (("seq_agency_sk", "dim_agency", "agency_sk"),
                                        ("seq_procedure_sk", "dim_procedure", "procedure_sk"),
                                        ("seq_pilot_sk", "dim_pilot_registration", "pilot_sk")):
            if f"core.{table}" in legacy_tables:
                con.execute(f"SELECT nextval('core.{sequence}') FROM range("
                            f"(SELECT coalesce(max({column}), 0) FROM core.{table}))").fetchall()
        con.execute("DETACH src")
    finally:
        con.close()
    return path


def test_the_fixture_is_a_warehouse_of_the_earlier_release(source, tmp_path):
    path = legacy_copy(source, tmp_path / "v11.duckdb")
    con = duckdb.connect(str(path))
    try:
        assert "audit.schema_version" not in tables_of(con)
        rows = snapshot(con)
    finally:
        con.close()
    assert rows == {table: content for table, content in source["rows"].items()
                    if table != "audit.schema_version"}
    assert all(rows[table] for table in ("core.fact_dossier", "core.fact_payment",
                                         "core.dim_pilot_registration", "mart.kpi_value"))
    months = {row[1] for row in rows["mart.kpi_value"] if row[0] == "month"}
    assert {date(2023, 1, 1), date(2023, 2, 1)} <= months
    assert len(rows["core.fact_dossier"]) > 50 and len(rows["mart.kpi_value"]) > 100


def test_a_v11_warehouse_upgrades_in_place_and_keeps_every_row(source, tmp_path):
    path = legacy_copy(source, tmp_path / "v11.duckdb")
    con = duckdb.connect(str(path))
    before = snapshot(con)
    con.close()

    with warehouse.open_warehouse(path) as con:
        assert warehouse.schema_version(con) == warehouse.latest_version() >= 3
        stamped = con.execute("SELECT version, name FROM audit.schema_version ORDER BY 1").fetchall()
        assert stamped == [(m.version, m.name) for m in warehouse.migrations()]
        after = snapshot(con)
        for table, rows in before.items():
            if table not in CHANGED_BY_MIGRATIONS:
                assert after[table] == rows, f"{table} changed on upgrade"
        # The KPI caches of the earlier release are gone and every period is due for a rebuild.
        assert "intermediate.kpi_month_term" not in after
        dirty = set(after["audit.kpi_dirty_period"])
        assert {(row[0], row[1]) for row in before["mart.kpi_value"]} <= dirty

        with warehouse.transaction(con):
            kpi.rebuild_pending(con)
        rebuilt = snapshot(con)
    # The rebuild gives every kpi_value row again, and the caches as the pipeline keeps them.
    for table in ("mart.kpi_value", "intermediate.kpi_month_term",
                  "intermediate.kpi_month_paid_dossier", "audit.kpi_dirty_period"):
        assert rebuilt[table] == source["rows"][table], table

    # A second open applies nothing and changes nothing.
    con = warehouse.connect(path)
    try:
        with warehouse.transaction(con):
            assert warehouse.ensure_schema(con) == []
        assert snapshot(con) == rebuilt
    finally:
        con.close()


def test_stale_kpi_caches_of_an_earlier_release_are_rebuilt(source, tmp_path):
    """The shapes kpi.py used to detect on every rebuild: terms without their newest column, no
    paid-dossier table, the terms kept in mart. The migration drops them and marks every period."""
    path = legacy_copy(source, tmp_path / "stale.duckdb")
    con = duckdb.connect(str(path))
    con.execute("ALTER TABLE intermediate.kpi_month_term DROP COLUMN digitized_returned")
    con.execute("DROP TABLE intermediate.kpi_month_paid_dossier")
    con.execute("CREATE TABLE mart.kpi_month_term AS FROM intermediate.kpi_month_term")
    con.close()
    with warehouse.open_warehouse(path) as con, warehouse.transaction(con):
        kpi.rebuild_pending(con)
        assert [t for t in tables_of(con) if t.startswith("mart.")] == ["mart.kpi_target",
                                                                       "mart.kpi_value"]
        for table in ("mart.kpi_value", "intermediate.kpi_month_term",
                      "intermediate.kpi_month_paid_dossier"):
            assert con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall() == \
                source["rows"][table], table


@pytest.mark.parametrize("ddl", [DDL_V1_0, DDL_V1_1], ids=["v1.0", "v1.1"])
def test_fresh_and_upgraded_warehouses_have_the_same_columns(source, tmp_path, ddl):
    build_from_frozen_ddl(tmp_path / "old.duckdb", ddl).close()
    with warehouse.open_warehouse(tmp_path / "old.duckdb") as con:
        upgraded = columns_of(con)
    with warehouse.open_warehouse(tmp_path / "new.duckdb") as con:
        fresh = columns_of(con)
    assert upgraded == fresh
    # The pipeline's warehouse adds only its derived KPI caches.
    assert {table: columns for table, columns in source["columns"].items()
            if not table.startswith("intermediate.")} == fresh


def test_a_fresh_warehouse_is_stamped_once(tmp_path):
    path = tmp_path / "new.duckdb"
    with warehouse.open_warehouse(path) as con:
        assert warehouse.schema_version(con) == warehouse.latest_version()
    con = warehouse.connect(path)
    try:
        assert warehouse.ensure_schema(con) == []
        assert con.execute("SELECT count(*) FROM audit.schema_version").fetchall() == \
            [(warehouse.latest_version(),)]
    finally:
        con.close()


def test_a_warehouse_newer_than_the_code_is_refused(tmp_path):
    path = tmp_path / "newer.duckdb"
    with warehouse.open_warehouse(path) as con:
        con.execute("INSERT INTO audit.schema_version VALUES (?, 'from_the_future', TIMESTAMP '2030-01-01')",
                    [warehouse.latest_version() + 1])
    with pytest.raises(warehouse.SchemaError, match="newer than this code"):
        with warehouse.open_warehouse(path):
            pass


def test_a_failed_migration_leaves_the_warehouse_at_its_version(tmp_path, monkeypatch):
    path = tmp_path / "w.duckdb"
    with warehouse.open_warehouse(path):
        pass
    broken = tmp_path / "migrations"
    broken.mkdir()
    for migration in warehouse.migrations():
        (broken / migration.path.name).write_bytes(migration.path.read_bytes())
    latest = warehouse.latest_version()
    (broken / f"{latest + 1:04d}_adds_then_fails.sql").write_text(
        "ALTER TABLE core.fact_dossier ADD COLUMN doomed BOOLEAN;\nSELECT error('boom');\n")
    original = warehouse.migrations
    monkeypatch.setattr(warehouse, "migrations", lambda folder=broken: original(folder))
    with pytest.raises(duckdb.Error, match="boom"):
        with warehouse.open_warehouse(path):
            pass
    con = warehouse.connect(path, read_only=True)
    try:
        assert warehouse.schema_version(con) == latest
        assert "doomed" not in {c for c, _ in columns_of(con)["core.fact_dossier"]}
    finally:
        con.close()


def test_migrations_say_what_they_read_and_write():
    for migration in warehouse.migrations():
        head = migration.path.read_text(encoding="utf-8").splitlines()[:3]
        assert head[0].startswith("-- reads: ") and any(line.startswith("-- writes: ") for line in head), \
            migration.path.name
