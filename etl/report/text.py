"""The report's words: every label per language, the number and date formats, the rows' names.

KPI labels come from etl.contract (`KPI_BY_CODE[code].label`); the act section's words live in
etl/report/act.py and are merged into `TEXT` here, so the template and the workbook read one dict.
"""
from __future__ import annotations

import math
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from etl.contract import KPI_BY_CODE, KPI_CODES
from etl.report import act as report_act

if TYPE_CHECKING:
    from etl.report.data import ReportData

DAY_KPIS = frozenset({"AVG_DAYS_ONLINE", "AVG_DAYS_OFFLINE"})
RATE_KPIS = tuple(code for code in KPI_CODES if code not in DAY_KPIS)
LANGS = ("vi", "en")


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

# The act section's words live beside its data (act.py); the template reads one dict.
for _lang, _words in report_act.TEXT.items():
    TEXT[_lang].update(_words)

MONTH_NAMES_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
                  "September", "October", "November", "December")
ROMAN = ("I", "II", "III", "IV")


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


def _agency_name(row: dict[str, Any], text: dict[str, str]) -> str | None:
    """The agency's name, or the flag that its code is not in the agency list."""
    return row.get("agency_name") or (text["unknown_agency"] if row.get("is_inferred") else None)


def _group_label(row_group: str, data: ReportData, lang: str) -> str | None:
    """Why a row has no rank: too few records, or a code not in the agency list."""
    text = TEXT[lang]
    if row_group == "few_records":
        return text["few_records"].format(n=fmt_number(data.min_records, lang))
    return text["unknown_codes"] if row_group == "unknown" else None
