"""Standardization of landed windows in DuckDB (`sql/staging/*.sql`).

Python only moves files and names tables; every value is parsed by the SQL macros of
`sql/staging/macros.sql`, and `sql/staging/stg_<entity>.sql` is the one mapping from the
source's Vietnamese field names to ours. The flow for one entity:

    stage_entity(con, entity, files)   landed_<entity> → stg_<entity> (+ chk_<entity>, narrow)
    ... GX validates chk_<entity>, failures go to row_failure ...
    judge_entity(con, entity, failures) → view `staged` (is_valid, reasons, superseded)
    write_staged_parquet(con, path)
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

from etl import steps
from etl.contract import ENTITIES

if TYPE_CHECKING:  # the DAG files import etl modules; duckdb loads only where SQL runs
    import duckdb

# The staged parquet schema (docs/ARCHITECTURE.md "Staged batch"); the load engineer relies on
# these names and order. Checked against the staging SQL by the tests.
STAGED_COLUMNS: dict[str, tuple[str, ...]] = {
    "dossier": (
        "dossier_id", "procedure_code", "agency_code", "channel_code", "remote_submission",
        "applicant_type", "applicant_key", "submitted_at", "received_at", "due_at",
        "finished_at", "returned_at", "updated_at", "status", "return_method", "has_digitized",
        "result_digitized",
    ),
    "payment": (
        "transaction_id", "dossier_id", "procedure_code", "agency_code", "amount_vnd",
        "fee_type", "payment_method_code", "payment_portal", "status", "transacted_at",
        "updated_at",
    ),
    "agency": (
        "agency_code", "agency_name", "agency_level", "parent_code", "valid_from", "valid_to",
        "successor_code",
    ),
    "procedure": (
        "procedure_code", "valid_from", "valid_to", "procedure_name", "sector_code",
        "sector_name", "agency_levels", "service_level", "has_fee", "online_payment",
        "legal_days", "is_internal",
    ),
}
STAGING_COLUMNS = ("record_key", "window_start", "is_valid", "reasons", "superseded", "record",
                   "record_hash")


@dataclass(frozen=True)
class LandedFile:
    """One landed data file and the local start of the window it belongs to."""

    path: Path
    window_start: datetime  # naive local wall time (Asia/Ho_Chi_Minh)


def _require_entity(entity: str) -> str:
    # Entity names become table names; only the four known ones ever reach SQL text.
    if entity not in ENTITIES:
        raise ValueError(f"unknown entity {entity!r}; expected one of {', '.join(ENTITIES)}")
    return entity


def _read_sql(relative: str) -> str:
    from etl.warehouse import read_sql  # etl.warehouse imports duckdb

    return read_sql(relative)


def load_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Define the parsing macros (stg_*) on this connection."""
    con.execute(_read_sql("staging/macros.sql"))


def define_landed_view(con: duckdb.DuckDBPyConnection, entity: str,
                    files: Sequence[LandedFile]) -> None:
    """View landed_<entity>(row_id, window_start, file_path, record): one row per landed JSON line.

    The JSON lines are kept verbatim as `record`; fields are extracted as text by the staging
    SQL, so a JSON number 2 and a string "2" arrive alike. A view, so that the files are read
    once, straight into stg_<entity>.
    """
    entity = _require_entity(entity)
    con.execute("CREATE OR REPLACE TEMP TABLE landed_file (file_path VARCHAR, window_start TIMESTAMP)")
    if files:
        con.executemany(
            "INSERT INTO landed_file VALUES (?, ?)",
            [(str(f.path), f.window_start) for f in files],
        )
        # A view cannot take prepared parameters: the paths go in as escaped literals.
        paths = ", ".join(f"'{_sql_path(f.path)}'" for f in files)
        source = (
            "SELECT j.json::VARCHAR AS record, j.filename AS file_path "
            f"FROM read_json_objects([{paths}], format = 'newline_delimited', filename = true) AS j"
        )
    else:
        source = "SELECT NULL::VARCHAR AS record, NULL::VARCHAR AS file_path WHERE false"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW landed_{entity} AS
        SELECT row_number() OVER () AS row_id, w.window_start, w.file_path, j.record
        FROM ({source}) AS j JOIN landed_file AS w USING (file_path)
        """
    )


def landed_row_counts(con: duckdb.DuckDBPyConnection, entity: str) -> dict[str, int]:
    """Rows actually read per landed file (to compare with the manifest); after stage_entity."""
    entity = _require_entity(entity)
    rows = con.execute(
        f"SELECT file_path, count(*) FROM stg_{entity} GROUP BY file_path"
    ).fetchall()
    return {path: count for path, count in rows}


def stage_entity(con: duckdb.DuckDBPyConnection, entity: str,
                 files: Sequence[LandedFile]) -> None:
    """Read the landed files of one entity and standardize them: stg_<entity> and chk_<entity>."""
    define_landed_view(con, entity, files)
    con.execute(_read_sql(f"staging/stg_{_require_entity(entity)}.sql"))


def check_frame_query(entity: str) -> str:
    """The narrow frame GX validates (row_id, window_start, record_key, one boolean per rule)."""
    return f"SELECT * FROM chk_{_require_entity(entity)} ORDER BY row_id"


def judge_entity(con: duckdb.DuckDBPyConnection, entity: str,
                 failures: Iterable[tuple[int, str, int]]) -> None:
    """Define view `staged` for one entity from its failed checks (row_id, reason, ordinal)."""
    entity = _require_entity(entity)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE row_failure (row_id BIGINT, reason VARCHAR, ordinal INTEGER)"
    )
    failures = list(failures)
    if failures:
        # Inserted as one Arrow table, not row by row: a broken export can fail every record.
        import pyarrow as pa

        row_ids, reasons, ordinals = zip(*failures)
        failure_table = pa.table({
            "row_id": pa.array(row_ids, pa.int64()),
            "reason": pa.array(reasons, pa.string()),
            "ordinal": pa.array(ordinals, pa.int32()),
        })
        con.register("failure_table", failure_table)
        try:
            con.execute("INSERT INTO row_failure BY NAME SELECT * FROM failure_table")
        finally:
            con.unregister("failure_table")
    steps.run_file(con, "staging/finalize.sql", {"stg_table": f"stg_{entity}"})


def write_staged_parquet(con: duckdb.DuckDBPyConnection, entity: str, path: Path) -> int:
    """Write view `staged` as the entity's parquet (exact staged schema); returns its rows."""
    columns = ", ".join(STAGED_COLUMNS[_require_entity(entity)] + STAGING_COLUMNS)
    # `staged` is a view: the judging runs once, streaming into the file. Row order carries no
    # meaning (load merges by key), so no sort; snappy: the file is read once, soon.
    (written,) = con.execute(
        f"COPY (SELECT {columns} FROM staged) TO '{_sql_path(path)}' (FORMAT parquet)"
    ).fetchall()[0]
    return int(written)


def release_entity(con: duckdb.DuckDBPyConnection, entity: str) -> None:
    """Free an entity's work tables once its parquet is written (a big batch holds GBs)."""
    entity = _require_entity(entity)
    con.execute("DROP VIEW IF EXISTS staged")
    con.execute(f"DROP VIEW IF EXISTS chk_{entity}")
    con.execute(f"DROP TABLE IF EXISTS stg_{entity}")
    con.execute(f"DROP VIEW IF EXISTS landed_{entity}")


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
