"""The warehouse DuckDB file: connecting, and bringing its schema up to date.

The schema is the ordered migrations `sql/migrations/NNNN_<name>.sql`; `audit.schema_version`
holds one row per migration applied. `ensure_schema` applies the missing ones in order, each
once, in the caller's transaction, then runs the seed (`sql/seed/seed.sql`). A warehouse made
before versions (tables but no `audit.schema_version`) runs them all: the ones it predates are
idempotent (IF NOT EXISTS), so it comes out as a new warehouse would, and is stamped.

The pipeline is the file's only writer (operations.md); BI tools read the published copy.
"""
from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import duckdb

from etl import steps
from etl.steps import SQL_DIR

REPO_ROOT = SQL_DIR.parent
MIGRATIONS_DIR = SQL_DIR / "migrations"

_MIGRATION_NAME = re.compile(r"^(\d{4})_(\w+)\.sql$")


class SchemaError(RuntimeError):
    """The warehouse's schema cannot be brought up to date (e.g. it is newer than this code)."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


def read_sql(relative: str) -> str:
    """The text of `sql/<relative>`."""
    return (SQL_DIR / relative).read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def migrations(folder: Path = MIGRATIONS_DIR) -> tuple[Migration, ...]:
    """The migrations in version order; versions must run 1, 2, 3 … without gaps or repeats."""
    found = []
    for path in folder.glob("*.sql"):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise SchemaError(f"{path}: a migration is named NNNN_<name>.sql")
        found.append(Migration(int(match.group(1)), match.group(2), path))
    found.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in found]
    if versions != list(range(1, len(found) + 1)):
        raise SchemaError(f"{folder}: migration versions must be 1 … {len(found)}, found {versions}")
    return tuple(found)


def latest_version() -> int:
    """The version a warehouse has once `ensure_schema` ran."""
    return len(migrations())


def connect(path: Path | str, *, read_only: bool = False,
            memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """A connection to a warehouse file; `memory_limit` caps DuckDB's buffers (it spills beyond)."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    config = {"memory_limit": memory_limit} if memory_limit else {}
    return duckdb.connect(str(path), read_only=read_only, config=config)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The latest migration applied to the warehouse; 0 for a new one or one made before versions.

    A catalog lookup, then one read of the table. Its absence is looked up rather than caught: a
    failed statement would abort the caller's transaction.
    """
    (has_table,), = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'audit' AND table_name = 'schema_version'"
    ).fetchall()
    if not has_table:
        return 0
    (version,), = con.execute("SELECT coalesce(max(version), 0) FROM audit.schema_version").fetchall()
    return int(version)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> list[Migration]:
    """Apply the migrations the warehouse lacks, then the seed; returns the migrations applied.

    Runs in the caller's transaction (`open_warehouse` opens one), so a failure leaves the
    warehouse at its old version. Opening a current warehouse reads its version and runs the seed,
    which writes only what differs.
    """
    current = schema_version(con)
    known = migrations()
    if current > len(known):
        raise SchemaError(
            f"the warehouse is at schema version {current}, newer than this code's {len(known)}: "
            "upgrade the pipeline before opening it")
    applied = []
    for migration in known[current:]:
        con.execute(migration.path.read_text(encoding="utf-8"))
        con.execute(
            "INSERT INTO audit.schema_version (version, name, applied_at) VALUES (?, ?, ?)",
            [migration.version, migration.name,
             datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)],
        )
        applied.append(migration)
    _seed(con)
    return applied


def _seed(con: duckdb.DuckDBPyConnection) -> None:
    """The static dimensions and the KPI targets (sql/seed/seed.sql; idempotent)."""
    _stage_targets(con)
    steps.run_file(con, "seed/seed.sql", {"seed_dir": SQL_DIR / "seed"})


def _stage_targets(con: duckdb.DuckDBPyConnection) -> None:
    """The KPI catalogue's targets as the temp table the seed upserts into mart.kpi_target."""
    from etl.contract import KPIS

    con.execute("CREATE OR REPLACE TEMP TABLE seed_kpi_target (kpi_code VARCHAR, target DOUBLE, source VARCHAR)")
    con.executemany("INSERT INTO seed_kpi_target VALUES (?, ?, ?)",
                    [(kpi.code, kpi.target, kpi.target_source) for kpi in KPIS if kpi.target is not None])


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All-or-nothing: a failure (or a SIGKILL) leaves the file as before BEGIN."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


@contextlib.contextmanager
def open_warehouse(path: Path | str, *, memory_limit: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse at the current schema version (migrated in one transaction)."""
    con = connect(path, memory_limit=memory_limit)
    try:
        with transaction(con):
            ensure_schema(con)
        yield con
    finally:
        con.close()
