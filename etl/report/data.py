"""The report's figures: the period asked for, and everything it shows read into `ReportData`.

It only reads: the published copy (settings.published) when present, else the warehouse, both
opened read-only. The audit tables may be absent from a published copy; the data-quality figures
then come from the warehouse, and when that cannot be opened either (a writer holds it) the
report says so instead of failing. All the arithmetic is in `sql/report/*.sql`; Python formats.
No personal data is read: quarantine reasons are counted, records never selected.
"""
from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from etl.config import Settings
from etl.contract import KPI_CODES, KPIS
from etl.report import act as report_act
from etl.report.text import MONTH_NAMES_EN, ROMAN, TEXT
from etl.warehouse import read_sql

TREND_MONTHS = 12
# Their denominator is the agency's whole catalogue, not a sample of the period's records: every
# agency of the list is ranked by them, whatever its size (kpis.md "catalogue at end of P").
CATALOGUE_KPIS: tuple[str, ...] = tuple(kpi.code for kpi in KPIS if kpi.catalogue)
# Fewer records than this and a rate is luck (1 dossier, 100 %): the agency is listed, not ranked.
DEFAULT_MIN_RECORDS = 20
MIN_RECORDS_ENV = "TTHC_REPORT_MIN_RECORDS"


class ReportError(RuntimeError):
    """The report cannot be made (bad period, no warehouse, no data); the message says why."""


@dataclass(frozen=True)
class Period:
    kind: str  # month | quarter
    start: date
    end: date  # exclusive

    @property
    def code(self) -> str:
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"

    @property
    def months(self) -> int:
        return 1 if self.kind == "month" else 3

    def previous(self) -> "Period":
        return Period(self.kind, add_months(self.start, -self.months), self.start)

    def label(self, lang: str) -> str:
        text = TEXT[lang]
        if self.kind == "month":
            return text["month"].format(month=self.start.month, year=self.start.year,
                                        month_name=MONTH_NAMES_EN[self.start.month - 1])
        q = (self.start.month - 1) // 3 + 1
        return text["quarter"].format(q=q, roman=ROMAN[q - 1], year=self.start.year)


def add_months(day: date, months: int) -> date:
    """The first of the month `months` after (or before) day's month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


_PERIOD_RE = re.compile(r"^(\d{4})-(?:(0[1-9]|1[0-2])|[Qq]([1-4]))$")


def parse_period(text: str) -> Period:
    """`2023-11` (a month) or `2023-Q4` (a quarter)."""
    match = _PERIOD_RE.match(text.strip())
    if not match:
        raise ReportError(f"not a period: {text!r} (expected YYYY-MM or YYYY-Qn, e.g. 2023-11 or 2023-Q4)")
    year, month, quarter = match.groups()
    if month:
        start = date(int(year), int(month), 1)
        return Period("month", start, add_months(start, 1))
    start = date(int(year), 3 * int(quarter) - 2, 1)
    return Period("quarter", start, add_months(start, 3))


@dataclass
class ReportData:
    period: Period
    source_path: Path
    from_published: bool
    city: dict[str, dict[str, Any]]
    targets: dict[str, dict[str, Any]]
    trend: list[dict[str, Any]]
    trend_months: list[date]
    ranking: dict[str, list[dict[str, Any]]]
    score: list[dict[str, Any]]
    time_agency: list[dict[str, Any]]
    working_days: list[dict[str, Any]] | None
    freshness: datetime | None
    audit_origin: str | None  # "published" | "warehouse" | None (unavailable)
    min_records: int = DEFAULT_MIN_RECORDS
    act: report_act.ActSection = field(default_factory=lambda: report_act.ActSection(False, []))
    run_counts: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    run_ids: list[dict[str, Any]] = field(default_factory=list)
    generated_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


def _rows(con, sql_file: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The rows of `sql/report/<sql_file>` as dicts; only the parameters the file uses are bound."""
    sql = read_sql(f"report/{sql_file}")
    used = {name: value for name, value in (params or {}).items() if f"${name}" in sql}
    cursor = con.execute(sql, used)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _has_relation(con, schema: str, name: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, name],
    ).fetchall()
    return bool(found[0][0])


def report_source(settings: Settings) -> tuple[Path, bool]:
    """The file to read: the published copy when present (no lock to wait on), else the warehouse."""
    if Path(settings.published).exists():
        return Path(settings.published), True
    if Path(settings.warehouse).exists():
        return Path(settings.warehouse), False
    raise ReportError(f"no warehouse at {settings.warehouse}: run `python -m etl run` first")


@contextlib.contextmanager
def _read_only(path: Path) -> Iterator[Any]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        yield con
    finally:
        con.close()


def _has_audit(con) -> bool:
    return _has_relation(con, "audit", "run_counts") and _has_relation(con, "audit", "quarantine")


@contextlib.contextmanager
def _audit_connection(con, settings: Settings, from_published: bool) -> Iterator[tuple[Any, str | None]]:
    """The connection holding the audit tables: the report's own, else the warehouse's (read-only);
    (None, None) when neither has them or a writer holds the warehouse's lock."""
    if _has_audit(con):
        yield con, ("published" if from_published else "warehouse")
        return
    warehouse = Path(settings.warehouse)
    if not from_published or not warehouse.exists():
        yield None, None
        return
    import duckdb

    try:
        audit_con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error:  # locked by the pipeline: the report says so rather than fail
        yield None, None
        return
    try:
        yield (audit_con, "warehouse") if _has_audit(audit_con) else (None, None)
    finally:
        audit_con.close()


def collect(con, settings: Settings, period: Period, source_path: Path, from_published: bool,
            min_records: int = DEFAULT_MIN_RECORDS) -> ReportData:
    """Everything the report shows, read from an open (read-only) warehouse connection."""
    trend_end = period.end
    trend_first = add_months(trend_end, -TREND_MONTHS)
    params = {
        "period_type": period.kind,
        "period_start": period.start,
        "period_end": period.end,
        "previous_start": period.previous().start,
        "trend_first": trend_first,
        "trend_end": trend_end,
        "min_records": min_records,
        "census_kpis": list(CATALOGUE_KPIS),
    }
    city = {row["kpi_code"]: row for row in _rows(con, "city_kpis.sql", params)}
    if not city:
        raise ReportError(
            f"no KPI values for {period.kind} {period.code} in {source_path}: "
            "load that period first (`python -m etl run`)"
        )
    ranking: dict[str, list[dict[str, Any]]] = {}
    for row in _rows(con, "ranking.sql", params):
        ranking.setdefault(row["kpi_code"], []).append(row)
    working_days = (
        _rows(con, "working_days.sql", params)
        if _has_relation(con, "mart", "processing_time_working_days") else None
    )
    findings = (
        _rows(con, "dq_findings.sql", params)
        if _has_relation(con, "mart", "dq_dossier_without_procedure_version")
        and _has_relation(con, "mart", "dq_finished_without_received") else []
    )
    data = ReportData(
        period=period,
        source_path=source_path,
        from_published=from_published,
        city=city,
        targets={row["kpi_code"]: row for row in _rows(con, "targets.sql")},
        trend=_rows(con, "trend.sql", params),
        trend_months=[add_months(trend_first, i) for i in range(TREND_MONTHS)],
        ranking=ranking,
        score=_rows(con, "agency_score.sql", params),
        time_agency=_rows(con, "processing_time_agency.sql", params),
        working_days=working_days,
        freshness=_rows(con, "freshness.sql")[0]["latest_update"],
        audit_origin=None,
        findings=findings,
        min_records=min_records,
        act=report_act.collect(con, _rows, _has_relation, params, KPI_CODES),
    )
    with _audit_connection(con, settings, from_published) as (audit_con, origin):
        data.audit_origin = origin
        if audit_con is not None:
            data.run_counts = _rows(audit_con, "dq_run_counts.sql", params)
            data.quarantine = _rows(audit_con, "dq_quarantine.sql", params)
            data.run_ids = _rows(audit_con, "run_ids.sql", params)
    if not data.run_ids:
        data.run_ids = _rows(con, "run_ids_from_facts.sql", params)
    return data


def targeted_kpis(data: ReportData) -> list[str]:
    """The KPIs with a target, in kpis.md order: the ones agencies are ranked by."""
    return [code for code in KPI_CODES if (data.targets.get(code) or {}).get("target") is not None]


def min_records_setting(value: int | None = None) -> int:
    """The ranking's minimum records: the argument, else TTHC_REPORT_MIN_RECORDS, else 20."""
    if value is None:
        raw = os.environ.get(MIN_RECORDS_ENV, "").strip()
        if not raw:
            return DEFAULT_MIN_RECORDS
        try:
            value = int(raw)
        except ValueError:
            raise ReportError(f"{MIN_RECORDS_ENV}={raw!r} is not a whole number") from None
    if value < 1:
        raise ReportError(f"the minimum records to rank an agency must be at least 1, not {value}")
    return value


def latest_periods(settings: Settings) -> list[Period]:
    """The latest month and quarter present in mart.kpi_value (what the KPI DAG reports)."""
    path, _ = report_source(settings)
    with _read_only(path) as con:
        rows = con.execute(
            "SELECT period_type, max(period_start) FROM mart.kpi_value "
            "WHERE period_type IN ('month', 'quarter') GROUP BY period_type ORDER BY period_type DESC"
        ).fetchall()
    return [Period(kind, start, add_months(start, 1 if kind == "month" else 3)) for kind, start in rows]
