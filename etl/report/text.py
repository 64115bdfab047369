"""The monthly and quarterly report on online public services (`python -m etl report`).

Each month and quarter the city reports its figures to the province and ranks its agencies by
them (Art. 3 of the city decision in ../shared/reference). This module turns the marts into that
report: ONE self-contained HTML file (inline CSS, charts as inline data-URI SVG drawn by
matplotlib, no script, no font or anything else fetched) that prints on A4, and an XLSX workbook
holding the same tables as numbers (etl/report_xlsx.py). Agencies are ranked only with enough
records (`min_records`); the section "Việc cần làm" (etl/report_act.py) tells each what to act on.

It only reads: the published copy (settings.published) when present, else the warehouse, both
opened read-only. The audit tables may be absent from a published copy; the data-quality figures
then come from the warehouse, and when that cannot be opened either (a writer holds it) the
report says so instead of failing. All the arithmetic is in `sql/report/*.sql`; Python formats.
No personal data is read: quarantine reasons are counted, records never selected.
"""
from __future__ import annotations

import base64
import contextlib
import io
import math
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

from etl import report_act
from etl.config import Settings
from etl.contract import KPI_BY_CODE, KPI_CODES, KPIS
from etl.warehouse import read_sql

DAY_KPIS = frozenset({"AVG_DAYS_ONLINE", "AVG_DAYS_OFFLINE"})
RATE_KPIS = tuple(code for code in KPI_CODES if code not in DAY_KPIS)
LANGS = ("vi", "en")
TREND_MONTHS = 12
# Their denominator is the agency's whole catalogue, not a sample of the period's records: every
# agency of the list is ranked by them, whatever its size (kpis.md "catalogue at end of P").
CATALOGUE_KPIS: tuple[str, ...] = tuple(kpi.code for kpi in KPIS if kpi.catalogue)
# Fewer records than this and a rate is luck (1 dossier, 100 %): the agency is listed, not ranked.
DEFAULT_MIN_RECORDS = 20
MIN_RECORDS_ENV = "TTHC_REPORT_MIN_RECORDS"


# Every other word of the report, per language.
TEXT: dict[str, dict[str, str]] = {
    "vi": {
        "title": "Báo cáo kết quả cung cấp, sử dụng dịch vụ công trực tuyến",
        "month": "Tháng {month}/{year}",
        "quarter": "Quý {roman}/{year}",
        "from_to": "từ {first} đến {last}",
        "partial": "Kỳ chưa đủ số liệu: dữ liệu đến {last}",
        "authority": "Số liệu toàn thành phố và các cơ quan, đơn vị, UBND cấp xã",
        "basis": "Chỉ tiêu theo Quyết định triển khai giải pháp nâng cao chất lượng, hiệu quả sử dụng "
                 "dịch vụ công trực tuyến năm 2023 của Chủ tịch UBND thành phố Bà Rịa (lộ trình đến "
                 "tháng 11/2023) và Quyết định 766/QĐ-TTg (2022)",
        "glance": "Tóm tắt",
        "targets_met": "chỉ tiêu đạt",
        "of_targets": "trên {n} chỉ tiêu có mục tiêu",
        "city_kpis": "1. Kết quả thực hiện các chỉ tiêu toàn thành phố",
        "kpi": "Chỉ tiêu",
        "value": "Kết quả",
        "target": "Mục tiêu",
        "status": "Đánh giá",
        "met": "Đạt",
        "missed": "Không đạt",
        "no_target": "—",
        "basis_col": "Tử số / mẫu số",
        "previous": "Kỳ trước",
        "no_data": "không có số liệu",
        "trend": "2. Diễn biến 12 tháng gần nhất",
        "trend_note": "Đường liền: kết quả toàn thành phố theo tháng; đường đứt: mục tiêu.",
        "ranking": "3. Xếp hạng cơ quan, đơn vị theo từng chỉ tiêu",
        "ranking_note": "Dòng tô đỏ: cơ quan, đơn vị không đạt mục tiêu của chỉ tiêu. Chỉ xếp hạng cơ quan, "
                        "đơn vị trong danh mục có từ {n} hồ sơ (giao dịch) trở lên được tính vào chỉ tiêu "
                        "trong kỳ (chỉ tiêu về danh mục TTHC: mọi cơ quan, đơn vị); các đơn vị khác và các "
                        "mã không có trong danh mục được liệt kê riêng, không xếp hạng.",
        "few_records": "Chưa xếp hạng: dưới {n} hồ sơ (giao dịch) trong kỳ",
        "unknown_codes": "Mã đơn vị không có trong danh mục (không xếp hạng)",
        "score": "Tổng hợp: số chỉ tiêu đạt của từng cơ quan, đơn vị",
        "rank": "Hạng",
        "agency": "Cơ quan, đơn vị",
        "agency_code": "Mã đơn vị",
        "city": "Toàn thành phố",
        "unknown_agency": "(mã không có trong danh mục đơn vị)",
        "gap": "Chênh lệch so với mục tiêu",
        "met_count": "Chỉ tiêu đạt",
        "mean_gap": "Chênh lệch bình quân",
        "no_agency": "Không có cơ quan, đơn vị nào có số liệu cho chỉ tiêu này trong kỳ.",
        "missed_count": "{n}/{m} cơ quan, đơn vị không đạt",
        "time": "5. Thời gian xử lý hồ sơ trực tuyến so với xử lý hồ sơ trực tiếp",
        "time_note": "Ngày lịch: từ tiếp nhận đến kết thúc xử lý. Ngày làm việc: không tính thứ Bảy, "
                     "Chủ nhật và ngày lễ, Tết.",
        "channel": "Hình thức",
        "online": "Trực tuyến",
        "offline": "Trực tiếp, bưu chính",
        "calendar_days": "Ngày lịch (bình quân)",
        "days_trend": "Thời gian xử lý bình quân (ngày lịch)",
        "working_days": "Ngày làm việc (bình quân)",
        "dossiers": "Số hồ sơ",
        "difference": "Chênh lệch (ngày)",
        "days": "ngày",
        "no_working_days": "Không có số liệu ngày làm việc trong kho dữ liệu.",
        "dq": "6. Chất lượng dữ liệu của kỳ",
        "dq_note": "Bản ghi bị cách ly không được tính vào chỉ tiêu; lý do theo kiểm tra dữ liệu.",
        "entity": "Loại dữ liệu",
        "extracted": "Đã trích xuất",
        "loaded": "Đã nạp",
        "quarantined": "Bị cách ly",
        "duplicates": "Trùng lặp",
        "reason": "Lý do",
        "records": "Số bản ghi",
        "no_quarantine": "Không có bản ghi nào bị cách ly trong kỳ.",
        "dq_unavailable": "Không đọc được bảng kiểm soát (audit) trong bản công bố lẫn kho dữ liệu.",
        "dq_from_warehouse": "Bảng kiểm soát đọc từ kho dữ liệu (không có trong bản công bố).",
        "findings": "Hồ sơ bị loại khỏi một chỉ tiêu",
        "finding.dossier_without_procedure_version":
            "Hồ sơ không có phiên bản TTHC hiệu lực tại ngày tiếp nhận (loại khỏi tỷ lệ hồ sơ có thanh toán "
            "trực tuyến và tỷ lệ hồ sơ TTHC nội bộ tiếp nhận trực tuyến)",
        "finding.finished_without_received":
            "Hồ sơ đã xử lý xong nhưng thiếu ngày tiếp nhận (loại khỏi thời gian xử lý)",
        "entity.dossier": "Hồ sơ",
        "entity.payment": "Giao dịch thanh toán",
        "entity.agency": "Danh mục đơn vị",
        "entity.procedure": "Danh mục TTHC",
        "meta": "7. Nguồn và độ mới của số liệu",
        "period": "Kỳ báo cáo",
        "freshness": "Cập nhật mới nhất đã nạp (NgayCapNhat)",
        "source": "Nguồn",
        "source_value": "TTHC export API (Hệ thống thông tin giải quyết TTHC tỉnh)",
        "runs": "Lượt nạp (run id)",
        "read_from": "Đọc từ",
        "published_copy": "bản công bố (chỉ đọc)",
        "warehouse": "kho dữ liệu",
        "generated": "Lập lúc",
        "targets_source": "Căn cứ mục tiêu",
        "page": "Trang",
        "sheet.kpi": "Chỉ tiêu",
        "sheet.trend": "Diễn biến",
        "sheet.ranking": "Xếp hạng",
        "sheet.score": "Tổng hợp đơn vị",
        "sheet.time": "Thời gian xử lý",
        "sheet.dq": "Chất lượng dữ liệu",
        "sheet.meta": "Thông tin",
        "group": "Nhóm",
        "gap_short": "Chênh lệch",
        "basis_short": "Tử số / mẫu số",
        "min_records": "Số hồ sơ tối thiểu để xếp hạng",
        "month_col": "Tháng",
        "numerator": "Tử số",
        "denominator": "Mẫu số",
        "yes": "Đạt",
        "no": "Không đạt",
        "item": "Mục",
        "detail": "Nội dung",
    },
    "en": {
        "title": "Online public services report",
        "month": "{month_name} {year}",
        "quarter": "Q{q} {year}",
        "from_to": "{first} to {last}",
        "partial": "Incomplete period: data up to {last}",
        "authority": "City-wide figures and every agency and commune People's Committee",
        "basis": "Targets of the Bà Rịa City People's Committee decision on online public services "
                 "(2023, roadmap to November 2023) and Decision 766/QĐ-TTg (2022)",
        "glance": "At a glance",
        "targets_met": "targets met",
        "of_targets": "out of {n} KPIs with a target",
        "city_kpis": "1. City-wide KPIs",
        "kpi": "KPI",
        "value": "Value",
        "target": "Target",
        "status": "Status",
        "met": "Met",
        "missed": "Missed",
        "no_target": "—",
        "basis_col": "Numerator / denominator",
        "previous": "Previous period",
        "no_data": "no data",
        "trend": "2. The last 12 months",
        "trend_note": "Solid line: city-wide monthly value; dashed line: target.",
        "ranking": "3. Agencies ranked by each target KPI",
        "ranking_note": "Rows in red: agencies missing the KPI's target. Ranked: the agencies of the agency "
                        "list with at least {n} dossiers (payments) counted by the KPI in the period (for the "
                        "procedure-catalogue KPIs, every agency); the others, and codes not in the agency "
                        "list, are listed apart, unranked.",
        "few_records": "Not ranked: fewer than {n} dossiers (payments) in the period",
        "unknown_codes": "Codes not in the agency list (not ranked)",
        "score": "Summary: targets met by each agency",
        "rank": "Rank",
        "agency": "Agency",
        "agency_code": "Code",
        "city": "Whole city",
        "unknown_agency": "(code not in the agency list)",
        "gap": "Gap to target",
        "met_count": "Targets met",
        "mean_gap": "Mean gap",
        "no_agency": "No agency has figures for this KPI in the period.",
        "missed_count": "{n} of {m} agencies missed it",
        "time": "5. Processing time: online vs in person",
        "time_note": "Calendar days: from reception to end of processing. Working days exclude "
                     "weekends and public holidays (Tết included).",
        "channel": "Channel",
        "online": "Online",
        "offline": "In person, postal",
        "calendar_days": "Calendar days (mean)",
        "days_trend": "Mean processing time (calendar days)",
        "working_days": "Working days (mean)",
        "dossiers": "Dossiers",
        "difference": "Difference (days)",
        "days": "days",
        "no_working_days": "No working-day figures in the warehouse.",
        "dq": "6. Data quality of the period",
        "dq_note": "Quarantined records are left out of every KPI; reasons as found by validation.",
        "entity": "Entity",
        "extracted": "Extracted",
        "loaded": "Loaded",
        "quarantined": "Quarantined",
        "duplicates": "Duplicates",
        "reason": "Reason",
        "records": "Records",
        "no_quarantine": "No record of the period was quarantined.",
        "dq_unavailable": "The audit tables could be read neither from the published copy nor from the warehouse.",
        "dq_from_warehouse": "Audit tables read from the warehouse (absent from the published copy).",
        "findings": "Dossiers left out of one KPI",
        "finding.dossier_without_procedure_version":
            "Dossiers whose procedure has no version valid on the received date (left out of dossiers paid "
            "online and of internal dossiers online)",
        "finding.finished_without_received":
            "Finished dossiers without a received date (left out of processing time)",
        "entity.dossier": "Dossiers",
        "entity.payment": "Payments",
        "entity.agency": "Agency list",
        "entity.procedure": "Procedure list",
        "meta": "7. Source and freshness",
        "period": "Period",
        "freshness": "Latest update loaded (NgayCapNhat)",
        "source": "Source",
        "source_value": "TTHC export API (provincial TTHC information system)",
        "runs": "Pipeline runs (run id)",
        "read_from": "Read from",
        "published_copy": "published copy (read-only)",
        "warehouse": "warehouse",
        "generated": "Generated",
        "targets_source": "Target sources",
        "page": "Page",
        "sheet.kpi": "KPIs",
        "sheet.trend": "Trend",
        "sheet.ranking": "Ranking",
        "sheet.score": "Agency summary",
        "sheet.time": "Processing time",
        "sheet.dq": "Data quality",
        "sheet.meta": "About",
        "group": "Group",
        "gap_short": "Gap",
        "basis_short": "Num. / den.",
        "min_records": "Minimum records to be ranked",
        "month_col": "Month",
        "numerator": "Numerator",
        "denominator": "Denominator",
        "yes": "Met",
        "no": "Missed",
        "item": "Item",
        "detail": "Detail",
    },
}

# The act section's words live beside its data (etl/report_act.py); the template reads one dict.
for _lang, _words in report_act.TEXT.items():
    TEXT[_lang].update(_words)

MONTH_NAMES_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
                  "September", "October", "November", "December")
ROMAN = ("I", "II", "III", "IV")

# Chart colours: used by the charts only (never in the CSS), so the rendering test can find the
# charts' pixels in a screenshot.
COLOR_VALUE = "#1f5fa8"
COLOR_TARGET = "#d35400"
COLOR_OFFLINE = "#7f8c8d"


class ReportError(RuntimeError):
    """The report cannot be made (bad period, no warehouse, no data); the message says why."""


# --------------------------------------------------------------------------- periods


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


# --------------------------------------------------------------------------- reading


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


# --------------------------------------------------------------------------- formatting


def fmt_number(value: float | int | None, lang: str, decimals: int = 0) -> str:
    """Vietnamese writes 1.234,5; English 1,234.5."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    text = f"{value:,.{decimals}f}"
    if lang == "vi":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def fmt_kpi(kpi_code: str, value: float | None, lang: str) -> str:
    if value is None:
        return "—"
    if kpi_code in DAY_KPIS:
        return f"{fmt_number(value, lang, 1)} {TEXT[lang]['days']}"
    return f"{fmt_number(value * 100, lang, 1)}%"


def fmt_gap(kpi_code: str, gap: float | None, lang: str) -> str:
    if gap is None:
        return "—"
    sign = "+" if gap >= 0 else "−"
    if kpi_code in DAY_KPIS:
        return f"{sign}{fmt_number(abs(gap), lang, 1)}"
    return f"{sign}{fmt_number(abs(gap) * 100, lang, 1)} {'điểm %' if lang == 'vi' else 'pts'}"


def fmt_basis(kpi_code: str, numerator: float | None, denominator: int | None, lang: str) -> str:
    if denominator is None:
        return ""
    decimals = 1 if kpi_code in DAY_KPIS else 0
    return f"{fmt_number(numerator, lang, decimals)} / {fmt_number(denominator, lang)}"


def fmt_target(value: float, lang: str) -> str:
    """A target as the decision writes it: 50 %, not 50,0%."""
    percent = round(value * 100, 1)
    return f"{fmt_number(percent, lang, 0 if percent.is_integer() else 1)} %"


def fmt_date(day: date, lang: str) -> str:
    return f"{day:%d/%m/%Y}"


def fmt_timestamp(moment: datetime | None, lang: str, suffix: str = "") -> str:
    if moment is None:
        return "—"
    return f"{moment:%d/%m/%Y %H:%M}{suffix}"


def kpi_label(kpi_code: str, lang: str, short: bool = False) -> str:
    kpi = KPI_BY_CODE.get(kpi_code)
    return kpi_code if kpi is None else kpi.label(lang, short)


# --------------------------------------------------------------------------- charts


def _svg_data_uri(figure) -> str:
    """The figure as an inline data-URI SVG: vector for print, self-contained (text as paths)."""
    buffer = io.BytesIO()
    # Fixed margins (set by each chart) rather than bbox_inches="tight": that draws every
    # figure twice, and the charts are most of the report's run time.
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _pyplot():
    """matplotlib with the Agg backend, imported only when a report is drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({
        "svg.fonttype": "path",  # glyphs as outlines: no font needed to open the file
        "svg.hashsalt": "tthc-report",  # stable ids, so the same data gives the same file
        "font.family": "DejaVu Sans",  # bundled with matplotlib; covers Vietnamese
        "font.size": 8,
        "axes.spines.top": False,
        "axes.spines.right": False,
    })
    return plt


def _month_ticks(axes, months: list[date]) -> None:
    """Month numbers, with the year on the first month and every January: 12 labels that fit."""
    axes.set_xticks(range(len(months)))
    axes.set_xticklabels(
        [f"{m.month}/{m.year % 100:02d}" if i == 0 or m.month == 1 else str(m.month) for i, m in enumerate(months)],
        fontsize=6.5,
    )


def trend_chart(data: ReportData, kpi_code: str, lang: str) -> str:
    """The city's monthly value of one rate over the trend window, with its target line."""
    plt = _pyplot()
    from matplotlib.ticker import FuncFormatter

    by_month = {row["month_start"]: row["value"] for row in data.trend if row["kpi_code"] == kpi_code}
    months = data.trend_months
    values = [by_month.get(month, float("nan")) for month in months]
    target = (data.targets.get(kpi_code) or {}).get("target")
    figure, axes = plt.subplots(figsize=(3.5, 1.9), dpi=100)
    figure.subplots_adjust(left=0.12, right=0.98, top=0.86, bottom=0.2)
    try:
        positions = list(range(len(months)))
        axes.plot(positions, [v * 100 for v in values], color=COLOR_VALUE, linewidth=2.2,
                  marker="o", markersize=3.5)
        if target is not None:
            axes.axhline(target * 100, color=COLOR_TARGET, linestyle="--", linewidth=1.6)
        current = [i for i, m in enumerate(months) if data.period.start <= m < data.period.end]
        if current:
            axes.axvspan(current[0] - 0.5, current[-1] + 0.5, color="#eef3fa", zorder=0)
        axes.set_ylim(0, 105)
        axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}%"))
        _month_ticks(axes, months)
        axes.set_title(kpi_label(kpi_code, lang, short=True), fontsize=9, loc="left")
        axes.grid(axis="y", color="#dddddd", linewidth=0.6)
        return _svg_data_uri(figure)
    finally:
        plt.close(figure)


def days_trend_chart(data: ReportData, lang: str) -> str:
    """Online vs in-person mean processing days over the trend window."""
    plt = _pyplot()

    months = data.trend_months
    positions = list(range(len(months)))
    figure, axes = plt.subplots(figsize=(3.5, 1.9), dpi=100)
    figure.subplots_adjust(left=0.12, right=0.98, top=0.86, bottom=0.2)
    try:
        for kpi_code, color, name in (
            ("AVG_DAYS_ONLINE", COLOR_VALUE, TEXT[lang]["online"]),
            ("AVG_DAYS_OFFLINE", COLOR_OFFLINE, TEXT[lang]["offline"]),
        ):
            by_month = {r["month_start"]: r["value"] for r in data.trend if r["kpi_code"] == kpi_code}
            axes.plot(positions, [by_month.get(m, float("nan")) for m in months], color=color,
                      linewidth=2.2, marker="o", markersize=3.5, label=name)
        axes.set_ylim(bottom=0)
        _month_ticks(axes, months)
        axes.set_title(TEXT[lang]["days_trend"], fontsize=9, loc="left")
        axes.legend(fontsize=7, frameon=False, loc="lower left")
        axes.grid(axis="y", color="#dddddd", linewidth=0.6)
        return _svg_data_uri(figure)
    finally:
        plt.close(figure)


def processing_time_chart(data: ReportData, lang: str) -> str:
    """The period's mean processing time, online vs in person, in calendar and working days."""
    plt = _pyplot()

    text = TEXT[lang]
    city = data.city
    groups = [(text["calendar_days"], (city.get("AVG_DAYS_ONLINE") or {}).get("value"),
               (city.get("AVG_DAYS_OFFLINE") or {}).get("value"))]
    if data.working_days:
        by_channel = {row["channel_group"]: row["avg_working_days"] for row in data.working_days}
        groups.append((text["working_days"], by_channel.get("online"), by_channel.get("offline")))
    figure, axes = plt.subplots(figsize=(5.2, 0.9 + 0.8 * len(groups)), dpi=100)
    figure.subplots_adjust(left=0.3, right=0.97, top=0.85, bottom=0.3 if len(groups) > 1 else 0.4)
    try:
        height = 0.36
        for index, (name, online, offline) in enumerate(groups):
            y = len(groups) - 1 - index
            for shift, value, color in ((height / 2, online, COLOR_VALUE), (-height / 2, offline, COLOR_OFFLINE)):
                if value is None:
                    continue
                axes.barh(y + shift, value, height=height, color=color)
                axes.text(value, y + shift, f" {fmt_number(value, lang, 1)}", va="center", fontsize=7.5)
        axes.set_yticks(range(len(groups)))
        axes.set_yticklabels([name for name, _, _ in reversed(groups)])
        from matplotlib.patches import Patch

        axes.legend(handles=[Patch(color=COLOR_VALUE, label=text["online"]),
                             Patch(color=COLOR_OFFLINE, label=text["offline"])],
                    fontsize=7, frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2)
        axes.set_xlim(right=max([v for _, a, b in groups for v in (a, b) if v is not None] or [1]) * 1.15)
        axes.set_xlabel(text["days"])
        axes.grid(axis="x", color="#dddddd", linewidth=0.6)
        return _svg_data_uri(figure)
    finally:
        plt.close(figure)


def draw_charts(data: ReportData, lang: str) -> dict[str, str]:
    charts = {code: trend_chart(data, code, lang) for code in RATE_KPIS}
    charts["AVG_DAYS"] = days_trend_chart(data, lang)
    charts["processing_time"] = processing_time_chart(data, lang)
    return charts


# --------------------------------------------------------------------------- HTML


def _template_env():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).resolve().parent / "report_templates")),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals.update(
        fmt_kpi=fmt_kpi, fmt_gap=fmt_gap, fmt_basis=fmt_basis, fmt_number=fmt_number,
        fmt_date=fmt_date, fmt_timestamp=fmt_timestamp, kpi_label=kpi_label, fmt_target=fmt_target,
    )
    return env


def targeted_kpis(data: ReportData) -> list[str]:
    """The KPIs with a target, in kpis.md order: the ones agencies are ranked by."""
    return [code for code in KPI_CODES if (data.targets.get(code) or {}).get("target") is not None]


def render_html(data: ReportData, charts: dict[str, str], lang: str) -> str:
    text = TEXT[lang]
    period = data.period
    city_rows = []
    for code in KPI_CODES:
        row = data.city.get(code)
        target = (data.targets.get(code) or {}).get("target")
        city_rows.append({
            "code": code,
            "row": row,
            "target": target,
            "status": None if row is None or row["met"] is None else ("met" if row["met"] else "missed"),
        })
    measured = [r for r in city_rows if r["status"] is not None]
    last_day = period.end - timedelta(days=1)
    sources = sorted({row["source"] for row in data.targets.values() if row.get("source")})
    return _template_env().get_template("report.html.j2").render(
        lang=lang,
        t=text,
        period=period,
        period_label=period.label(lang),
        period_range=text["from_to"].format(first=fmt_date(period.start, lang), last=fmt_date(last_day, lang)),
        city_rows=city_rows,
        met_count=sum(1 for r in measured if r["status"] == "met"),
        measured_count=len(measured),
        charts=charts,
        rate_kpis=RATE_KPIS,
        ranked_kpis=targeted_kpis(data),
        ranking=data.ranking,
        min_records=data.min_records,
        act=data.act,
        ids_shown=report_act.IDS_SHOWN,
        group_heading=lambda group: _group_label(group, data, lang),
        gap_sentence=lambda row: report_act.gap_sentence(row, period.kind, lang, fmt_target, fmt_number),
        score=data.score,
        time_agency=data.time_agency,
        working_days=data.working_days,
        run_counts=data.run_counts,
        quarantine=data.quarantine,
        findings=data.findings,
        audit_origin=data.audit_origin,
        run_ids=data.run_ids,
        freshness=fmt_timestamp(data.freshness, lang, " (UTC+7)"),
        # A period the loaded data does not reach the end of yet (this month, this quarter).
        partial=(text["partial"].format(last=fmt_date(data.freshness.date(), lang))
                 if data.freshness is not None and data.freshness.date() < last_day else None),
        generated=fmt_timestamp(data.generated_at.astimezone(_local_tz()).replace(tzinfo=None), lang, " (UTC+7)"),
        read_from=text["published_copy"] if data.from_published else text["warehouse"],
        target_sources=sources,
        targets=data.targets,
    )


def _local_tz():
    from zoneinfo import ZoneInfo

    from etl.contract import LOCAL_TZ

    return ZoneInfo(LOCAL_TZ)


# --------------------------------------------------------------------------- row labels (HTML and XLSX)


def _agency_name(row: dict[str, Any], text: dict[str, str]) -> str | None:
    """The agency's name, or the flag that its code is not in the agency list."""
    return row.get("agency_name") or (text["unknown_agency"] if row.get("is_inferred") else None)


def _group_label(row_group: str, data: ReportData, lang: str) -> str | None:
    """Why a row has no rank: too few records, or a code not in the agency list."""
    text = TEXT[lang]
    if row_group == "few_records":
        return text["few_records"].format(n=fmt_number(data.min_records, lang))
    return text["unknown_codes"] if row_group == "unknown" else None


# --------------------------------------------------------------------------- files


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    xlsx: Path


def default_out_dir(settings: Settings) -> Path:
    return settings.warehouse_dir / "reports"


def _replace_atomically(path: Path, write) -> None:
    """Write beside the target then os.replace it: a reader never opens half a report."""
    staged = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(staged)
        os.replace(staged, path)
    finally:
        staged.unlink(missing_ok=True)


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


def write_report(settings: Settings, period: Period | str, lang: str = "vi", out: Path | None = None,
                 *, min_records: int | None = None) -> ReportFiles:
    """Write `tthc-report-<period>-<lang>.html` and `.xlsx` under `out` (default <warehouse>/reports);
    agencies with fewer than `min_records` records in a KPI are listed apart, not ranked."""
    if lang not in LANGS:
        raise ReportError(f"unknown language {lang!r}: use one of {', '.join(LANGS)}")
    period = parse_period(period) if isinstance(period, str) else period
    minimum = min_records_setting(min_records)
    path, from_published = report_source(settings)
    with _read_only(path) as con:
        data = collect(con, settings, period, path, from_published, minimum)
    charts = draw_charts(data, lang)
    html = render_html(data, charts, lang)
    out_dir = Path(out) if out is not None else default_out_dir(settings)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"tthc-report-{period.code}-{lang}"
    files = ReportFiles(out_dir / f"{stem}.html", out_dir / f"{stem}.xlsx")
    _replace_atomically(files.html, lambda p: p.write_text(html, encoding="utf-8"))
    from etl.report_xlsx import write_xlsx

    _replace_atomically(files.xlsx, lambda p: write_xlsx(data, lang, p))
    return files


def latest_periods(settings: Settings) -> list[Period]:
    """The latest month and quarter present in mart.kpi_value (what the KPI DAG reports)."""
    path, _ = report_source(settings)
    with _read_only(path) as con:
        rows = con.execute(
            "SELECT period_type, max(period_start) FROM mart.kpi_value "
            "WHERE period_type IN ('month', 'quarter') GROUP BY period_type ORDER BY period_type DESC"
        ).fetchall()
    return [Period(kind, start, add_months(start, 1 if kind == "month" else 3)) for kind, start in rows]


def write_latest(settings: Settings, langs: tuple[str, ...] = ("vi",), *, min_records: int | None = None) -> list[Path]:
    """The reports of the latest month and quarter (the KPI DAG's last task); returns the files.

    Vietnamese only by default: it is the report's official language, and each language costs
    the charts again; English is one `python -m etl report --lang en` away.
    """
    written: list[Path] = []
    for period in latest_periods(settings):
        for lang in langs:
            files = write_report(settings, period, lang, min_records=min_records)
            written += [files.html, files.xlsx]
    return written
