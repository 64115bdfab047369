"""The monthly and quarterly report on online public services (`python -m etl report`).

Each month and quarter the city reports its figures to the province and ranks its agencies by
them (Art. 3 of the city decision in ../shared/reference). This package turns the marts into that
report: ONE self-contained HTML file (inline CSS, charts as inline data-URI SVG drawn by
matplotlib, no script, no font or anything else fetched) that prints on A4, and an XLSX workbook
holding the same tables as numbers. Agencies are ranked only with enough records
(`min_records`); the section "Việc cần làm" tells each what to act on.

Modules: data (the period and the figures read into `ReportData`), text (the words and number
formats), charts (matplotlib SVG), html (the template), xlsx (the workbook), act (the section
"Việc cần làm"), files (writing both files of a period). Callers import from `etl.report`.
"""
from __future__ import annotations

from etl.contract import KPI_CODES
from etl.report.charts import (
    COLOR_OFFLINE, COLOR_TARGET, COLOR_VALUE, days_trend_chart, draw_charts, processing_time_chart,
    trend_chart,
)
from etl.report.data import (
    CATALOGUE_KPIS, DEFAULT_MIN_RECORDS, MIN_RECORDS_ENV, TREND_MONTHS, Period, ReportData,
    ReportError, add_months, collect, latest_periods, min_records_setting, parse_period,
    report_source, targeted_kpis,
)
from etl.report.files import ReportFiles, default_out_dir, write_latest, write_report
from etl.report.html import render_html
from etl.report.text import (
    DAY_KPIS, LANGS, MONTH_NAMES_EN, RATE_KPIS, ROMAN, TEXT, fmt_basis, fmt_date, fmt_gap, fmt_kpi,
    fmt_number, fmt_target, fmt_timestamp, kpi_label,
)
from etl.report.xlsx import write_xlsx

__all__ = [
    "CATALOGUE_KPIS", "COLOR_OFFLINE", "COLOR_TARGET", "COLOR_VALUE", "DAY_KPIS", "DEFAULT_MIN_RECORDS",
    "KPI_CODES", "LANGS", "MIN_RECORDS_ENV", "MONTH_NAMES_EN", "RATE_KPIS", "ROMAN", "TEXT", "TREND_MONTHS",
    "Period", "ReportData", "ReportError", "ReportFiles", "add_months", "collect", "days_trend_chart",
    "default_out_dir", "draw_charts", "fmt_basis", "fmt_date", "fmt_gap", "fmt_kpi", "fmt_number",
    "fmt_target", "fmt_timestamp", "kpi_label", "latest_periods", "min_records_setting", "parse_period",
    "processing_time_chart", "render_html", "report_source", "targeted_kpis", "trend_chart",
    "write_latest", "write_report", "write_xlsx",
]
