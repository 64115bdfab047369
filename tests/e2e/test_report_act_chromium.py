"""The report's section "Việc cần làm" / "What to act on" rendered by headless Chromium with the
network blocked: its figures are those of the marts (mart.kpi_gap, mart.focus_procedure,
mart.pilot_compliance, mart.pilot_agency_registrations). The same warehouse as
tests/integration/test_report_act.py (support.report_act.act_warehouse), built again here (one
pipeline run for the module)."""
from __future__ import annotations

import re
from collections import defaultdict

import pytest

from support.report import page_requests, run_chromium
from support.report_act import (
    MARCH, MONTH, act_page, act_reports, act_warehouse, articles, mart,
)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """Settings of a warehouse whose pilot file registers, for all of March, the first pairs (by
    agency code) that took paper dossiers in March; and those served paper dossiers."""
    return act_warehouse(tmp_path_factory.mktemp("report-act"))


@pytest.fixture(scope="module")
def reports(warehouse, tmp_path_factory):
    return act_reports(warehouse["settings"], tmp_path_factory.mktemp("act-reports"))


# --------------------------------------------------------------------------- the section


def test_chromium_renders_the_act_section_with_the_marts_figures(warehouse, reports, tmp_path):
    from PIL import Image

    from etl.report import act as report_act

    settings, html = warehouse["settings"], reports[MONTH].html
    net_log = tmp_path / "net-log.json"
    dump = run_chromium("--dump-dom", f"--log-net-log={net_log}", html.as_uri(), profile=tmp_path / "profile-dom")
    assert dump.returncode == 0, dump.stderr[-2000:]
    assert page_requests(net_log) == []
    cards = articles(dump.stdout)

    # Pilot days: every registered pair that took paper in March, with its count and ids, as the
    # mart has them; the ids are dossiers the API served on paper for that pair.
    pilot = {
        (a, p): (paper, ids)
        for a, p, paper, ids in mart(settings, """
            SELECT agency_code, procedure_code, sum(paper_on_pilot_days), list_sort(flatten(list(paper_dossier_ids)))
            FROM mart.pilot_compliance WHERE month_start = ? GROUP BY ALL HAVING sum(paper_on_pilot_days) > 0""",
            [MARCH])
    }
    assert pilot, "the pilot file registers pairs that took paper dossiers in March"
    served = defaultdict(set)
    for r in warehouse["paper"]:
        served[r["MaDonVi"].strip(), r["MaTTHC"].strip()].add(r["MaHoSo"].strip())
    shown_pilot = {}
    for agency, body in cards.items():
        table = re.search(r'<table class="pilot">.*?</table>', body, re.S)
        for procedure, paper, cells in re.findall(
                r'<tr data-procedure="([^"]+)" data-paper="(\d+)">(.*?)</tr>', table.group(0) if table else "", re.S):
            ids = re.findall(r"<code>([^<]+)</code>", re.search(r'<td class="ids">(.*?)</td>', cells, re.S).group(1))
            shown_pilot[agency, procedure] = (int(paper), ids)
    assert set(shown_pilot) == set(pilot)
    for pair, (paper, ids) in pilot.items():
        assert shown_pilot[pair] == (paper, ids[:report_act.IDS_SHOWN])
        assert set(ids) <= served[pair] and pair in warehouse["pairs"]
    city_pilot = mart(settings, "SELECT denominator - numerator FROM mart.kpi_value WHERE period_type = 'month' "
                                "AND period_start = ? AND agency_code = '*' AND kpi_code = 'PILOT_PAPER_FREE_RATE'",
                      [MARCH])[0][0]
    assert sum(paper for paper, _ in pilot.values()) == city_pilot

    # Fewer than two registrations: the agencies of the view flagged so.
    flagged = {a for (a,) in mart(settings, "SELECT agency_code FROM mart.pilot_agency_registrations WHERE fewer_than_two")}
    shown_flagged = {a for a, body in cards.items() if 'class="registration"' in body}
    assert flagged and shown_flagged == flagged
    registered = dict(mart(settings, "SELECT agency_code, registered_procedures FROM mart.pilot_agency_registrations"))
    for agency in flagged:
        assert f'data-registered="{registered[agency]}"' in cards[agency]

    # Internal procedures on paper: per agency, all together what INTERNAL_ONLINE_RATE misses.
    internal_missed = dict(mart(settings, """
        SELECT agency_code, denominator - numerator FROM mart.kpi_value WHERE period_type = 'month'
        AND period_start = ? AND kpi_code = 'INTERNAL_ONLINE_RATE' AND agency_code <> '*' AND numerator < denominator""",
        [MARCH]))
    assert internal_missed, "some internal dossiers were received on paper"
    shown_internal = {}
    for agency, body in cards.items():
        table = re.search(r'<table class="internal">.*?</table>', body, re.S)
        counts = re.findall(r'data-paper="(\d+)"', table.group(0)) if table else []
        if counts:
            shown_internal[agency] = sum(map(int, counts))
    assert shown_internal == internal_missed

    # Focus procedures: the agency's top procedures by paper dossiers, with the ONLINE_RATE points.
    focus = defaultdict(list)
    for agency, procedure, paper, gain in mart(settings, """
            SELECT f.agency_code, f.procedure_code, f.paper_received, 100.0 * f.paper_received / v.denominator
            FROM mart.focus_procedure AS f JOIN mart.kpi_value AS v
              ON v.period_type = 'month' AND v.period_start = f.month_start AND v.agency_code = f.agency_code
             AND v.kpi_code = 'ONLINE_RATE'
            WHERE f.month_start = ? ORDER BY f.agency_code, f.paper_received DESC, f.procedure_code""", [MARCH]):
        focus[agency].append((procedure, paper, gain))
    assert focus
    for agency, rows in focus.items():
        table = re.search(r'<table class="focus">.*?</table>', cards[agency], re.S).group(0)
        shown = re.findall(r'<tr data-procedure="([^"]+)" data-paper="(\d+)">', table)
        assert shown == [(p, str(n)) for p, n, _ in rows[:report_act.FOCUS_TOP]]
        procedure, _, gain = rows[0]
        assert f"+{gain:.1f}".replace(".", ",") in re.search(
            rf'<tr data-procedure="{re.escape(procedure)}".*?</tr>', table, re.S).group(0)

    # Only agencies with something to act on, each once; the city first.
    gaps = {a for (a,) in mart(settings, "SELECT DISTINCT agency_code FROM mart.kpi_gap WHERE period_type = 'month' "
                                         "AND period_start = ? AND records_needed > 0", [MARCH])}
    assert set(cards) == gaps | set(focus) | {a for a, _ in pilot} | flagged | set(internal_missed)
    assert next(iter(cards)) == "*"
    # Dossiers are named by MaHoSo only: no applicant's name or number reaches the report.
    for r in warehouse["paper"]:
        for name in ("ChuHoSo", "SoGiayToChuHoSo", "SoDienThoai"):
            value = str(r.get(name) or "").strip()
            assert len(value) < 6 or value not in dump.stdout

    # The section drawn: a screenshot of it alone has its dark text and the cards' borders.
    page = tmp_path / "act.html"
    page.write_text(act_page(html.read_text(encoding="utf-8")), encoding="utf-8")
    png = tmp_path / "act.png"
    run_chromium(f"--screenshot={png}", "--hide-scrollbars", "--window-size=1280,1600", page.as_uri(),
                 profile=tmp_path / "profile-shot")
    image = Image.open(png).convert("L")
    assert image.size == (1280, 1600)
    dark = sum(1 for value in image.getdata() if value < 100)
    assert dark > 20_000, "the section's text and tables are drawn"
