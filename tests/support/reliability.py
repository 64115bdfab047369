"""Helpers of the reliability matrix (tests/integration/test_reliability_*.py): warehouse states compared by
content, pipeline runs in this process or as `python -m etl run`, file digests.

Nothing here stands in for our code: runs go through `etl.pipeline.run` or the real CLI, against
the real emulator (or a contract-following HTTP fixture) and real DuckDB files.
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

from .emulator import TEST_PII_KEY
from .paths import REPO_ROOT

FACT_TABLES = ("core.fact_dossier", "core.fact_payment")
STATE_TABLES = FACT_TABLES + ("mart.kpi_value",)


def settings_at(root: Path, url: str, token: str, **overrides):
    """Settings for a warehouse under `root`; short source timeouts unless overridden."""
    from etl.config import Settings

    values = dict(
        api_url=url,
        api_token=token,
        warehouse=root / "warehouse" / "tthc.duckdb",
        raw_dir=root / "warehouse" / "raw",
        published=root / "warehouse" / "published" / "tthc.duckdb",
        pii_key=TEST_PII_KEY,
        source_retry_seconds=60.0,
        source_read_timeout=5.0,
        source_backoff_seconds=0.05,
    )
    values.update(overrides)
    return Settings(**values)


def run_pipeline(settings, start: str, end: str):
    """The pipeline of `python -m etl run`, in this process (GX is imported once per session)."""
    from etl import pipeline

    return pipeline.run(settings, date.fromisoformat(start), date.fromisoformat(end))


def run_cli(args: list[str], env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "etl", *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )


def _open_snapshot(path: Path) -> tuple[duckdb.DuckDBPyConnection, Path | None]:
    """A read-only connection to the file's committed state. With a WAL beside it (a killed
    writer), the pair is copied first so the check never touches what the next run will open."""
    path = Path(path)
    wal = Path(f"{path}.wal")
    if not wal.exists():
        return duckdb.connect(str(path), read_only=True), None
    scratch = Path(tempfile.mkdtemp(prefix="rel-snapshot-"))
    shutil.copy2(path, scratch / path.name)
    shutil.copy2(wal, scratch / wal.name)
    return duckdb.connect(str(scratch / path.name)), scratch


def table_rows(path: Path, tables=STATE_TABLES, exclude: dict[str, str] | None = None) -> dict[str, list[tuple]]:
    """Sorted rows of `tables` (optionally `EXCLUDE (...)` columns per table)."""
    con, scratch = _open_snapshot(path)
    try:
        out = {}
        for table in tables:
            columns = "*" + (f" EXCLUDE ({exclude[table]})" if exclude and table in exclude else "")
            out[table] = sorted(con.execute(f"SELECT {columns} FROM {table}").fetchall(), key=repr)
        return out
    finally:
        con.close()
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


def state_digest(path: Path, tables=STATE_TABLES) -> str | None:
    """A checksum of the content of `tables` (None when the file does not exist)."""
    if not Path(path).exists():
        return None
    rows = table_rows(path, tables)
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def file_digest(path: Path) -> str | None:
    path = Path(path)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def published_digests(settings) -> dict[str, str | None]:
    """Byte digests of the warehouse, the published copy and the published Parquet files."""
    files = {"warehouse": settings.warehouse, "published": settings.published}
    parquet = settings.published_parquet_dir
    if parquet.exists():
        files.update({f"parquet/{p.name}": p for p in sorted(parquet.glob("*.parquet"))})
    return {name: file_digest(path) for name, path in files.items()}


def run_counts_balance(path: Path) -> list[tuple]:
    """Rows of audit.run_counts where extracted != loaded + quarantined + duplicates."""
    con, scratch = _open_snapshot(path)
    try:
        return con.execute(
            "SELECT * FROM audit.run_counts WHERE extracted <> loaded + quarantined + duplicates"
        ).fetchall()
    finally:
        con.close()
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


class Stopwatch:
    def __init__(self):
        self.started = time.monotonic()

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started
