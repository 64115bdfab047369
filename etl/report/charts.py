"""The report's charts: matplotlib figures as inline data-URI SVG (no file, no font fetched)."""
from __future__ import annotations

import base64
import io
from datetime import date
from typing import TYPE_CHECKING

from etl.report.text import RATE_KPIS, TEXT, fmt_number, kpi_label

if TYPE_CHECKING:
    from etl.report.data import ReportData

# Chart colours: used by the charts only (never in the CSS), so the rendering test can find the
# charts' pixels in a screenshot.
COLOR_VALUE = "#1f5fa8"
COLOR_TARGET = "#d35400"
COLOR_OFFLINE = "#7f8c8d"


def _svg_data_uri(figure) -> str:
    """The figure as an inline data-URI SVG: vector for print, self-contained (text as paths)."""
    buffer = io.BytesIO()
    # Fixed margins (set by each chart), not bbox_inches="tight": that draws every figure twice.
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
