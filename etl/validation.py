"""Validation: landed windows → a staged batch (docs/ARCHITECTURE.md "Staged batch").

`validate(settings, manifests)` checks the landed windows against their manifests (checksums,
row counts, required fields), standardizes them in DuckDB (`etl.standardize`), runs the Great
Expectations suites of `expectations/` (the rulebook, `etl.suites`) on a narrow frame of the
typed columns the rules read, and writes `staged/<run_id>/` atomically. Each expectation's
`meta.action` says what a failure means:

- `quarantine`: the failing records are invalid (is_valid = false, reasons from `meta.reason`;
  the Vietnamese `meta.reason_vi` is shown on the per-agency quarantine page and in the reports);
- `warn`: reported in validation.json and the Data Docs only;
- `block`: the whole batch is refused with `BlockingValidationError`, nothing is staged.

Great Expectations and pandas are imported lazily: importing them costs seconds.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Sequence

from etl import pilot, runtime, suites
from etl.config import Settings
from etl.contract import ENTITIES, LOCAL_TIMEZONE, REFERENCES
from etl.standardize import LandedFile
from etl.suites import ExpectationOutcome, load_suite_document, required_fields

log = logging.getLogger(__name__)

# A run id names a directory: no separators, no leading dot (those are our temp dirs).
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:+-]{0,199}")
# Temp dirs of a killed validate are swept after this long (a running one is never this old).
STALE_TEMP_SECONDS = 24 * 3600
# The outcomes of the reference lists' last validation (suites.UnchangedOutcomes), in the warehouse folder.
REFERENCE_OUTCOMES = "reference-outcomes"


class BlockingValidationError(RuntimeError):
    """The batch cannot be staged at all; the message is one line saying what and where."""


@dataclass(frozen=True)
class ManifestFile:
    path: Path
    rows: int
    sha256: str


@dataclass(frozen=True)
class LandedWindow:
    """A landed window as its manifest describes it."""

    manifest_path: Path
    entity: str
    day: str
    window_start: datetime  # naive local wall time
    window_end: datetime
    extracted: int
    duplicates: int
    rows: int
    fields: frozenset[str]
    files: tuple[ManifestFile, ...]

    @property
    def label(self) -> str:
        return f"{self.entity} window {self.day}"


# --------------------------------------------------------------------------- manifests

def local_wall_time(iso_text: str) -> datetime:
    """'2023-02-01T00:00:00+07:00' → naive local 2023-02-01 00:00 (any offset is converted)."""
    moment = datetime.fromisoformat(iso_text)
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(LOCAL_TIMEZONE).replace(tzinfo=None)


def read_window(manifest_path: Path | str) -> LandedWindow:
    path = Path(manifest_path)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        entity = manifest["entity"]
        window = LandedWindow(
            manifest_path=path,
            entity=entity,
            day=str(manifest["day"]),
            window_start=local_wall_time(manifest["window_start"]),
            window_end=local_wall_time(manifest["window_end"]),
            extracted=int(manifest["extracted"]),
            duplicates=int(manifest["duplicates"]),
            rows=int(manifest["rows"]),
            fields=frozenset(manifest.get("fields") or ()),
            files=tuple(
                ManifestFile(path.parent / f["path"], int(f["rows"]), str(f["sha256"]))
                for f in manifest["files"]
            ),
        )
    except FileNotFoundError:
        raise BlockingValidationError(f"manifest not found: {path}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise BlockingValidationError(f"unreadable manifest {path}: {type(exc).__name__}: {exc}") from None
    if entity not in ENTITIES and entity != pilot.ENTITY:
        raise BlockingValidationError(f"manifest {path}: unknown entity {entity!r}")
    return window


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_files(window: LandedWindow) -> None:
    """Every data file is present and has the manifest's checksum; file rows add up."""
    for landed in window.files:
        if not landed.path.is_file():
            raise BlockingValidationError(f"{window.label}: data file {landed.path.name} is missing")
        actual = file_sha256(landed.path)
        if actual != landed.sha256:
            raise BlockingValidationError(
                f"{window.label}: checksum mismatch for {landed.path.name} "
                f"(manifest {landed.sha256[:16]}…, file {actual[:16]}…)"
            )
    listed = sum(f.rows for f in window.files)
    if listed != window.rows:
        raise BlockingValidationError(
            f"{window.label}: manifest lists {listed} rows in its files but declares rows={window.rows}"
        )
    if window.extracted != window.rows + window.duplicates:
        # The audit balance (extracted = loaded + quarantined + duplicates) starts here.
        raise BlockingValidationError(
            f"{window.label}: manifest extracted={window.extracted} is not "
            f"rows={window.rows} + duplicates={window.duplicates}"
        )


def check_required_fields(window: LandedWindow, required: Iterable[str]) -> None:
    """A window with records must carry every required source field (schema drift blocks)."""
    if window.rows == 0:
        return
    missing = sorted(set(required) - window.fields)
    if missing:
        raise BlockingValidationError(
            f"{window.label}: required column(s) absent from the landed data: {', '.join(missing)}"
        )


def check_row_counts(window: LandedWindow, read_counts: dict[str, int]) -> None:
    for landed in window.files:
        read = read_counts.get(str(landed.path), 0)
        if read != landed.rows:
            raise BlockingValidationError(
                f"{window.label}: {read} landed rows in {landed.path.name}, manifest says {landed.rows}"
            )


def derive_run_id(windows: Sequence[LandedWindow]) -> str:
    """Same landed content → same run id (sha256 over the windows and their file checksums)."""
    parts = sorted(
        f"{w.entity}|{w.window_start.isoformat()}|{w.window_end.isoformat()}|"
        + ",".join(sorted(f.sha256 for f in w.files))
        for w in windows
    )
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:24]


# --------------------------------------------------------------------------- batch-level checks

def _blocking_message(outcome: ExpectationOutcome) -> str:
    sample = "; ".join(
        ", ".join(f"{k}={v}" for k, v in item.items()) if isinstance(item, dict) else str(item)
        for item in outcome.sample
    )
    return (
        f"{outcome.entity}: {outcome.reason} ({outcome.unexpected_count} of "
        f"{outcome.element_count} rows{'; e.g. ' + sample if sample else ''})"
    )


def _manifest_outcomes(entity: str, windows: Sequence[LandedWindow], required: list[str]) -> list[ExpectationOutcome]:
    """The batch-level checks done before GX, recorded for the audit (they passed, or we raised)."""
    rows = sum(w.rows for w in windows)
    return [
        ExpectationOutcome(entity, "landed_files_match_manifest_checksums", "files", "block",
                           "data file checksum differs from the manifest", True,
                           sum(len(w.files) for w in windows), 0, -3),
        ExpectationOutcome(entity, "landed_rows_match_manifest", "rows", "block",
                           "landed rows differ from the manifest's rows", True, rows, 0, -2),
        ExpectationOutcome(entity, "required_fields_present", ",".join(required), "block",
                           "a required column is absent from a window", True, len(windows), 0, -1),
    ]


# --------------------------------------------------------------------------- the batch

def _stage_entity(con, entity: str, windows: Sequence[LandedWindow], document: dict[str, Any],
                  staging: Path, gx: suites.GxSession, unchanged: suites.UnchangedOutcomes,
                  quarantined: list[tuple] | None = None) -> list[ExpectationOutcome]:
    """Standardize, validate and write one entity's parquet; returns its outcomes. The per-agency
    counts of its quarantined records are appended to `quarantined` (for the Data Docs)."""
    from etl import data_docs, standardize

    started = time.monotonic()
    files = [LandedFile(f.path, w.window_start) for w in windows for f in w.files]
    standardize.stage_entity(con, entity, files)
    counts = standardize.landed_row_counts(con, entity)
    for window in windows:
        check_row_counts(window, counts)
    staged_at = time.monotonic()

    frame = con.execute(standardize.check_frame_query(entity)).df()
    landed_rows = sum(w.rows for w in windows)
    runner, outcomes, fingerprint = None, None, None
    if not len(frame):
        outcomes = suites.empty_outcomes(entity, document)
    elif entity in REFERENCES:
        fingerprint = unchanged.fingerprint(document, frame, landed_rows)
        outcomes = unchanged.recall(entity, fingerprint)
        if outcomes is not None:
            log.info("%s: the same list and suite as last validated; its outcomes reused", entity)
    if outcomes is None:
        runner = gx.get()
        outcomes = runner.run(entity, document, frame, landed_rows=landed_rows)
    del frame
    validated_at = time.monotonic()
    blocked = [o for o in outcomes if o.action == "block" and not o.success]
    if blocked:
        runner.build_data_docs()  # so a person can see what blocked the batch
        raise BlockingValidationError(_blocking_message(blocked[0]))
    if runner is not None and fingerprint is not None:
        unchanged.remember(entity, fingerprint, outcomes)

    failures = [
        (row_id, o.reason, o.ordinal)
        for o in outcomes if o.action == "quarantine" and not o.success
        for row_id in o.failing_row_ids
    ]
    standardize.judge_entity(con, entity, failures)
    if failures and quarantined is not None:
        quarantined += data_docs.quarantine_rows(con, entity)
    written = standardize.write_staged_parquet(con, entity, staging / f"{entity}.parquet")
    standardize.release_entity(con, entity)
    log.info(
        "staged %s: %d rows, %d failed checks (standardize %.1fs, GX %.1fs, write %.1fs)",
        entity, written, len(failures), staged_at - started, validated_at - staged_at,
        time.monotonic() - validated_at,
    )
    return _manifest_outcomes(entity, windows, required_fields(document)) + outcomes


def _stage_pilot(windows: Sequence[LandedWindow], staging: Path) -> list[ExpectationOutcome]:
    """pilot.parquet from the landed pilot file(s); one outcome counting the unreadable rows.
    Only the latest window's registrations are current (a batch normally holds one)."""
    latest = max(w.window_start for w in windows)
    landed = [pilot.LandedPilot(f.path, f.rows, w.window_start, w.window_start == latest)
              for w in windows for f in w.files]
    try:
        total, rejected = pilot.write_staged(landed, staging / f"{pilot.ENTITY}.parquet")
    except pilot.PilotFileError as exc:
        raise BlockingValidationError(f"pilot: {exc}") from None
    log.info("staged pilot: %d record(s), %d unreadable", total, rejected)
    return [ExpectationOutcome(pilot.ENTITY, "pilot_row_readable", "row", "quarantine",
                               "a pilot registration row cannot be read", rejected == 0,
                               total, rejected, 0)]


def _distinct_manifests(manifests: Iterable[Path | str]) -> list[Path]:
    seen: dict[Path, None] = {}
    for manifest in manifests:
        seen.setdefault(Path(manifest).resolve(), None)
    return list(seen)


def _write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n",
                    encoding="utf-8")


def _windows_document(windows: Sequence[LandedWindow]) -> list[dict[str, Any]]:
    return [
        {
            "entity": w.entity, "day": w.day,
            "window_start": w.window_start.isoformat(sep=" "),
            "window_end": w.window_end.isoformat(sep=" "),
            "extracted": w.extracted, "duplicates": w.duplicates, "rows": w.rows,
            "manifest": str(w.manifest_path),
        }
        for w in sorted(windows, key=lambda w: (_entity_order(w.entity), w.window_start))
    ]


def _entity_order(entity: str) -> int:
    return list(ENTITIES).index(entity) if entity in ENTITIES else len(ENTITIES)


def _sweep_stale_temp_dirs(staged_dir: Path) -> None:
    """Remove what a killed validate left behind; never a finished batch."""
    if not staged_dir.is_dir():
        return
    cutoff = time.time() - STALE_TEMP_SECONDS
    for leftover in staged_dir.glob(".*"):
        if leftover.name.startswith((".tmp-", ".retired-")) and leftover.stat().st_mtime < cutoff:
            shutil.rmtree(leftover, ignore_errors=True)


def _publish_dir(staging: Path, final: Path) -> None:
    """Swap the finished batch in; a re-run of the same input replaces an identical batch."""
    if final.exists():
        retired = final.with_name(f".retired-{final.name}-{uuid.uuid4().hex[:8]}")
        os.replace(final, retired)
        os.replace(staging, final)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staging, final)


def validate(settings: Settings, manifests: Sequence[Path | str], run_id: str | None = None,
             *, gx: suites.GxSession | None = None) -> Path:
    """Validate and standardize the landed windows; returns the staged batch directory.

    With a shared `gx` (`gx_session`), the Data Docs are left to its `build_docs()`."""
    import duckdb

    from etl import standardize

    started = time.monotonic()
    windows = [read_window(p) for p in _distinct_manifests(manifests)]
    if not windows:
        raise BlockingValidationError("no landed windows to validate")
    seen_windows: set[tuple[str, datetime]] = set()
    for window in windows:
        if (window.entity, window.window_start) in seen_windows:
            raise BlockingValidationError(f"{window.label} is listed twice in the batch")
        seen_windows.add((window.entity, window.window_start))
    documents = {entity: load_suite_document(entity) for entity in ENTITIES}
    for window in windows:
        check_files(window)
        if window.entity in documents:
            check_required_fields(window, required_fields(documents[window.entity]))

    run_id = run_id or derive_run_id(windows)
    if not RUN_ID_PATTERN.fullmatch(run_id):
        raise ValueError(f"run_id {run_id!r} cannot name a batch directory (letters, digits, _.:+- only)")
    _sweep_stale_temp_dirs(settings.staged_dir)
    final = settings.staged_dir / run_id
    staging = settings.staged_dir / f".tmp-{run_id}-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True)
    outcomes: list[ExpectationOutcome] = []
    quarantined: list[tuple] = []
    unchanged = suites.UnchangedOutcomes(settings.warehouse_dir / REFERENCE_OUTCOMES)
    shared = gx is not None
    if gx is None:
        gx = suites.GxSession(settings.data_docs_dir, run_id)
    else:
        gx.name_run(run_id)
    try:
        con = duckdb.connect(":memory:", config={"temp_directory": str(staging / ".spill"),
                                                 "memory_limit": runtime.STAGING_MEMORY_LIMIT,
                                                 "threads": runtime.STAGING_THREADS})
        try:
            standardize.load_macros(con)
            for entity in ENTITIES:
                entity_windows = [w for w in windows if w.entity == entity]
                outcomes += _stage_entity(con, entity, entity_windows, documents[entity],
                                          staging, gx, unchanged, quarantined)
        finally:
            con.close()
        shutil.rmtree(staging / ".spill", ignore_errors=True)
        pilot_windows = [w for w in windows if w.entity == pilot.ENTITY]
        if pilot_windows:
            outcomes += _stage_pilot(pilot_windows, staging)

        _write_json(staging / "windows.json", _windows_document(windows))
        _write_json(staging / "validation.json", [o.audit_row(run_id) for o in outcomes])
        _write_json(staging / "batch.json", {
            "run_id": run_id,
            "manifests": [str(w.manifest_path) for w in windows],
        })
        if gx.started:
            from etl import data_docs

            data_docs.write_quarantine_page(settings.data_docs_dir, run_id, quarantined,
                                            data_docs.reasons_vi_catalogue(documents))
        if gx.started and not shared:
            gx.get().build_data_docs()
        _publish_dir(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("validated %d windows in %.1fs -> %s", len(windows), time.monotonic() - started, final)
    return final
