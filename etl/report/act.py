"""The report's section "Việc cần làm" / "What to act on": per agency, what it can do next.

Takes an open read-only warehouse connection and a period; gives an `ActSection`: for the city and
each agency with something to act on, its missed targets as the records that would have met them
(mart.kpi_gap), the procedures offered online that took the most paper dossiers
(mart.focus_procedure), the paper dossiers received on its paper-free pilot days
(mart.pilot_compliance), whether it registered the two pilot procedures
(mart.pilot_agency_registrations), and its internal procedures received on paper
(core.fact_dossier). The arithmetic is in `sql/report/act_*.sql`; this module groups the rows by
agency and words them. A warehouse published before those views gives `available=False`, and the
report says so instead of failing. Dossiers are named by MaHoSo only: no personal data is read.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

# The views the section reads (sql/marts/views): an older published copy lacks them.
REQUIRED_VIEWS: tuple[str, ...] = ("focus_procedure", "pilot_compliance", "pilot_agency_registrations", "kpi_gap")
FOCUS_TOP = 3  # procedures named per agency: a short list an office can act on this month
IDS_SHOWN = 12  # MaHoSo shown per procedure in the HTML; the workbook lists them all
CITY = "*"

TEXT: dict[str, dict[str, str]] = {
    "vi": {
        "act": "4. Việc cần làm",
        "act_note": "Theo từng cơ quan, đơn vị (chỉ những nơi có việc cần làm): số hồ sơ còn thiếu để đạt "
                    "từng chỉ tiêu chưa đạt; TTHC đã cung cấp DVCTT nhưng còn nhận nhiều hồ sơ giấy "
                    "(Điều 2.4); hồ sơ giấy nhận trong ngày thí điểm không tiếp nhận hồ sơ giấy và đăng ký "
                    "thí điểm (Điều 2.3); TTHC nội bộ vẫn nhận hồ sơ giấy (Điều 2.2).",
        "act_unavailable": "Bản dữ liệu này được công bố trước khi có các bảng tổng hợp của mục này "
                           "(mart.focus_procedure, mart.pilot_compliance, mart.pilot_agency_registrations, "
                           "mart.kpi_gap); mục này sẽ có sau lần tính chỉ tiêu tiếp theo (`python -m etl kpi`).",
        "act_nothing": "Không có việc cần làm: mọi chỉ tiêu đều đạt, không có hồ sơ giấy cần xem lại.",
        "act_gaps": "Chỉ tiêu chưa đạt",
        "act_gap_sentence": "{n} {unit} nữa trong {period} này thì đạt {target}",
        "act_period.month": "tháng",
        "act_period.quarter": "quý",
        "act_focus": "TTHC cần tập trung chuyển sang trực tuyến",
        "act_procedure": "Thủ tục",
        "act_level": "Mức độ DVCTT",
        "act_paper": "Hồ sơ giấy",
        "act_gain": "Tỷ lệ trực tuyến tăng thêm",
        "act_pilot": "Hồ sơ giấy nhận trong ngày thí điểm",
        "act_paper_of": "Hồ sơ giấy / tổng số",
        "act_dossier_ids": "Mã hồ sơ",
        "act_more_ids": "và {n} hồ sơ khác",
        "act_registrations": "Đăng ký thí điểm: mới {n}/2 TTHC",
        "act_registrations_toan_trinh": "trong đó {n} TTHC toàn trình",
        "act_no_registration": "Chưa có đăng ký thí điểm ngày không tiếp nhận hồ sơ giấy nào (tệp TTHC_PILOT_FILE).",
        "act_internal": "TTHC nội bộ nhận hồ sơ giấy",
        "level.TOAN_TRINH": "Toàn trình",
        "level.MOT_PHAN": "Một phần",
        "sheet.act": "Việc cần làm",
        "act_kind": "Loại việc",
        "act_code": "Mã chỉ tiêu / TTHC",
        "act_count": "Số lượng",
        "act_detail": "Chi tiết",
        "kind.gap": "Chỉ tiêu chưa đạt",
        "kind.focus": "TTHC cần tập trung",
        "kind.pilot": "Hồ sơ giấy ngày thí điểm",
        "kind.registration": "Đăng ký thí điểm dưới 2 TTHC",
        "kind.internal": "TTHC nội bộ nhận hồ sơ giấy",
    },
    "en": {
        "act": "4. What to act on",
        "act_note": "Per agency (only those with something to act on): the records that would have met "
                    "each missed target; the procedures offered online that still took the most paper "
                    "dossiers (Art. 2.4); paper dossiers taken on the paper-free pilot days, and the "
                    "pilot registrations (Art. 2.3); internal procedures still received on paper (Art. 2.2).",
        "act_unavailable": "This copy of the data was published before this section's views "
                           "(mart.focus_procedure, mart.pilot_compliance, mart.pilot_agency_registrations, "
                           "mart.kpi_gap); the section appears after the next KPI run (`python -m etl kpi`).",
        "act_nothing": "Nothing to act on: every target met, no paper dossier to review.",
        "act_gaps": "Targets missed",
        "act_gap_sentence": "{n} more {unit} this {period} would have met {target}",
        "act_period.month": "month",
        "act_period.quarter": "quarter",
        "act_focus": "Procedures to move online first",
        "act_procedure": "Procedure",
        "act_level": "Online service level",
        "act_paper": "Paper dossiers",
        "act_gain": "Online rate gained",
        "act_pilot": "Paper dossiers taken on pilot days",
        "act_paper_of": "Paper / all",
        "act_dossier_ids": "Dossier ids",
        "act_more_ids": "and {n} more",
        "act_registrations": "Pilot registrations: {n} of 2 procedures",
        "act_registrations_toan_trinh": "{n} of them full-process online",
        "act_no_registration": "No paper-free pilot day is registered at all (file TTHC_PILOT_FILE).",
        "act_internal": "Internal procedures received on paper",
        "level.TOAN_TRINH": "Full process",
        "level.MOT_PHAN": "Partial",
        "sheet.act": "What to act on",
        "act_kind": "Kind",
        "act_code": "KPI / procedure code",
        "act_count": "Count",
        "act_detail": "Detail",
        "kind.gap": "Target missed",
        "kind.focus": "Procedure to move online",
        "kind.pilot": "Paper on pilot days",
        "kind.registration": "Fewer than 2 pilot registrations",
        "kind.internal": "Internal procedure on paper",
    },
}


@dataclass
class AgencyActions:
    """What one agency (or the city, code `*`) has to act on in the period."""

    agency_code: str
    agency_name: str | None
    unknown: bool  # a code inferred from the facts or absent from the agency list
    gaps: list[dict[str, Any]] = field(default_factory=list)
    focus: list[dict[str, Any]] = field(default_factory=list)
    pilot: list[dict[str, Any]] = field(default_factory=list)
    registration: dict[str, Any] | None = None
    internal: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_city(self) -> bool:
        return self.agency_code == CITY


@dataclass(frozen=True)
class ActSection:
    available: bool
    agencies: list[AgencyActions]
    no_registration: bool = False  # no pilot registered anywhere: said once, not per agency


def collect(con, rows: Callable[..., list[dict[str, Any]]], has_relation: Callable[..., bool],
            params: dict[str, Any], kpi_order: tuple[str, ...]) -> ActSection:
    """The section's figures for the period in params ($period_type, $period_start, $period_end);
    `rows` runs a sql/report file, `has_relation` looks a view up (both from data.py)."""
    if not all(has_relation(con, "mart", view) for view in REQUIRED_VIEWS):
        return ActSection(available=False, agencies=[])
    params = {**params, "focus_top": FOCUS_TOP}
    registrations = rows(con, "act_pilot_registrations.sql", params)
    # No registration at all: every agency would be flagged; the city office is told once instead.
    no_registration = all(r["registered_procedures"] == 0 for r in registrations)
    agencies = group_by_agency(
        gaps=rows(con, "act_gaps.sql", params),
        focus=rows(con, "act_focus.sql", params),
        pilot=rows(con, "act_pilot.sql", params),
        registrations=[] if no_registration else [r for r in registrations if r["fewer_than_two"]],
        internal=rows(con, "act_internal_paper.sql", params),
        kpi_order=kpi_order,
    )
    return ActSection(available=True, agencies=agencies, no_registration=no_registration)


def group_by_agency(*, gaps, focus, pilot, registrations, internal, kpi_order) -> list[AgencyActions]:
    """One AgencyActions per code found in any list: the city first, then the agency list's codes
    in code order, then the unknown codes; gaps in kpis.md's order."""
    found: dict[str, AgencyActions] = {}

    def agency(row: dict[str, Any]) -> AgencyActions:
        code = row["agency_code"]
        if code not in found:
            found[code] = AgencyActions(code, row.get("agency_name"), bool(row.get("unknown_agency")))
        return found[code]

    order = {code: index for index, code in enumerate(kpi_order)}
    for row in sorted(gaps, key=lambda r: order.get(r["kpi_code"], len(order))):
        agency(row).gaps.append(row)
    for row in focus:
        agency(row).focus.append(row)
    for row in pilot:
        agency(row).pilot.append(row)
    for row in registrations:
        agency(row).registration = row
    for row in internal:
        agency(row).internal.append(row)
    return sorted(found.values(), key=lambda a: (not a.is_city, a.unknown, a.agency_code))


def gap_sentence(row: dict[str, Any], period_kind: str, lang: str, fmt_target: Callable[[float, str], str],
                 fmt_count: Callable[[int, str], str]) -> str:
    """'38 hồ sơ nộp trực tuyến từ xa nữa trong tháng này thì đạt 50 %' / '38 more dossiers filed
    online remotely this month would have met 50 %': the distance in the unit people act on."""
    text = TEXT[lang]
    return text["act_gap_sentence"].format(
        n=fmt_count(row["records_needed"], lang),
        unit=row["unit_vi" if lang == "vi" else "unit_en"],
        period=text[f"act_period.{period_kind}"],
        target=fmt_target(row["target"], lang),
    )


def sheet_rows(section: ActSection, lang: str, period_kind: str, fmt_target, fmt_count,
               kpi_label: Callable[[str, str], str]) -> list[list[Any]]:
    """The section as workbook rows: agency code, name, kind, KPI or procedure code, label, count,
    detail (every MaHoSo, where the HTML shows the first few)."""
    text = TEXT[lang]
    out: list[list[Any]] = []
    for a in section.agencies:
        head = [a.agency_code, a.agency_name]
        for g in a.gaps:
            out.append(head + [text["kind.gap"], g["kpi_code"], kpi_label(g["kpi_code"], lang), g["records_needed"],
                               gap_sentence(g, period_kind, lang, fmt_target, fmt_count)])
        for f in a.focus:
            out.append(head + [text["kind.focus"], f["procedure_code"], f["procedure_name"], f["paper_received"],
                               text.get(f"level.{f['service_level']}", f["service_level"])])
        for p in a.pilot:
            out.append(head + [text["kind.pilot"], p["procedure_code"], p["procedure_name"],
                               p["paper_on_pilot_days"], ", ".join(p["paper_dossier_ids"])])
        if a.registration:
            out.append(head + [text["kind.registration"], None, None, a.registration["registered_procedures"], None])
        for i in a.internal:
            out.append(head + [text["kind.internal"], i["procedure_code"], i["procedure_name"], i["paper_received"],
                               text.get(f"level.{i['service_level']}", i["service_level"])])
    return out
