"""The Great Expectations side of validation: the suites of `expectations/`, one ephemeral GX
context per run (a pandas data source, a checkpoint per entity), each result as an
`ExpectationOutcome`, and the Data Docs.

Each expectation's `meta.action` says what a failure means: `quarantine` (the failing records
are invalid, reasons from `meta.reason`), `warn` (reported only) or `block` (the batch is
refused). GX is imported lazily: the import alone costs seconds.
"""
from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from etl.config import Settings

log = logging.getLogger(__name__)

EXPECTATIONS_DIR = Path(__file__).resolve().parent.parent / "expectations"
DATA_DOCS_SITE = "tthc"
RESULT_FORMAT = {"result_format": "COMPLETE", "unexpected_index_column_names": ["row_id"]}
ACTIONS = ("quarantine", "warn", "block")


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


def empty_outcomes(entity: str, document: dict[str, Any]) -> list[ExpectationOutcome]:
    """An entity with no rows in the batch: every expectation trivially holds."""
    return [
        ExpectationOutcome(
            entity=entity, expectation=e["type"], column_name=_column_name(e["kwargs"]),
            action=e["meta"]["action"], reason=e["meta"]["reason"], success=True,
            element_count=0, unexpected_count=0, ordinal=i,
        )
        for i, e in enumerate(document["expectations"])
    ]


class GxSession:
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


def gx_session(settings: Settings) -> GxSession:
    """A GX holder for several `validate(..., gx=…)` calls; call its `build_docs()` after them."""
    return GxSession(settings.data_docs_dir, None)
