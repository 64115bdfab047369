"""Load a staged batch into the star schema (docs/ARCHITECTURE.md "Load").

The work is set-based SQL in `sql/load/NNN_*.sql`, run in name order on the caller's connection
(etl/steps.py); this module only reads the batch's small JSON files, points the SQL at the
parquet files and reports.
`load_batch` never begins or ends a transaction: the pipeline wraps the load and the KPI rebuild
in one, so a failure (or a kill) leaves the warehouse as it was.

Re-loading a batch leaves every table as it was after the first load: audit rows are keyed by
the batch's run_id, facts are upserted only by an equal or newer state, dimensions are written
only when they differ, and nothing records the wall clock.
"""
from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import duckdb

from etl import steps
from etl.contract import LOADED_ENTITIES as ENTITIES, LOCAL_TIMEZONE

log = logging.getLogger(__name__)

# The steps are sql/load/NNN_*.sql, run in name order by etl.steps: those before STAGED (the
# work tables), then sql/load/stage/<entity>.sql per parquet file, then those up to CLEANUP, and
# CLEANUP onwards whatever happened. Parameters: $run_id, $batch_dir, and $load_file for staging.
STAGED = "020"
CLEANUP = "090"

VALIDATION_COLUMNS = (
    "entity", "expectation", "column_name", "blocking", "success",
    "element_count", "unexpected_count", "reason",
)


class LoadError(RuntimeError):
    """The staged batch cannot be loaded as it is; the message says what is wrong with it."""


@dataclass(frozen=True)
class LoadResult:
    run_id: str
    loaded: dict[str, int] = field(default_factory=dict)       # valid and latest in the batch
    quarantined: dict[str, int] = field(default_factory=dict)  # invalid rows
    duplicates: dict[str, int] = field(default_factory=dict)   # manifest duplicates + superseded
    applied: dict[str, int] = field(default_factory=dict)      # fact rows inserted or updated
    dirty_periods: int = 0                                     # distinct periods marked dirty
    reference_changed: bool = False                            # an agency/procedure row changed
    overlapping_procedures: tuple[str, ...] = ()               # codes whose versions now overlap


# ---------------------------------------------------------------------------------------------
# The batch's JSON files


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LoadError(f"staged batch {path.parent} is incomplete: {path.name} is missing") from None
    except json.JSONDecodeError as exc:
        raise LoadError(f"{path} is not valid JSON: {exc}") from None


def read_run_id(batch_dir: Path) -> str:
    batch = _read_json(batch_dir / "batch.json")
    run_id = batch.get("run_id") if isinstance(batch, dict) else None
    if not isinstance(run_id, str) or not run_id.strip():
        raise LoadError(f"{batch_dir / 'batch.json'} has no run_id")
    return run_id


def local_timestamp(text: str) -> datetime:
    """An ISO 8601 instant as local (UTC+7) wall time without zone, as the warehouse stores it."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise LoadError(f"windows.json: not an ISO 8601 timestamp: {text!r}") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(LOCAL_TIMEZONE).replace(tzinfo=None)
    return moment


def _window_entries(document: Any) -> list[dict]:
    """windows.json: a list of windows, each naming its entity (etl/validation.py writes it)."""
    if not isinstance(document, list):
        raise LoadError("windows.json: expected a list of windows")
    return document


def read_windows(batch_dir: Path) -> list[tuple[str, datetime, datetime, int, int]]:
    """(entity, window_start, window_end, extracted, duplicates) of every landed window."""
    rows = []
    for window in _window_entries(_read_json(batch_dir / "windows.json")):
        try:
            entity = window["entity"]
            row = (
                entity,
                local_timestamp(window["window_start"]),
                local_timestamp(window["window_end"]),
                int(window["extracted"]),
                int(window.get("duplicates") or 0),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise LoadError(f"windows.json: malformed window {window!r}: {exc}") from None
        if entity not in ENTITIES:
            raise LoadError(f"windows.json: unknown entity {entity!r}")
        rows.append(row)
    return rows


def read_validation_results(batch_dir: Path) -> list[tuple]:
    path = batch_dir / "validation.json"
    if not path.exists():
        return []
    document = _read_json(path)  # a list, as etl/validation.py writes it
    if not isinstance(document, list):
        raise LoadError(f"{path}: expected a list of validation results")
    rows = []
    for result in document:
        if not isinstance(result, dict) or not result.get("entity") or not result.get("expectation"):
            raise LoadError(f"{path}: a result without entity or expectation: {result!r}")
        rows.append(tuple(result.get(column) for column in VALIDATION_COLUMNS))
    return rows


# ---------------------------------------------------------------------------------------------
# Running the SQL


def _run_steps(con: duckdb.DuckDBPyConnection, params: dict[str, Any], *,
               start: str | None = None, stop: str | None = None) -> None:
    try:
        steps.run_folder(con, "load", params, start=start, stop=stop)
    except duckdb.InvalidInputException as exc:
        # error() in the checks: the message is already the explanation.
        raise LoadError(str(exc).removeprefix("Invalid Input Error: ")) from None


@contextlib.contextmanager
def _one_thread(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run the load on one DuckDB thread, then give the connection its thread count back.

    On one thread DuckDB writes each fact's row groups to the file as they fill, instead of
    holding partial ones in the transaction until the commit (decisions 0045, 0032).
    """
    threads = int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])
    con.execute("SET threads = 1")
    try:
        yield
    finally:
        try:
            con.execute(f"SET threads = {threads}")
        except duckdb.Error:
            # A failed statement left the transaction aborted: DuckDB refuses even SET until
            # the caller's ROLLBACK, after which the connection stays on one thread (`load`
            # and `pipeline.run` close it after a failed load).
            pass


def _stage(con: duckdb.DuckDBPyConnection, batch_dir: Path, windows: list[tuple]) -> None:
    """Fill the typed work tables from the batch's files."""
    if windows:
        con.executemany("INSERT INTO load_window VALUES (?, ?, ?, ?, ?)", windows)
    results = read_validation_results(batch_dir)
    if results:
        con.executemany(
            f"INSERT INTO load_validation ({', '.join(VALIDATION_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in VALIDATION_COLUMNS)})",
            results,
        )
    entities_with_windows = {window[0] for window in windows}
    for entity in ENTITIES:
        path = batch_dir / f"{entity}.parquet"
        if not path.exists():
            if entity in entities_with_windows:
                raise LoadError(
                    f"staged batch {batch_dir} is incomplete: {path.name} is missing "
                    f"but windows.json lists {entity} windows"
                )
            continue
        try:
            steps.run_file(con, f"load/stage/{entity}.sql", {"load_file": path}).fetchall()
        except duckdb.Error as exc:
            raise LoadError(f"{path} does not have the staged {entity} columns: {exc}") from None


def _counts_by_entity(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, int]]:
    """Per entity (every entity, 0 when the batch has none of it) and kind of count."""
    rows = con.execute(
        "SELECT entity, sum(loaded), sum(quarantined), sum(duplicates) FROM load_count GROUP BY entity"
    ).fetchall()
    by_entity = {entity: (int(loaded), int(quarantined), int(duplicates))
                 for entity, loaded, quarantined, duplicates in rows}
    counts = {entity: by_entity.get(entity, (0, 0, 0)) for entity in ENTITIES}
    return {
        kind: {entity: values[position] for entity, values in counts.items()}
        for position, kind in enumerate(("loaded", "quarantined", "duplicates"))
    }


def load_batch(con: duckdb.DuckDBPyConnection, batch_dir: Path | str) -> LoadResult:
    """Load one staged batch on `con`, inside the caller's transaction, on one DuckDB thread."""
    with _one_thread(con):
        return _load_batch(con, Path(batch_dir))


def _load_batch(con: duckdb.DuckDBPyConnection, batch_dir: Path) -> LoadResult:
    if not batch_dir.is_dir():
        raise LoadError(f"staged batch {batch_dir} does not exist")
    run_id = read_run_id(batch_dir)
    windows = read_windows(batch_dir)

    params = {"run_id": run_id, "batch_dir": batch_dir}
    _run_steps(con, params, stop=STAGED)
    try:
        _stage(con, batch_dir, windows)
        _run_steps(con, params, start=STAGED, stop=CLEANUP)
        counts = _counts_by_entity(con)
        overlapping = tuple(code for code, in con.execute(
            "SELECT procedure_code FROM load_procedure_overlap ORDER BY 1").fetchall())
        (dossiers, payments, dirty, changed), = con.execute(
            "SELECT (SELECT count(*) FROM load_dossier_applied), "
            "(SELECT count(*) FROM load_payment_applied), "
            "(SELECT count(*) FROM load_dirty_period), "
            "(SELECT count(*) FROM load_agency_changed) + (SELECT count(*) FROM load_procedure_changed)"
        ).fetchall()
    finally:
        # After a failed statement DuckDB refuses everything until ROLLBACK: leave that to the
        # caller's transaction (temp objects die with it or with the connection).
        try:
            _run_steps(con, params, start=CLEANUP)
        except duckdb.Error:
            pass
    result = LoadResult(
        run_id=run_id,
        loaded=counts["loaded"],
        quarantined=counts["quarantined"],
        duplicates=counts["duplicates"],
        applied={"dossier": int(dossiers), "payment": int(payments)},
        dirty_periods=int(dirty),
        reference_changed=changed > 0,
        overlapping_procedures=overlapping,
    )
    if overlapping:
        log.warning(
            "batch %s: %d procedure code(s) now have overlapping versions in core.dim_procedure "
            "(a version re-keyed at the source?); facts resolve to the latest valid_from: %s",
            run_id, len(overlapping), ", ".join(overlapping[:10]),
        )
    log.info(
        "loaded batch %s: loaded %s, quarantined %s, duplicates %s, facts written %s, "
        "%d KPI period(s) marked dirty%s",
        run_id, result.loaded, result.quarantined, result.duplicates, result.applied,
        result.dirty_periods, ", reference lists changed" if result.reference_changed else "",
    )
    return result
