"""The month report rendered by headless Chromium: charts and tables drawn, and no request to the
network (the HTML is self-contained). The data behind the report is checked in
tests/integration/test_report.py."""
from __future__ import annotations

import re
from datetime import date

import pytest

from support.report import (
    Dom, MONTH, bands, city_values, cli_reports, colour_rows, mart_rows, page_requests,
    quarter_warehouse, run_chromium,
)


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    """A warehouse loaded by the real pipeline from an emulated first quarter of 2023."""
    return quarter_warehouse(tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def reports(settings):
    """The CLI's month report in Vietnamese (default) and quarter report in English."""
    return cli_reports(settings)


def test_chromium_renders_charts_and_tables_without_the_network(settings, reports, tmp_path):
    from PIL import Image

    from etl import report

    html = reports[MONTH][0]
    png = tmp_path / "report.png"
    shot = run_chromium(f"--screenshot={png}", "--window-size=1280,4000", html.as_uri(),
                        profile=tmp_path / "profile-shot")
    assert png.exists(), shot.stderr[-2000:]
    net_log = tmp_path / "net-log.json"
    dump = run_chromium("--dump-dom", f"--log-net-log={net_log}", html.as_uri(),
                        profile=tmp_path / "profile-dom")
    assert dump.returncode == 0, dump.stderr[-2000:]

    # No request left for the network on the page's behalf. Chromium's own background calls
    # (update checks: initiator "not an origin") are its business, and they fail on the resolver
    # rule anyway; anything the page loaded would carry the file page's origin, "null".
    requests = page_requests(net_log)
    assert requests == [], requests
    # The same check does see a page that loads something (a control: it is not vacuous).
    control = tmp_path / "control.html"
    control.write_text('<p>x</p><img src="https://example.invalid/logo.png">', encoding="utf-8")
    control_log = tmp_path / "control-net-log.json"
    run_chromium("--dump-dom", f"--log-net-log={control_log}", control.as_uri(),
                 profile=tmp_path / "profile-control")
    assert page_requests(control_log) == ["https://example.invalid/logo.png"]

    # The DOM Chromium built holds the sixteen KPI rows with the mart's values, and every chart.
    dom = Dom(dump.stdout)
    assert list(dom.kpi_rows) == list(report.KPI_CODES)
    expected = city_values(settings, "month", date(2023, 3, 1))
    for code, (value, *_rest) in expected.items():
        assert report.fmt_kpi(code, value, "vi") in dom.kpi_rows[code]["text"]
    charts = dom.find("figure")
    assert {c["data-chart"] for c in charts} >= set(report.RATE_KPIS) | {"AVG_DAYS", "processing_time"}

    # The screenshot shows the charts: the series colour (used by charts only, never by the page's
    # CSS) drawn in each column of the 3-column chart grid once per chart of that column (charts
    # of one column are further apart than 40 px; a series is a connected line), and the targets.
    image = Image.open(png)
    assert image.size == (1280, 4000)
    css = re.search(r"<style>.*?</style>", html.read_text(encoding="utf-8"), re.S).group(0).lower()
    assert report.COLOR_VALUE not in css and report.COLOR_TARGET not in css
    # The charts in grid order, and which have a series (no pilot file here: its KPI has none).
    with_data = {code for (code,) in mart_rows(
        settings.published, "SELECT DISTINCT kpi_code FROM mart.kpi_value WHERE period_type = 'month' "
        "AND agency_code = '*' AND period_start < DATE '2023-04-01' AND period_start >= DATE '2022-04-01'")}
    drawn = [code in with_data for code in report.RATE_KPIS] + ["AVG_DAYS_ONLINE" in with_data]
    left, right = (1280 - 1180) // 2 + 24, (1280 + 1180) // 2 - 24  # body: max-width 1180, padding 24
    third = (right - left) // 3
    series_bands = []
    for column in range(3):
        found = bands(colour_rows(image, report.COLOR_VALUE, columns=(left + column * third, left + (column + 1) * third)))
        assert len(found) >= sum(drawn[column::3]), (column, found)
        series_bands += found
    series_bands.sort()
    target_bands = bands(colour_rows(image, report.COLOR_TARGET))
    assert target_bands, "target lines drawn"
    # The page is not blank above the charts either: the KPI table's text is there.
    top = image.convert("L").crop((0, 0, 1280, series_bands[0][0]))
    assert top.getextrema()[0] < 80
