"""Validation: landed windows → a staged batch (docs/ARCHITECTURE.md "Staged batch").

`validate(settings, manifests)` checks the landed windows against their manifests (checksums,
row counts, required fields), standardizes them in DuckDB (`etl.standardize`), runs the Great
Expectations suites of `expectations/` on a narrow frame of per-rule booleans, and writes
`staged/<run_id>/` atomically. Each expectation's `meta.action` says what a failure means:

- `quarantine`: the failing records are invalid (is_valid = false, reasons from `meta.reason`);
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
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Sequence

from etl import pilot, runtime
from etl.config import Settings
from etl.contract import ENTITIES, LOCAL_TIMEZONE
from etl.standardize import LandedFile

log = logging.getLogger(__name__)

EXPECTATIONS_DIR = Path(__file__).resolve().parent.parent / "expectations"
DATA_DOCS_SITE = "tthc"
RESULT_FORMAT = {"result_format": "COMPLETE", "unexpected_index_column_names": ["row_id"]}
ACTIONS = ("quarantine", "warn", "block")
# A run id names a directory: no separators, no leading dot (those are our temp dirs).
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:+-]{0,199}")
# Temp dirs of a killed validate are swept after this long (a running one is never this old).
STALE_TEMP_SECONDS = 24 * 3600


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


@dataclass
class ExpectationOutcome:
    """One expectation's result, in the shape of audit.validation_result."""

    entity: str
    expectation: str
    column_name: str
    action: str
    reason: str
    success: bool
    element_count: int | None
    unexpected_count: int | None
    ordinal: int
    failing_row_ids: list[int] = field(default_factory=list, repr=False)
    sample: list[Any] = field(default_factory=list, repr=False)

    def audit_row(self, run_id: str) -> dict[str, Any]:
        return {
            "run_id": run_id, "entity": self.entity, "expectation": self.expectation,
            "column_name": self.column_name, "blocking": self.action == "block",
            "success": self.success, "element_count": self.element_count,
            "unexpected_count": self.unexpected_count, "reason": self.reason,
        }


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


# --------------------------------------------------------------------------- suites and GX

def load_suite_document(entity: str) -> dict[str, Any]:
    """expectations/<entity>.json, checked for the meta the pipeline relies on."""
    document = json.loads((EXPECTATIONS_DIR / f"{entity}.json").read_text(encoding="utf-8"))
    for index, expectation in enumerate(document["expectations"]):
        meta = expectation.get("meta") or {}
        if meta.get("action") not in ACTIONS or not meta.get("reason"):
            raise ValueError(
                f"expectations/{entity}.json expectation {index}: meta needs action "
                f"({'/'.join(ACTIONS)}) and reason"
            )
    return document


def required_fields(document: dict[str, Any]) -> list[str]:
    return list((document.get("meta") or {}).get("required_fields") or [])


def _column_name(kwargs: dict[str, Any]) -> str:
    if "column" in kwargs:
        return str(kwargs["column"])
    return "+".join(kwargs.get("column_list") or ["*"])


class GxRunner:
    """One ephemeral GX context per batch: a pandas data source, a checkpoint per entity."""

    def __init__(self, data_docs_dir: Path, run_name: str) -> None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self._gx = gx
        self.run_name = run_name
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(
            globally=False, metric_calculations=False
        )
        self.data_docs_dir = data_docs_dir
        self.context.add_data_docs_site(
            site_name=DATA_DOCS_SITE,
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(data_docs_dir),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
        self.source = self.context.data_sources.add_pandas("staging")
        self._checkpoints: dict[str, Any] = {}

    def run(self, entity: str, document: dict[str, Any], frame) -> list[ExpectationOutcome]:
        gx = self._gx
        from great_expectations.core import ExpectationSuite
        from great_expectations.core.run_identifier import RunIdentifier

        # A runner shared by the chunks of one run validates each entity's frames with the
        # checkpoint made for its first frame (the suites of one run are the same).
        checkpoint = self._checkpoints.get(entity)
        if checkpoint is None:
            suite = self.context.suites.add(ExpectationSuite(**document))
            batch = self.source.add_dataframe_asset(entity).add_batch_definition_whole_dataframe(entity)
            definition = self.context.validation_definitions.add(
                gx.ValidationDefinition(name=entity, data=batch, suite=suite)
            )
            checkpoint = self._checkpoints[entity] = self.context.checkpoints.add(
                gx.Checkpoint(name=f"staging-{entity}", validation_definitions=[definition],
                              result_format=RESULT_FORMAT)
            )
        result = checkpoint.run(
            batch_parameters={"dataframe": frame},
            run_id=RunIdentifier(run_name=self.run_name),
        )
        (validation,) = result.run_results.values()
        return [_outcome(entity, r, document) for r in validation.results]

    def build_data_docs(self) -> Path:
        began = time.monotonic()
        self.context.build_data_docs(site_names=[DATA_DOCS_SITE])
        log.info("built the Data Docs of run %s in %.1fs", self.run_name, time.monotonic() - began)
        return self.data_docs_dir / "index.html"


def _outcome(entity: str, result, document: dict[str, Any]) -> ExpectationOutcome:
    config = result.expectation_config
    meta = config.meta or {}
    details = result.result or {}
    if result.exception_info and result.exception_info.get("raised_exception"):
        # A suite that cannot run is a bug, not bad data: never let it pass silently.
        raise RuntimeError(
            f"GX expectation {config.type} on {entity} failed to run: "
            f"{result.exception_info.get('exception_message')}"
        )
    column = _column_name(config.kwargs)
    ordinal = next(
        (i for i, e in enumerate(document["expectations"])
         if e["type"] == config.type and _column_name(e["kwargs"]) == column),
        len(document["expectations"]),
    )
    return ExpectationOutcome(
        entity=entity,
        expectation=config.type,
        column_name=column,
        action=meta.get("action", "warn"),
        reason=meta.get("reason", config.type),
        success=bool(result.success),
        element_count=details.get("element_count"),
        unexpected_count=details.get("unexpected_count"),
        ordinal=ordinal,
        failing_row_ids=[int(item["row_id"]) for item in details.get("unexpected_index_list") or []
                         if isinstance(item, dict) and "row_id" in item],
        sample=list(details.get("partial_unexpected_list") or [])[:3],
    )


def _blocking_message(outcome: ExpectationOutcome) -> str:
    sample = "; ".join(
        ", ".join(f"{k}={v}" for k, v in item.items()) if isinstance(item, dict) else str(item)
        for item in outcome.sample
    )
    return (
        f"{outcome.entity}: {outcome.reason} ({outcome.unexpected_count} of "
        f"{outcome.element_count} rows{'; e.g. ' + sample if sample else ''})"
    )


def _empty_outcomes(entity: str, document: dict[str, Any]) -> list[ExpectationOutcome]:
    """An entity with no rows in the batch: every expectation trivially holds."""
    return [
        ExpectationOutcome(
            entity=entity, expectation=e["type"], column_name=_column_name(e["kwargs"]),
            action=e["meta"]["action"], reason=e["meta"]["reason"], success=True,
            element_count=0, unexpected_count=0, ordinal=i,
        )
        for i, e in enumerate(document["expectations"])
    ]


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

class _LazyGx:
    """GX is imported only when a frame has rows (the import alone costs seconds).

    `gx_session()` makes one to share between the `validate` calls of one run's chunks: one GX
    context, so the Data Docs (built once by the caller, `build_docs()`) list every chunk."""

    def __init__(self, data_docs_dir: Path, run_id: str | None) -> None:
        self._args = (data_docs_dir, run_id)
        self._runner: GxRunner | None = None

    @property
    def started(self) -> bool:
        return self._runner is not None

    def get(self) -> GxRunner:
        if self._runner is None:
            self._runner = GxRunner(*self._args)
        return self._runner

    def name_run(self, run_id: str) -> None:
        """The run name of the GX results: the first batch's run id (until GX has started)."""
        if self._args[1] is None and self._runner is None:
            self._args = (self._args[0], run_id)

    def build_docs(self) -> Path | None:
        return self.get().build_data_docs() if self.started else None


def gx_session(settings: Settings) -> _LazyGx:
    """A GX holder for several `validate(..., gx=…)` calls; call its `build_docs()` after them."""
    return _LazyGx(settings.data_docs_dir, None)


def _stage_entity(con, entity: str, windows: Sequence[LandedWindow], document: dict[str, Any],
                  staging: Path, gx: _LazyGx) -> list[ExpectationOutcome]:
    """Standardize, validate and write one entity's parquet; returns its outcomes."""
    from etl import standardize

    started = time.monotonic()
    files = [LandedFile(f.path, w.window_start) for w in windows for f in w.files]
    standardize.stage_entity(con, entity, files)
    counts = standardize.landed_row_counts(con, entity)
    for window in windows:
        check_row_counts(window, counts)
    staged_at = time.monotonic()

    frame = con.execute(standardize.check_frame_query(entity)).df()
    if len(frame):
        runner = gx.get()
        outcomes = runner.run(entity, document, frame)
    else:
        runner, outcomes = None, _empty_outcomes(entity, document)
    del frame
    validated_at = time.monotonic()
    blocked = [o for o in outcomes if o.action == "block" and not o.success]
    if blocked:
        runner.build_data_docs()  # so a person can see what blocked the batch
        raise BlockingValidationError(_blocking_message(blocked[0]))

    failures = [
        (row_id, o.reason, o.ordinal)
        for o in outcomes if o.action == "quarantine" and not o.success
        for row_id in o.failing_row_ids
    ]
    standardize.judge_entity(con, entity, failures)
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
             *, gx: _LazyGx | None = None) -> Path:
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
    shared = gx is not None
    if gx is None:
        gx = _LazyGx(settings.data_docs_dir, run_id)
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
                                          staging, gx)
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
        if gx.started and not shared:
            gx.get().build_data_docs()
        _publish_dir(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("validated %d windows in %.1fs -> %s", len(windows), time.monotonic() - started, final)
    return final
