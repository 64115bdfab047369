"""The rulebook: the suites of `expectations/` (one per entity, in GX's own vocabulary), run by
one ephemeral GX context per run (a pandas data source, a checkpoint per entity) on the narrow
frame of typed columns that `sql/staging/stg_<entity>.sql` builds; each result as an
`ExpectationOutcome`, and the Data Docs (`etl.data_docs`: offline, with the results of the last
90 days).

Each expectation's `meta.action` says what a failure means: `quarantine` (the failing records
are invalid, with `meta.reason` / `meta.reason_vi`), `warn` (reported only) or `block` (the batch
is refused). `meta.notes` says in Vietnamese and English what the rule means and who fixes it.
The folder is `TTHC_EXPECTATIONS_DIR` when set: a suite edited by hand changes which records are
quarantined, without a code change. GX is imported lazily: the import alone costs seconds.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from etl.config import Settings

log = logging.getLogger(__name__)

DEFAULT_EXPECTATIONS_DIR = Path(__file__).resolve().parent.parent / "expectations"
EXPECTATIONS_DIR = DEFAULT_EXPECTATIONS_DIR  # the default; expectations_dir() reads the environment
DATA_DOCS_SITE = "tthc"
# The failing rows come back by row_id (for the quarantine) and record_key (for the Data Docs).
INDEX_COLUMNS = ["row_id", "record_key"]
# No unexpected-index query: a pandas expression listing every failing index, read by no one.
RESULT_FORMAT = {"result_format": "COMPLETE", "unexpected_index_column_names": INDEX_COLUMNS,
                 "return_unexpected_index_query": False}
ACTIONS = ("quarantine", "warn", "block")
# The suite parameter of expect_table_row_count_to_equal: the rows the manifests declare.
LANDED_ROWS = "landed_rows"


def import_gx():
    """Great Expectations, imported without its analytics and without its INFO chatter (its
    'Skipping registering function' lines would fill the stage log at every import)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations

    return great_expectations


def expectations_dir() -> Path:
    """The folder of the suites: TTHC_EXPECTATIONS_DIR, else the repository's expectations/."""
    configured = (os.environ.get("TTHC_EXPECTATIONS_DIR") or "").strip()
    return Path(configured) if configured else DEFAULT_EXPECTATIONS_DIR


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
    """<expectations dir>/<entity>.json, checked for the meta the pipeline relies on."""
    path = expectations_dir() / f"{entity}.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    seen: set[str] = set()
    for index, expectation in enumerate(document["expectations"]):
        meta = expectation.get("meta") or {}
        if meta.get("action") not in ACTIONS or not meta.get("reason"):
            raise ValueError(
                f"{path} expectation {index}: meta needs action ({'/'.join(ACTIONS)}) and reason"
            )
        if meta["action"] == "quarantine" and not meta.get("reason_vi"):
            raise ValueError(f"{path} expectation {index}: a quarantining rule needs meta.reason_vi")
        name = f"{expectation['type']}|{_column_name(expectation.get('kwargs') or {})}"
        if name in seen:
            raise ValueError(f"{path} expectation {index}: a second {name} (a rule is named by type, "
                             "column and row condition)")
        seen.add(name)
    return document


def required_fields(document: dict[str, Any]) -> list[str]:
    return list((document.get("meta") or {}).get("required_fields") or [])


def _condition_text(condition: Any) -> str:
    """A row condition in words, for the audit's column name: 'SoTien_sent = true'."""
    if isinstance(condition, str):
        return condition
    if isinstance(condition, dict):
        kind = condition.get("type")
        column = (condition.get("column") or {}).get("name", "?")
        if kind == "comparison":
            parameter = condition.get("parameter")
            value = json.dumps(parameter) if not isinstance(parameter, str) else repr(parameter)
            operator = {"==": "="}.get(condition.get("operator"), condition.get("operator"))
            return f"{column} {operator} {value}"
        if kind == "nullity":
            return f"{column} is {'' if condition.get('is_null') else 'not '}null"
        if kind in ("and", "or"):
            parts = [_condition_text(c) for c in condition.get("conditions") or []]
            return f" {kind} ".join(parts)
    return json.dumps(condition, sort_keys=True, default=str)


def _column_name(kwargs: dict[str, Any]) -> str:
    """The audit's column_name: the column(s), and the row condition when there is one."""
    if "column" in kwargs:
        name = str(kwargs["column"])
    elif "column_list" in kwargs:
        name = "+".join(kwargs.get("column_list") or [])
    else:
        name = "*"
    condition = kwargs.get("row_condition")
    if condition:
        name += f" if {_condition_text(condition)}"
    return name


def gx_document(document: dict[str, Any]) -> dict[str, Any]:
    """The suite as GX takes it: each rule's position in meta.rule_index, its notes (Vietnamese,
    English, who fixes it) as GX's `notes` (shown under the rule on the suite's page)."""
    document = copy.deepcopy(document)
    for index, expectation in enumerate(document["expectations"]):
        meta = expectation.setdefault("meta", {})
        meta["rule_index"] = index
        notes = meta.get("notes") or {}
        if notes:
            owner = " / ".join(t for t in (notes.get("owner_vi"), notes.get("owner_en")) if t)
            expectation["notes"] = [
                f"**Tiếng Việt.** {notes.get('vi', '')}",
                f"**English.** {notes.get('en', '')}",
                f"**Ai sửa / Who fixes:** {owner}",
            ]
    return document


class GxRunner:
    """One ephemeral GX context per batch: a pandas data source, a checkpoint per entity, and
    the validation results kept as files in the Data Docs folder (`etl.data_docs.RESULTS`)."""

    def __init__(self, data_docs_dir: Path, run_name: str) -> None:
        gx = import_gx()
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        from etl import data_docs

        self._gx = gx
        self.run_name = run_name
        self.data_docs_dir = data_docs_dir
        defaults = InMemoryStoreBackendDefaults()
        config = DataContextConfig(store_backend_defaults=defaults)
        # The results of every run, as JSON files beside the pages: the Data Docs list the last
        # RETENTION_DAYS of them (pruned by age before each build), so a steward sees a trend.
        config.stores[config.validation_results_store_name] = {
            "class_name": "ValidationResultsStore",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                              "base_directory": str(data_docs_dir / data_docs.RESULTS)},
        }
        self.context = gx.get_context(mode="ephemeral", project_config=config)
        self.context.variables.progress_bars = ProgressBarsConfig(
            globally=False, metric_calculations=False
        )
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
        self._row_filters = _RowConditionMemo()
        self._checkpoints: dict[str, Any] = {}
        self.result_ids: list[Any] = []

    def run(self, entity: str, document: dict[str, Any], frame,
            landed_rows: int | None = None) -> list[ExpectationOutcome]:
        """Validate one frame; `landed_rows` (the manifests' rows) is the suite parameter of the
        row count rule."""
        gx = self._gx
        from great_expectations.core import ExpectationSuite
        from great_expectations.core.run_identifier import RunIdentifier

        # A runner shared by the chunks of one run validates each entity's frames with the
        # checkpoint made for its first frame (the suites of one run are the same).
        checkpoint = self._checkpoints.get(entity)
        if checkpoint is None:
            suite = self.context.suites.add(ExpectationSuite(**gx_document(document)))
            batch = self.source.add_dataframe_asset(entity).add_batch_definition_whole_dataframe(entity)
            definition = self.context.validation_definitions.add(
                gx.ValidationDefinition(name=entity, data=batch, suite=suite)
            )
            checkpoint = self._checkpoints[entity] = self.context.checkpoints.add(
                gx.Checkpoint(name=f"staging-{entity}", validation_definitions=[definition],
                              result_format=RESULT_FORMAT)
            )
        engine = self.source.get_execution_engine()
        with self._row_filters.installed(engine), _configurations_memoized():
            result = checkpoint.run(
                batch_parameters={"dataframe": frame},
                expectation_parameters={LANDED_ROWS: len(frame) if landed_rows is None else int(landed_rows)},
                run_id=RunIdentifier(run_name=self.run_name),
            )
        ((identifier, validation),) = result.run_results.items()
        self.result_ids.append(identifier)
        return [_outcome(entity, r, document) for r in validation.results]

    def build_data_docs(self) -> Path:
        """The pages of this run's results, the index over the kept ones, made to work offline."""
        from etl import data_docs

        began = time.monotonic()
        data_docs.prune(self.data_docs_dir)
        self.context.build_data_docs(site_names=[DATA_DOCS_SITE],
                                     resource_identifiers=list(self.result_ids) or None)
        data_docs.make_offline(self.data_docs_dir)
        log.info("built the Data Docs of run %s in %.1fs", self.run_name, time.monotonic() - began)
        return self.data_docs_dir / "index.html"


class _RowConditionMemo:
    """Each row condition applied once per validation, not once per metric.

    GX's pandas engine filters the whole frame again for every metric of a row-conditioned rule
    (five or six each); the rules of one suite share a handful of conditions (`<Field>_sent`).
    Installed on the engine for one checkpoint run and emptied after it, so a filtered frame
    never outlives the frame it came from (decision 0072)."""

    def __init__(self) -> None:
        self._frames: dict[tuple[int, str], Any] = {}

    @contextlib.contextmanager
    def installed(self, engine):
        apply = type(engine)._apply_row_condition_filter

        def apply_once(data, row_condition, domain_kwargs):
            key = (id(data), json.dumps(_serializable(row_condition), sort_keys=True, default=str))
            filtered = self._frames.get(key)
            if filtered is None:
                filtered = self._frames[key] = apply(engine, data, row_condition, domain_kwargs)
            return filtered

        engine._apply_row_condition_filter = apply_once
        try:
            yield
        finally:
            del engine._apply_row_condition_filter
            self._frames.clear()


@contextlib.contextmanager
def _configurations_memoized():
    """Each expectation's `configuration` built once per validation, not at every read.

    GX 1.24 builds it anew (a pydantic `dict()` and an ExpectationConfiguration) at every read,
    many times per rule: much of what a validation costs whatever its rows. Installed for one
    checkpoint run (GX runs in one thread); the memo keeps each expectation alive, so no id is
    reused while it is installed, and is emptied after the run (decision 0075)."""
    from great_expectations.expectations.expectation import Expectation

    built = Expectation.__dict__["configuration"]
    memo: dict[int, tuple[Any, Any]] = {}

    def configuration(expectation):
        kept = memo.get(id(expectation))
        if kept is None:
            kept = memo[id(expectation)] = (expectation, built.fget(expectation))
        return kept[1]

    Expectation.configuration = property(configuration, doc=built.__doc__)
    try:
        yield
    finally:
        Expectation.configuration = built
        memo.clear()


def _serializable(row_condition: Any) -> Any:
    """A row condition as plain data (GX passes a dict, a Condition or a string)."""
    if hasattr(row_condition, "to_dict"):
        return row_condition.to_dict()
    if hasattr(row_condition, "dict"):
        return row_condition.dict()
    return row_condition


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
    ordinal = int(meta.get("rule_index", len(document["expectations"])))
    kwargs = document["expectations"][ordinal]["kwargs"] if ordinal < len(document["expectations"]) \
        else config.kwargs
    failing = []
    sample = []
    for item in details.get("unexpected_index_list") or []:
        if isinstance(item, dict) and "row_id" in item:
            failing.append(int(item["row_id"]))
    if config.type == "expect_compound_columns_to_be_unique":
        sample = [item for item in (details.get("partial_unexpected_list") or [])[:3]]
    else:
        sample = [
            {"record_key": item.get("record_key"), "value": item.get(config.kwargs.get("column"))}
            if isinstance(item, dict) else item
            for item in (details.get("unexpected_index_list") or details.get("partial_unexpected_list") or [])[:3]
        ]
    if config.type == "expect_table_row_count_to_equal":
        element_count = details.get("observed_value")
        unexpected = None if result.success else abs(int(details.get("observed_value") or 0)
                                                     - int(config.kwargs.get("value") or 0))
    else:
        element_count, unexpected = details.get("element_count"), details.get("unexpected_count")
    return ExpectationOutcome(
        entity=entity,
        expectation=config.type,
        column_name=_column_name(kwargs),
        action=meta.get("action", "warn"),
        reason=meta.get("reason", config.type),
        success=bool(result.success),
        element_count=element_count,
        unexpected_count=unexpected,
        ordinal=ordinal,
        failing_row_ids=failing,
        sample=sample,
    )


class UnchangedOutcomes:
    """The outcomes of a reference list's last validation, reused while neither the list nor its
    suite changed: the lists come every night, nearly always the same, and GX's fixed cost per
    validation, whatever the rows, weighs on a small city's night (decision 0074). One JSON file
    per entity in `folder`; the fingerprint covers the frame (its windows by rank, not by day),
    the suite document, the landed rows and GX's version."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @staticmethod
    def fingerprint(document: dict[str, Any], frame, landed_rows: int) -> str:
        from importlib.metadata import version

        import pandas as pd

        gx_version = version("great_expectations")
        ranked = frame.assign(window_start=frame["window_start"].rank(method="dense"))
        digest = hashlib.sha256()
        digest.update(json.dumps([document, landed_rows, gx_version, list(frame.columns),
                                  [str(t) for t in frame.dtypes]], sort_keys=True).encode())
        digest.update(pd.util.hash_pandas_object(ranked, index=False).to_numpy().tobytes())
        return digest.hexdigest()

    def recall(self, entity: str, fingerprint: str) -> list[ExpectationOutcome] | None:
        path = self.folder / f"{entity}.json"
        try:
            kept = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if kept.get("fingerprint") != fingerprint:
            return None
        try:
            return [ExpectationOutcome(**each) for each in kept["outcomes"]]
        except (KeyError, TypeError):  # kept by a version with other fields: validate again
            return None

    def remember(self, entity: str, fingerprint: str, outcomes: list[ExpectationOutcome]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{entity}.json"
        partial = path.with_name(f".{path.name}.tmp")
        partial.write_text(json.dumps({"fingerprint": fingerprint,
                                       "outcomes": [dataclasses.asdict(o) for o in outcomes]},
                                      default=str), encoding="utf-8")
        os.replace(partial, path)


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
