"""The warehouse DuckDB file: connecting, and creating the schema from `sql/ddl/*.sql`.

The pipeline is the file's only writer (operations.md); BI tools read the published copy.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import duckdb

REPO_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = REPO_ROOT / "sql"


def read_sql(relative: str) -> str:
    """The text of `sql/<relative>`."""
    return (SQL_DIR / relative).read_text(encoding="utf-8")


def connect(path: Path | str, *, read_only: bool = False,
            memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """A connection to a warehouse file; `memory_limit` caps DuckDB's buffers (it spills beyond)."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    config = {"memory_limit": memory_limit} if memory_limit else {}
    return duckdb.connect(str(path), read_only=read_only, config=config)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create schemas, tables and static dimensions if missing; idempotent."""
    for ddl in sorted((SQL_DIR / "ddl").glob("*.sql")):
        con.execute(ddl.read_text(encoding="utf-8"))
    seed = SQL_DIR / "seed" / "seed.sql"
    if seed.exists():
        # The seed reads CSVs relative to sql/seed; pass the folder in as a variable.
        con.execute(f"SET VARIABLE seed_dir = '{(SQL_DIR / 'seed').as_posix()}'")
        _stage_targets(con)
        con.execute(seed.read_text(encoding="utf-8"))


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
    con = connect(path, memory_limit=memory_limit)
    try:
        ensure_schema(con)
        yield con
    finally:
        con.close()
