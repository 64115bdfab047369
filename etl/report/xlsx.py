"""The report's XLSX workbook: the same tables as the HTML report (html.py), as numbers.

Takes the `ReportData` that data.py collected and a language; writes one sheet per table (rates
as fractions formatted %, days as days), the act section's rows with every dossier id the HTML
shortens, and a sheet saying where the figures come from. Nothing is read from the warehouse here.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from etl.contract import KPI_CODES
from etl.report import act as report_act
from etl.report.data import ReportData, targeted_kpis
from etl.report.text import (
    DAY_KPIS, TEXT, _agency_name, _group_label, fmt_number, fmt_target, fmt_timestamp, kpi_label,
)


def write_xlsx(data: ReportData, lang: str, path: Path) -> None:
    """The report's tables as numbers (rates as fractions formatted %, days as days)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    text = TEXT[lang]
    bold = Font(bold=True)
    missed_fill = PatternFill("solid", fgColor="F8D7DA")
    met_fill = PatternFill("solid", fgColor="D4EDDA")
    workbook = Workbook()
    workbook.remove(workbook.active)

    def sheet(title: str, header: list[str]):
        ws = workbook.create_sheet(title[:31])
        ws.append(header)
        for cell in ws[1]:
            cell.font = bold
        ws.freeze_panes = "A2"
        return ws

    def number_format(kpi_code: str) -> str:
        return "0.0" if kpi_code in DAY_KPIS else "0.0%"

    def finish(ws, widths: list[int]) -> None:
        for index, width in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(index)].width = width

    ws = sheet(text["sheet.kpi"], ["kpi_code", text["kpi"], text["value"], text["target"], text["status"],
                                   text["numerator"], text["denominator"], text["previous"]])
    for code in KPI_CODES:
        row = data.city.get(code) or {}
        target = (data.targets.get(code) or {}).get("target")
        met = row.get("met")
        ws.append([code, kpi_label(code, lang), row.get("value"), target,
                   None if met is None else (text["yes"] if met else text["no"]),
                   row.get("numerator"), row.get("denominator"), row.get("previous_value")])
        for column in (3, 4, 8):
            ws.cell(ws.max_row, column).number_format = number_format(code)
        if met is not None:
            ws.cell(ws.max_row, 5).fill = met_fill if met else missed_fill
    finish(ws, [30, 60, 10, 10, 12, 14, 12, 12])

    ws = sheet(text["sheet.trend"], ["kpi_code", text["kpi"], text["month_col"], text["value"], text["target"],
                                     text["numerator"], text["denominator"]])
    order = {code: index for index, code in enumerate(KPI_CODES)}
    for row in sorted(data.trend, key=lambda r: (order.get(r["kpi_code"], len(order)), r["month_start"])):
        ws.append([row["kpi_code"], kpi_label(row["kpi_code"], lang, short=True), f"{row['month_start']:%Y-%m}",
                   row["value"], row["target"], row["numerator"], row["denominator"]])
        ws.cell(ws.max_row, 4).number_format = number_format(row["kpi_code"])
        ws.cell(ws.max_row, 5).number_format = number_format(row["kpi_code"])
    finish(ws, [30, 36, 10, 10, 10, 14, 12])

    ws = sheet(text["sheet.ranking"], ["kpi_code", text["kpi"], text["rank"], text["agency_code"], text["agency"],
                                       text["value"], text["target"], text["gap"], text["status"],
                                       text["numerator"], text["denominator"], text["group"]])
    for code in targeted_kpis(data):
        for row in data.ranking.get(code, []):
            ws.append([code, kpi_label(code, lang, short=True), row["rank"], row["agency_code"], _agency_name(row, text),
                       row["value"], row["target"], row["gap"], text["yes"] if row["met"] else text["no"],
                       row["numerator"], row["denominator"], _group_label(row["row_group"], data, lang)])
            for column in (6, 7, 8):
                ws.cell(ws.max_row, column).number_format = number_format(code)
            if not row["met"]:
                for column in range(1, 12):
                    ws.cell(ws.max_row, column).fill = missed_fill
    finish(ws, [30, 36, 7, 12, 44, 10, 10, 12, 12, 12, 12, 40])

    ws = sheet(text["sheet.score"], [text["rank"], text["agency_code"], text["agency"], text["met_count"],
                                     "/", text["mean_gap"], text["group"]])
    for row in data.score:
        ws.append([row["rank"], row["agency_code"], _agency_name(row, text), row["targets_met"],
                   row["targets_measured"], row["mean_gap"], _group_label(row["row_group"], data, lang)])
        ws.cell(ws.max_row, 6).number_format = "+0.0%;-0.0%"
    finish(ws, [7, 12, 44, 12, 6, 14, 40])

    if data.act.available:
        ws = sheet(text["sheet.act"], [text["agency_code"], text["agency"], text["act_kind"], text["act_code"],
                                       text["act_procedure"] + " / " + text["kpi"], text["act_count"], text["act_detail"]])
        for row in report_act.sheet_rows(data.act, lang, data.period.kind, fmt_target, fmt_number,
                                         lambda code, lang: kpi_label(code, lang, short=True)):
            ws.append(row if row[0] != report_act.CITY else [row[0], text["city"], *row[2:]])
        finish(ws, [14, 40, 28, 20, 50, 10, 80])

    ws = sheet(text["sheet.time"], [text["agency_code"], text["agency"], f"{text['online']}: {text['calendar_days']}",
                                    f"{text['online']}: {text['dossiers']}",
                                    f"{text['offline']}: {text['calendar_days']}",
                                    f"{text['offline']}: {text['dossiers']}"])
    for row in data.time_agency:
        ws.append([row["agency_code"], _agency_name(row, text) if row["agency_code"] != "*" else text["city"], row["online_days"], row["online_dossiers"],
                   row["offline_days"], row["offline_dossiers"]])
        ws.cell(ws.max_row, 3).number_format = "0.0"
        ws.cell(ws.max_row, 5).number_format = "0.0"
    if data.working_days:
        ws.append([])
        ws.append([text["channel"], text["dossiers"], text["working_days"], text["calendar_days"]])
        for cell in ws[ws.max_row]:
            cell.font = bold
        for row in data.working_days:
            ws.append([text[row["channel_group"]], row["dossiers"], row["avg_working_days"], row["avg_calendar_days"]])
    finish(ws, [14, 44, 22, 16, 22, 16])

    ws = sheet(text["sheet.dq"], [text["entity"], text["extracted"], text["loaded"], text["quarantined"],
                                  text["duplicates"]])
    for row in data.run_counts:
        ws.append([row["entity"], row["extracted"], row["loaded"], row["quarantined"], row["duplicates"]])
    ws.append([])
    ws.append([text["entity"], text["reason"], text["records"]])
    for cell in ws[ws.max_row]:
        cell.font = bold
    from etl.report.html import quarantine_in

    for row in quarantine_in(data.quarantine, lang):
        ws.append([row["entity"], row["reason"], row["records"]])
    ws.append([])
    ws.append([text["findings"], text["records"]])
    for cell in ws[ws.max_row]:
        cell.font = bold
    for row in data.findings:
        ws.append([text[f"finding.{row['finding']}"], row["records"]])
    finish(ws, [40, 60, 12, 12, 12])

    ws = sheet(text["sheet.meta"], [text["item"], text["detail"]])
    ws.append([text["title"], data.period.label(lang)])
    ws.append([text["period"], f"{data.period.code} ({data.period.start} – {data.period.end - timedelta(days=1)})"])
    ws.append([text["freshness"], fmt_timestamp(data.freshness, lang, " (UTC+7)")])
    ws.append([text["source"], text["source_value"]])
    for row in data.run_ids:
        ws.append([text["runs"], row["run_id"]])
    ws.append([text["read_from"], text["published_copy"] if data.from_published else text["warehouse"]])
    ws.append([text["generated"], f"{data.generated_at:%Y-%m-%d %H:%M:%S} UTC"])
    ws.append([text["min_records"], data.min_records])
    for code in targeted_kpis(data):
        ws.append([text["targets_source"], f"{code}: {data.targets[code]['source']}"])
    finish(ws, [34, 100])
    workbook.save(path)
