"""The monthly and quarterly report (`python -m etl report`): a self-contained HTML file that
headless Chromium renders with charts and tables and no network, and an XLSX workbook holding the
same figures as mart.kpi_value. Built once per module from a small emulated quarter."""
from __future__ import annotations

import base64
import re
import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import pytest

from support import TEST_PII_KEY
from support.report import Dom, MONTH, QUARTER, city_values, cli_reports, etl, mart_rows, quarter_warehouse


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    """A warehouse loaded by the real pipeline from an emulated first quarter of 2023."""
    return quarter_warehouse(tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def reports(settings):
    """The CLI's month report in Vietnamese (default) and quarter report in English."""
    return cli_reports(settings)


# --------------------------------------------------------------------------- CLI and files


def test_cli_writes_one_html_and_one_xlsx_per_period_under_the_warehouse(settings, reports):
    for period, lang in ((MONTH, "vi"), (QUARTER, "en")):
        html, xlsx = reports[period]
        assert html == settings.warehouse_dir / "reports" / f"tthc-report-{period}-{lang}.html"
        assert xlsx == html.with_suffix(".xlsx")
        assert html.stat().st_size > 10_000 and xlsx.stat().st_size > 3_000
    # Nothing but the finished files: no temp files left behind.
    assert sorted(p.name for p in (settings.warehouse_dir / "reports").iterdir()) == sorted(
        p.name for paths in reports.values() for p in paths
    )


def test_bad_or_empty_periods_fail_with_one_clear_line(settings, tmp_path):
    for period, words in (("2023-13", "YYYY-MM"), ("2023-Q5", "YYYY-MM"), ("2019-02", "no KPI values")):
        result = etl("report", "--period", period, "--out", str(tmp_path), settings=settings)
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], result.stderr
    assert not list(tmp_path.iterdir())


def test_html_is_self_contained_and_carries_no_secret(settings, reports):
    for period in (MONTH, QUARTER):
        html_path, xlsx_path = reports[period]
        text = html_path.read_text(encoding="utf-8")
        dom = Dom(text)
        assert not dom.find("script") and not dom.find("link") and not dom.find("iframe")
        assert "http://" not in text and "https://" not in text and "@import" not in text
        for _, attrs in dom.elements:
            for name in ("src", "href", "srcset", "poster", "data"):
                if name in attrs:
                    assert attrs[name].startswith(("data:", "#")), (name, attrs[name][:80])
        images = dom.find("img")
        assert len(images) >= 12
        for image in images:
            assert image["src"].startswith("data:image/svg+xml;base64,")
            svg = base64.b64decode(image["src"].split(",", 1)[1]).decode("utf-8")
            # The SVG's only links are to its own definitions (namespaces are not fetched).
            for link in re.findall(r'(?:xlink:)?href="([^"]*)"', svg):
                assert link.startswith("#"), link
            assert "<image" not in svg and "@font-face" not in svg
        for secret in (settings.api_token, settings.api_url, TEST_PII_KEY):
            assert secret not in text
            assert secret.encode() not in xlsx_path.read_bytes()


# --------------------------------------------------------------------------- the figures


def test_month_html_lists_the_sixteen_city_kpis_with_the_marts_values(settings, reports):
    from etl import report

    expected = city_values(settings, "month", date(2023, 3, 1))
    dom = Dom(reports[MONTH][0].read_text(encoding="utf-8"))
    assert list(dom.kpi_rows) == list(report.KPI_CODES)
    assert expected, "the month has KPI values"
    for code, row in dom.kpi_rows.items():
        if code not in expected:
            assert row["attrs"]["data-value"] == ""
            continue
        value, _, _, target, met = expected[code]
        assert float(row["attrs"]["data-value"]) == value
        assert report.fmt_kpi(code, value, "vi") in row["text"]
        assert row["attrs"]["class"] == ("" if met is None else ("met" if met else "missed"))
        if target is not None:
            assert report.fmt_kpi(code, target, "vi") in row["text"]


def test_quarter_html_ranks_agencies_by_each_target_kpi_and_flags_those_missing_it(settings, reports):
    text = reports[QUARTER][0].read_text(encoding="utf-8")
    assert "Q1 2023" in text
    rows = mart_rows(
        settings.published,
        "SELECT kpi_code, agency_code, value, met FROM mart.kpi_value "
        "WHERE period_type = 'quarter' AND period_start = DATE '2023-01-01' "
        "AND agency_code <> '*' AND target IS NOT NULL",
    )
    assert rows and any(not met for *_, met in rows), "some agency misses some target"
    sections = re.findall(r'<section data-ranking="([A-Z_]+)">(.*?)</section>', text, re.S)
    by_kpi: dict[str, list[tuple]] = {}
    for kpi_code, agency_code, value, met in rows:
        by_kpi.setdefault(kpi_code, []).append((agency_code, value, met))
    assert {code for code, _ in sections} >= set(by_kpi)
    for code, body in sections:
        shown = re.findall(r'<tr class="(met|missed)" data-agency="([^"]+)" data-group="([a-z_]+)">', body)
        expected = by_kpi.get(code, [])
        assert sorted(a for _, a, _ in shown) == sorted(a for a, _, _ in expected)
        values = {a: v for a, v, _ in expected}
        # Ranked agencies by value; those listed apart (too few records, unknown codes) after them.
        order = [values[a] for _, a, group in shown if group == "ranked"]
        assert order == sorted(order, reverse=True), f"{code} not ranked by value"
        flags = {a: m for a, _, m in expected}
        assert all((cls == "met") == flags[a] for cls, a, _ in shown)


def test_xlsx_holds_the_same_figures_as_the_mart(settings, reports):
    from openpyxl import load_workbook

    from etl import report

    for period, lang, period_type, start in ((MONTH, "vi", "month", date(2023, 3, 1)),
                                             (QUARTER, "en", "quarter", date(2023, 1, 1))):
        expected = city_values(settings, period_type, start)
        workbook = load_workbook(reports[period][1], read_only=True)
        text = report.TEXT[lang]
        kpis = list(workbook[text["sheet.kpi"]].iter_rows(min_row=2, values_only=True))
        assert [row[0] for row in kpis] == list(report.KPI_CODES)
        for code, _label, value, target, status, numerator, denominator, _previous in kpis:
            if code not in expected:
                assert value is None
                continue
            mart_value, mart_numerator, mart_denominator, mart_target, met = expected[code]
            # A spreadsheet keeps 15 significant digits (openpyxl writes no more, Excel reads no
            # more): the same figure, to the last digit a spreadsheet can hold.
            assert value == pytest.approx(mart_value, rel=1e-14)
            assert numerator == pytest.approx(mart_numerator, rel=1e-14)
            assert (denominator, target) == (mart_denominator, mart_target)
            assert status == (None if met is None else text["yes" if met else "no"])
        ranking = {
            (row[0], row[3]): (row[5], row[8])
            for row in workbook[text["sheet.ranking"]].iter_rows(min_row=2, values_only=True)
        }
        mart = mart_rows(
            settings.published,
            "SELECT kpi_code, agency_code, value, met FROM mart.kpi_value WHERE period_type = ? "
            "AND period_start = ? AND agency_code <> '*' AND target IS NOT NULL",
            [period_type, start],
        )
        assert set(ranking) == {(k, a) for k, a, _, _ in mart}
        for k, a, v, m in mart:
            assert ranking[k, a] == (pytest.approx(v, rel=1e-14), text["yes" if m else "no"])
        trend = list(workbook[text["sheet.trend"]].iter_rows(min_row=2, values_only=True))
        mart_trend = mart_rows(
            settings.published,
            "SELECT kpi_code, strftime(period_start, '%Y-%m'), value FROM mart.kpi_value "
            "WHERE period_type = 'month' AND agency_code = '*' AND period_start < ? "
            "AND period_start >= ? - INTERVAL 12 MONTH",
            [report.parse_period(period).end, report.parse_period(period).end],
        )
        shown = {(r[0], r[2]): r[3] for r in trend}
        assert set(shown) == {(k, m) for k, m, _ in mart_trend}
        assert all(shown[k, m] == pytest.approx(v, rel=1e-14) for k, m, v in mart_trend)
        workbook.close()


# --------------------------------------------------------------------------- data quality


def quarantined_per_entity(warehouse: Path, start: date, end: date) -> dict[str, int]:
    rows = mart_rows(
        warehouse,
        "SELECT entity, count(*) FROM audit.quarantine WHERE window_start >= ? AND window_start < ? "
        "GROUP BY entity", [start, end],
    )
    return dict(rows)


def data_quality_rows(text: str) -> dict[str, list[str]]:
    section = re.search(r'<section id="data-quality".*?</section>', text, re.S).group(0)
    table = re.search(r'<table class="run-counts">.*?</table>', section, re.S)
    if not table:
        return {}
    return {
        entity: re.findall(r'<td class="num">([^<]*)</td>', cells)
        for entity, cells in re.findall(r'<tr data-entity="([a-z]+)">(.*?)</tr>', table.group(0), re.S)
    }


def test_data_quality_comes_from_the_warehouse_when_the_published_copy_has_no_audit(settings, tmp_path):
    from etl import report

    stripped = tmp_path / "published" / "tthc.duckdb"
    stripped.parent.mkdir()
    shutil.copyfile(settings.published, stripped)
    con = duckdb.connect(str(stripped))
    con.execute("DROP SCHEMA audit CASCADE")
    con.close()
    own = replace(settings, published=stripped)
    files = report.write_report(own, MONTH, "en", tmp_path / "out")
    text = files.html.read_text(encoding="utf-8")

    expected = quarantined_per_entity(settings.warehouse, date(2023, 3, 1), date(2023, 4, 1))
    assert sum(expected.values()) > 0, "the emulator's data has invalid records"
    shown = data_quality_rows(text)
    for entity, count in expected.items():
        assert int(shown[entity][2].replace(",", "")) == count  # the "quarantined" column
    assert report.TEXT["en"]["dq_from_warehouse"] in text
    # The reasons are counted, and no quarantined record (even pseudonymized) is copied out:
    # neither its key nor any of its values that could single a person out.
    assert re.search(r'<table class="quarantine">.*?<td class="num">[1-9]', text, re.S)
    leaks = set()
    for key, record in mart_rows(settings.warehouse, "SELECT record_key, record FROM audit.quarantine"):
        leaks |= {key} if key else set()
        leaks |= set(re.findall(r'"(?:SoGiayToChuHoSoHash|MaHoSo|MaGiaoDich)": *"([^"]{6,})"', record))
    assert leaks and not [value for value in leaks if value in text]

    # Neither copy has the audit tables: the report is still written and says so.
    alone = replace(own, warehouse=tmp_path / "absent" / "tthc.duckdb")
    text = report.write_report(alone, MONTH, "en", tmp_path / "out2").html.read_text(encoding="utf-8")
    assert 'id="dq-unavailable"' in text and not data_quality_rows(text)
    assert "<code>" in re.search(r'<dd id="run-ids">(.*?)</dd>', text, re.S).group(1)


def test_latest_periods_are_what_the_kpi_dag_reports(settings, tmp_path):
    from etl import report

    (latest_month,), (latest_quarter,) = (
        mart_rows(settings.published,
                  "SELECT max(period_start) FROM mart.kpi_value WHERE period_type = ?", [kind])[0]
        for kind in ("month", "quarter")
    )
    own = replace(settings, warehouse=tmp_path / "warehouse" / "tthc.duckdb")  # reports under tmp
    shutil.copytree(settings.published.parent, tmp_path / "published")
    own = replace(own, published=tmp_path / "published" / "tthc.duckdb")
    written = report.write_latest(own)
    month = report.Period("month", latest_month, report.add_months(latest_month, 1))
    quarter = report.Period("quarter", latest_quarter, report.add_months(latest_quarter, 3))
    assert sorted(p.name for p in written) == sorted(
        f"tthc-report-{p.code}-vi.{ext}" for p in (month, quarter) for ext in ("html", "xlsx")
    )
    assert all(p.parent == tmp_path / "warehouse" / "reports" for p in written)
