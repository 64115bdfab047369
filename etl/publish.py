"""Publishing: the read-only copy BI tools open (TTHC_PUBLISHED) and the marts as Parquet.

Readers in other processes must never wait on the writer's lock nor see a half-finished load
(operations.md). So readers never touch the warehouse file: after a run the warehouse is
checkpointed (everything committed is in the main file, the WAL is empty), copied byte for byte to a
temp file beside the target, fsynced, and swapped in with os.replace. A reader that opened the old
copy keeps reading the old inode; every new reader gets the complete new one.
"""
from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from pathlib import Path

from etl import runtime
from etl.config import Settings
from etl.durable import fsync_dir
from etl.warehouse import connect, open_warehouse, transaction

log = logging.getLogger(__name__)

# The published Parquet files: the contract tables first, then the extra views.
PARQUET_TABLES: tuple[str, ...] = ("kpi_value", "kpi_target")
# The oldest storage format DuckDB 2.0 writes that the 1.x drivers (npm, older JDBC/ODBC) read.
DUCKDB1_STORAGE = "v1.4.0"
# Temp copies left by a publish killed before its rename are removed after this long (a running
# publish never takes it; each leftover is a whole copy of the warehouse).
STALE_TEMP_SECONDS = 3600


def publish(settings: Settings, *, views_current: bool = False) -> Path:
    """Replace TTHC_PUBLISHED atomically with a consistent copy of the warehouse; write the marts
    as Parquet under `settings.published_parquet_dir`. Returns the published path.

    Call it after the run's transaction committed and with no open writer transaction: the
    pipeline is the warehouse's only writer, so the checkpointed file cannot change while copied.
    `views_current`: the caller's committed transaction has just created the mart views (a KPI
    refresh does), so they are not created again: re-creating them leaves a WAL for the
    checkpoint to fold in (docs/decisions/0043).
    """
    from etl import kpi

    if not Path(settings.warehouse).exists():
        raise FileNotFoundError(f"no warehouse at {settings.warehouse}: nothing to publish")
    target = Path(settings.published)
    target.parent.mkdir(parents=True, exist_ok=True)
    parquet_dir = settings.published_parquet_dir
    parquet_dir.mkdir(parents=True, exist_ok=True)
    duckdb1 = settings.published_duckdb1
    duckdb1.parent.mkdir(parents=True, exist_ok=True)

    _sweep_stale_temps(target, parquet_dir)
    _sweep_stale_temps(duckdb1, parquet_dir)
    _checkpoint(settings.warehouse, views_current)
    token = uuid.uuid4().hex[:12]
    staged_db = target.parent / f".{target.name}.{token}.tmp"
    staged_duckdb1 = duckdb1.parent / f".{duckdb1.name}.{token}.tmp"
    staged_parquet: dict[Path, Path] = {}
    try:
        _copy_durably(Path(settings.warehouse), staged_db)
        # The Parquet files come from the staged copy itself, so they match the published file.
        for name in PARQUET_TABLES + kpi.PUBLISHED_VIEWS:
            final = parquet_dir / f"{name}.parquet"
            staged_parquet[final] = parquet_dir / f".{name}.{token}.parquet.tmp"
        _export_parquet(staged_db, staged_parquet)
        _copy_as_duckdb1({final.name.removesuffix(".parquet"): staged for final, staged in staged_parquet.items()},
                         staged_duckdb1, documented_by=staged_db)
        os.replace(staged_db, target)
        fsync_dir(target.parent)
        os.replace(staged_duckdb1, duckdb1)
        fsync_dir(duckdb1.parent)
        for final, staged in staged_parquet.items():
            os.replace(staged, final)
        fsync_dir(parquet_dir)
    finally:
        for leftover in [staged_db, staged_duckdb1, *staged_parquet.values()]:
            leftover.unlink(missing_ok=True)
    log.info("published %s, its DuckDB 1.x copy and %d Parquet marts", target, len(staged_parquet))
    return target


def _sweep_stale_temps(target: Path, parquet_dir: Path) -> None:
    cutoff = time.time() - STALE_TEMP_SECONDS
    for leftover in [*target.parent.glob(f".{target.name}.*.tmp"), *parquet_dir.glob(".*.parquet.tmp")]:
        try:
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()
        except FileNotFoundError:
            pass


def _checkpoint(warehouse: Path, views_current: bool) -> None:
    """Make the main file hold every committed change, with the mart views current."""
    from etl import kpi

    with open_warehouse(warehouse, memory_limit=runtime.PUBLISH_MEMORY_LIMIT) as con:
        if not views_current:
            with transaction(con):
                kpi.ensure_views(con)
        con.execute("CHECKPOINT")
    wal = Path(f"{warehouse}.wal")
    if wal.exists() and wal.stat().st_size > 0:
        # Another connection in this process still holds uncommitted or unflushed work.
        raise RuntimeError(
            f"cannot publish: {wal} is not empty after CHECKPOINT; close the writer connection first"
        )


def _copy_durably(source: Path, destination: Path) -> None:
    with open(source, "rb") as reader, open(destination, "wb") as writer:
        if not _copy_in_kernel(reader, writer):
            shutil.copyfileobj(reader, writer, length=16 * 1024 * 1024)
        writer.flush()
        os.fsync(writer.fileno())


def _copy_in_kernel(reader, writer) -> bool:
    """Copy with copy_file_range, no round trip of every byte through this process
    (docs/decisions/0043). False where the system cannot (no syscall, another file system): then
    nothing was written."""
    copy = getattr(os, "copy_file_range", None)
    if copy is None:
        return False
    size = os.fstat(reader.fileno()).st_size
    done = 0
    try:
        while done < size:
            sent = copy(reader.fileno(), writer.fileno(), size - done, done, done)
            if sent == 0:  # the source shrank under us: it must not, the pipeline is its only writer
                raise RuntimeError(f"{reader.name} ended at {done} of {size} bytes while being published")
            done += sent
    except OSError:
        if done:
            raise
        return False
    return True


def _copy_as_duckdb1(parquet: dict[str, Path], destination: Path, documented_by: Path | None = None) -> None:
    """The published marts, read back from their staged Parquet files (computed once), as tables
    in the storage format DuckDB 1.4 and later read: our files are 2.0's, which 1.x drivers
    refuse. The marts alone, like the Parquet files (docs/decisions/0050). With `documented_by`
    (the staged main copy), each table and column takes the comment its mart table or view and
    column carry there: the Vietnamese | English documentation (docs/decisions/0051)."""
    import duckdb

    def literal(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    con = duckdb.connect(config={"memory_limit": runtime.PUBLISH_MEMORY_LIMIT})
    try:
        con.execute(f"ATTACH '{destination.as_posix()}' AS duckdb1 (STORAGE_VERSION '{DUCKDB1_STORAGE}')")
        con.execute("CREATE SCHEMA duckdb1.mart")
        for name, path in parquet.items():
            con.execute(f"CREATE TABLE duckdb1.mart.{name} AS FROM read_parquet('{path.as_posix()}')")
        if documented_by is not None:
            con.execute(f"ATTACH '{documented_by.as_posix()}' AS documented (READ_ONLY)")
            # A mart view is a table here: its comment and its columns' go to COMMENT ON TABLE/COLUMN.
            rows = con.execute(
                """
                SELECT table_name, NULL, comment FROM duckdb_tables()
                WHERE database_name = 'documented' AND schema_name = 'mart' AND comment IS NOT NULL
                UNION ALL
                SELECT view_name, NULL, comment FROM duckdb_views()
                WHERE database_name = 'documented' AND schema_name = 'mart' AND comment IS NOT NULL
                UNION ALL
                SELECT table_name, column_name, comment FROM duckdb_columns()
                WHERE database_name = 'documented' AND schema_name = 'mart' AND comment IS NOT NULL
                """
            ).fetchall()
            con.execute("DETACH documented")
            comments = [
                f"COMMENT ON TABLE duckdb1.mart.{table} IS {literal(comment)}" if column is None
                else f'COMMENT ON COLUMN duckdb1.mart.{table}."{column}" IS {literal(comment)}'
                for table, column, comment in rows if table in parquet
            ]
            if comments:  # one commit, not one per statement: a third of the time
                con.execute("BEGIN TRANSACTION;\n" + ";\n".join(comments) + ";\nCOMMIT")
        con.execute("DETACH duckdb1")
    finally:
        con.close()
    with open(destination, "rb") as handle:
        os.fsync(handle.fileno())


def _export_parquet(database: Path, destinations: dict[Path, Path]) -> None:
    con = connect(database, read_only=True, memory_limit=runtime.PUBLISH_MEMORY_LIMIT)
    try:
        for final, staged in destinations.items():
            name = final.name.removesuffix(".parquet")
            con.execute(f"COPY (SELECT * FROM mart.{name}) TO '{staged.as_posix()}' (FORMAT parquet)")
    finally:
        con.close()
    for staged in destinations.values():
        with open(staged, "rb") as handle:
            os.fsync(handle.fileno())

