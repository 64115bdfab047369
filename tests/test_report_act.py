"""The report's section "Việc cần làm" / "What to act on" and the rankings an official can trust.

One emulated February-March 2023, loaded by the real pipeline with a pilot registration file
written from the paper dossiers the emulator served in March (so the pilot days have violations),
and the month's report in Vietnamese and the quarter's in English. Chromium renders the section
with the network blocked; its figures are those of the marts (mart.kpi_gap, mart.focus_procedure,
mart.pilot_compliance, mart.pilot_agency_registrations) and agree with mart.kpi_value.

Module-scoped like tests/test_report.py (one pipeline run for every test here), hence
start_emulator and settings_under rather than the function-scoped emulator_factory/settings_for.
"""
from __future__ import annotations

import csv
import re
import shutil
import unicodedata
from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime

import duckdb
import pytest
import requests

from conftest import settings_under, start_emulator
from test_report import CHROMIUM, etl, page_requests, run_chromium

MONTH, QUARTER = "2023-03", "2023-Q1"
MARCH, APRIL = date(2023, 3, 1), date(2023, 4, 1)


# --------------------------------------------------------------------------- fixtures


def received_day(value) -> date | None:
    """The local day of a source timestamp (yyyyMMddHHmmss or dd/MM/yyyy HH:mm:ss); None otherwise."""
    text = str(value or "").strip()
    for pattern, layout in ((r"\d{14}", "%Y%m%d%H%M%S"), (r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}", "%d/%m/%Y %H:%M:%S")):
        if re.fullmatch(pattern, text):
            return datetime.strptime(text, layout).date()
    return None


def paper_dossiers_served(emu) -> list[dict]:
    """Every dossier state the API served as received in March on paper (KenhThucHien 1 or 3,
    TrangThaiHoSo not 1 or 3), read leniently: the pipeline decides which are valid and latest."""
    paper, page = [], 1
    while True:
        response = requests.get(
            f"{emu.url}/api/v1/hoso", headers={"Authorization": f"Bearer {emu.token}"}, timeout=60,
            params={"tuNgay": "2023-02-01T00:00:00+07:00", "denNgay": "2023-04-01T00:00:00+07:00",
                    "trang": page, "soBanGhi": 5000})
        response.raise_for_status()
        records = response.json()["duLieu"]
        if not records:
            return paper
        for r in records:
            day = received_day(r.get("NgayTiepNhan"))
            channel = unicodedata.normalize("NFC", str(r.get("KenhThucHien")).strip())
            if (channel in ("1", "3", "Trực tiếp", "Bưu chính công ích") and str(r.get("TrangThaiHoSo")).strip() not in ("1", "3")
                    and day is not None and MARCH <= day < APRIL and str(r.get("MaDonVi") or "").strip()
                    and str(r.get("MaTTHC") or "").strip()):
                paper.append(r)
        page += 1


def pilot_pairs(paper: list[dict]) -> list[tuple[str, str]]:
    """Two pairs of each of the first two agencies (by code) that took paper in March, one of the
    third: violations at all three, and one agency with fewer than the two registrations asked."""
    by_agency = defaultdict(set)
    for r in paper:
        by_agency[r["MaDonVi"].strip()].add(r["MaTTHC"].strip())
    agencies = sorted(a for a, procedures in by_agency.items() if len(procedures) >= 2)[:3]
    return [(a, p) for a, n in zip(agencies, (2, 2, 1)) for p in sorted(by_agency[a])[:n]]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """Settings of a warehouse whose pilot file registers, for all of March, the first pairs (by
    agency code) that took paper dossiers in March; and those served paper dossiers."""
    from etl import pipeline

    root = tmp_path_factory.mktemp("report-act")
    emu = start_emulator(seed=31, start="2023-02-01", end="2023-04-01", dossiers_per_day=30,
                         extra=["--unknown-ref-rate", "0.02"])
    try:
        settings = settings_under(root, emu)
        paper = paper_dossiers_served(emu)
        pairs = pilot_pairs(paper)
        pilot_file = root / "pilot.csv"
        with pilot_file.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["MaDonVi", "MaTTHC", "TuNgay", "DenNgay", "Thu"])
            for agency, procedure in pairs:
                writer.writerow([agency, procedure, "2023-03-01", "31/3/2023", ""])
        settings = replace(settings, pilot_file=pilot_file)
        pipeline.run(settings, date(2023, 2, 1), APRIL, progress=False)
    finally:
        emu.stop()  # by PID; the report needs no source
    return {"settings": settings, "paper": paper, "pairs": pairs}


@pytest.fixture(scope="module")
def reports(warehouse, tmp_path_factory):
    from etl import report

    out = tmp_path_factory.mktemp("act-reports")
    settings = warehouse["settings"]
    return {
        MONTH: report.write_report(settings, MONTH, "vi", out),
        QUARTER: report.write_report(settings, QUARTER, "en", out),
    }


def mart(settings, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(settings.published), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def section(text: str) -> str:
    return re.search(r'<section id="act".*?</section>', text, re.S).group(0)


def articles(text: str) -> dict[str, str]:
    """The act section's cards by agency code."""
    return dict(re.findall(r'<article class="act-agency[^"]*" data-agency="([^"]+)">(.*?)</article>',
                           section(text), re.S))


def shown_number(text: str) -> int:
    """The leading count of a gap sentence, in either language's thousands separator."""
    return int(re.match(r"[\d.,]+", text.strip()).group(0).replace(".", "").replace(",", ""))


def act_page(text: str) -> str:
    """The report's head (its CSS) with the act section alone: what the screenshot shows."""
    head = re.search(r"^.*?<body>", text, re.S).group(0)
    return head + section(text).replace(' class="page-break"', "", 1) + "</body></html>"


# --------------------------------------------------------------------------- pure parts


def test_every_kpi_of_kpis_md_is_listed_once_in_its_order_with_both_labels():
    from etl import kpi, report

    assert report.KPI_CODES == tuple(kpi.KPI_FILES) and len(report.KPI_CODES) == 16
    for code in report.KPI_CODES:
        for lang in report.LANGS:
            long_label, short_label = report.kpi_label(code, lang), report.kpi_label(code, lang, short=True)
            assert long_label and short_label and code not in long_label and long_label != short_label


def test_the_gap_is_phrased_in_the_records_people_act_on():
    from etl import report
    from etl.report import act as report_act

    row = {"records_needed": 38, "target": 0.5, "unit_vi": "hồ sơ nộp trực tuyến từ xa",
           "unit_en": "dossiers filed online remotely"}
    say = lambda kind, lang: report_act.gap_sentence(row, kind, lang, report.fmt_target, report.fmt_number)  # noqa: E731
    assert say("month", "vi") == "38 hồ sơ nộp trực tuyến từ xa nữa trong tháng này thì đạt 50 %"
    assert say("month", "en") == "38 more dossiers filed online remotely this month would have met 50 %"
    assert say("quarter", "en").endswith("this quarter would have met 50 %")
    assert report_act.gap_sentence({**row, "records_needed": 1234, "target": 0.3}, "month", "vi",
                                   report.fmt_target, report.fmt_number).startswith("1.234 hồ sơ")


def test_min_records_comes_from_the_argument_else_the_environment_else_20(monkeypatch):
    from etl import report

    monkeypatch.delenv(report.MIN_RECORDS_ENV, raising=False)
    assert report.min_records_setting() == 20
    monkeypatch.setenv(report.MIN_RECORDS_ENV, "7")
    assert report.min_records_setting() == 7 and report.min_records_setting(3) == 3
    monkeypatch.setenv(report.MIN_RECORDS_ENV, "many")
    with pytest.raises(report.ReportError, match="whole number"):
        report.min_records_setting()
    with pytest.raises(report.ReportError, match="at least 1"):
        report.min_records_setting(0)


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


def test_each_gap_sentence_counts_the_records_needed_of_mart_kpi_gap(warehouse, reports):
    from etl import report

    settings = warehouse["settings"]
    for period, kind, start, lang, words in ((MONTH, "month", MARCH, "vi", "nữa trong tháng này thì đạt"),
                                             (QUARTER, "quarter", date(2023, 1, 1), "en", "more")):
        expected = {(a, k): (n, t) for a, k, n, t in mart(settings, """
            SELECT agency_code, kpi_code, records_needed, target FROM mart.kpi_gap
            WHERE period_type = ? AND period_start = ? AND records_needed > 0""", [kind, start])}
        assert expected
        shown = {}
        for agency, body in articles(reports[period].html.read_text(encoding="utf-8")).items():
            for kpi_code, needed, sentence in re.findall(
                    r'<li data-gap="([A-Z_]+)" data-records-needed="(\d+)">.*?<span class="sentence">(.*?)</span>',
                    body, re.S):
                shown[agency, kpi_code] = (int(needed), shown_number(sentence), sentence)
        assert set(shown) == set(expected)
        for key, (needed, target) in expected.items():
            attribute, number, sentence = shown[key]
            assert attribute == number == needed, (key, sentence)
            assert words in sentence and sentence.endswith(report.fmt_target(target, lang))


# --------------------------------------------------------------------------- rankings


def ranking_rows(text: str, kpi_code: str) -> list[tuple[str, str, str, str]]:
    """(group, agency, rank cell, basis cell) of one KPI's ranking table, in order."""
    body = re.search(rf'<section data-ranking="{kpi_code}">(.*?)</section>', text, re.S).group(1)
    return re.findall(r'<tr class="(?:met|missed)" data-agency="([^"]+)" data-group="([a-z_]+)">'
                      r'<td class="num">([^<]*)</td>.*?<td class="num basis">([^<]*)</td>', body, re.S)


def test_ranking_leaves_out_agencies_below_the_minimum_and_lists_unknown_codes_apart(warehouse, reports, tmp_path):
    settings = warehouse["settings"]
    text = reports[MONTH].html.read_text(encoding="utf-8")
    figures = {a: (v, d, known) for a, v, d, known in mart(settings, """
        SELECT v.agency_code, v.value, v.denominator, coalesce(NOT a.is_inferred, false)
        FROM mart.kpi_value AS v LEFT JOIN core.dim_agency AS a USING (agency_code)
        WHERE v.period_type = 'month' AND v.period_start = ? AND v.kpi_code = 'ONLINE_RATE' AND v.agency_code <> '*'""",
        [MARCH])}
    rows = ranking_rows(text, "ONLINE_RATE")
    assert sorted(a for a, *_ in rows) == sorted(figures), "every agency is listed, ranked or not"
    groups = defaultdict(list)
    for agency, group, rank, basis in rows:
        groups[group].append(agency)
        value, denominator, known = figures[agency]
        assert basis.endswith(f"/ {denominator}"), "each value shows its denominator"
        assert (rank == "—") == (group != "ranked")
        if group == "ranked":
            assert known and denominator >= 20
        elif group == "few_records":
            assert known and denominator < 20
        else:
            assert group == "unknown" and not known
    assert groups["ranked"] and groups["few_records"] and groups["unknown"], dict(groups)
    ranked_values = [figures[a][0] for a in groups["ranked"]]
    assert ranked_values == sorted(ranked_values, reverse=True)
    assert [rows.index(r) for r in rows if r[1] == "ranked"] == list(range(len(groups["ranked"]))), "ranked first"
    # The others are apart, each under its heading.
    body = re.search(r'<section data-ranking="ONLINE_RATE">(.*?)</section>', text, re.S).group(1)
    assert re.search(r'<tbody data-group="few_records">\s*<tr class="apart"><th colspan="6">Chưa xếp hạng: dưới 20 ', body)
    assert re.search(r'<tbody data-group="unknown">\s*<tr class="apart"><th colspan="6">Mã đơn vị không có trong danh mục', body)
    # The catalogue KPIs rank every agency of the list, however small.
    coverage = ranking_rows(text, "DVCTT_COVERAGE")
    assert {g for _, g, *_ in coverage} <= {"ranked", "unknown"}

    # `--min-records 1` on the command line: every known agency ranked, unknown codes still apart.
    result = etl("report", "--period", MONTH, "--out", str(tmp_path), "--min-records", "1",
                 settings=settings)
    assert result.returncode == 0, result.stderr
    rows = ranking_rows((tmp_path / f"tthc-report-{MONTH}-vi.html").read_text(encoding="utf-8"), "ONLINE_RATE")
    assert {a for a, g, *_ in rows if g == "ranked"} == {a for a, (_, _, known) in figures.items() if known}
    assert {a for a, g, *_ in rows if g == "unknown"} == set(groups["unknown"])


def test_workbook_marks_the_unranked_and_lists_every_pilot_dossier(warehouse, reports):
    from openpyxl import load_workbook

    from etl import report

    text = report.TEXT["vi"]
    workbook = load_workbook(reports[MONTH].xlsx, read_only=True)
    ranking = [r for r in workbook[text["sheet.ranking"]].iter_rows(min_row=2, values_only=True)
               if r[0] == "ONLINE_RATE"]
    assert all((rank is None) == (group is not None) for _, _, rank, *_, group in ranking)
    act = list(workbook[text["sheet.act"]].iter_rows(min_row=2, values_only=True))
    pilot_ids = {i for r in act if r[2] == text["kind.pilot"] for i in r[6].split(", ")}
    expected = {i for (ids,) in mart(warehouse["settings"], "SELECT paper_dossier_ids FROM mart.pilot_compliance "
                                                            "WHERE month_start = ?", [MARCH]) for i in ids}
    assert pilot_ids == expected
    workbook.close()


def test_a_copy_without_the_views_still_gets_its_report_with_a_note(warehouse, tmp_path):
    from openpyxl import load_workbook

    from etl import report

    settings = warehouse["settings"]
    older = tmp_path / "published" / "tthc.duckdb"
    older.parent.mkdir()
    shutil.copyfile(settings.published, older)
    con = duckdb.connect(str(older))
    for view in ("focus_procedure", "pilot_compliance", "pilot_agency_registrations", "kpi_gap", "kpi_gap_unit"):
        con.execute(f"DROP VIEW IF EXISTS mart.{view}")
    con.close()
    files = report.write_report(replace(settings, published=older), MONTH, "en", tmp_path / "out")
    text = files.html.read_text(encoding="utf-8")
    assert 'id="act-unavailable"' in text and not articles(text)
    assert 'data-ranking="ONLINE_RATE"' in text and 'id="data-quality"' in text
    assert report.TEXT["en"]["sheet.act"] not in load_workbook(files.xlsx, read_only=True).sheetnames
