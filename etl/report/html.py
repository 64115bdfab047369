"""The report's HTML: one self-contained page rendered from etl/report_templates by jinja2."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from etl.contract import KPI_CODES
from etl.report import act as report_act
from etl.report.data import ReportData, targeted_kpis
from etl.report.text import (
    RATE_KPIS, TEXT, _group_label, fmt_basis, fmt_date, fmt_gap, fmt_kpi, fmt_number, fmt_target,
    fmt_timestamp, kpi_label,
)


def _template_env():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).resolve().parent.parent / "report_templates")),
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
        quarantine=quarantine_in(data.quarantine, lang),
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


def quarantine_in(rows: list[dict], lang: str) -> list[dict]:
    """The quarantine reasons in the report's language: audit.quarantine keeps the English text
    of the suites' meta.reason; Vietnamese comes from their meta.reason_vi (etl.rulebook)."""
    if lang != "vi" or not rows:
        return rows
    from etl import rulebook

    try:
        catalogue = rulebook.reasons_vi()
    except (OSError, ValueError):  # no readable suites: the stored English text, unchanged
        return rows
    return [{**row, "reason": rulebook.translate_reasons(row["reason"], catalogue)} for row in rows]
