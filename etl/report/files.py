"""The report's files: the HTML and the workbook of a period, written whole or not at all."""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from etl.config import Settings
from etl.report.charts import draw_charts
from etl.report.data import (
    Period, ReportError, _read_only, collect, latest_periods, min_records_setting, parse_period,
    report_source,
)
from etl.report.html import render_html
from etl.report.text import LANGS
from etl.report.xlsx import write_xlsx


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
    _replace_atomically(files.xlsx, lambda p: write_xlsx(data, lang, p))
    return files


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
