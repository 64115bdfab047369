"""The report's section "Việc cần làm" / "What to act on" and the rankings an official can trust.

One emulated February-March 2023, loaded by the real pipeline with a pilot registration file
written from the paper dossiers the emulator served in March (so the pilot days have violations),
and the month's report in Vietnamese and the quarter's in English. Chromium renders the section
with the network blocked; its figures are those of the marts (mart.kpi_gap, mart.focus_procedure,
mart.pilot_compliance, mart.pilot_agency_registrations) and agree with mart.kpi_value.

Module-scoped like tests/integration/test_report.py (one pipeline run for every test here), hence
support.report_act.act_warehouse (start_emulator and settings_under) rather than the
function-scoped emulator_factory/settings_for.
"""
from __future__ import annotations

import re
import shutil
from collections import defaultdict
from dataclasses import replace
from datetime import date

import duckdb
import pytest

from support.report import etl
from support.report_act import (
    MARCH, MONTH, QUARTER, act_reports, act_warehouse, articles, mart, shown_number,
)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """Settings of a warehouse whose pilot file registers, for all of March, the first pairs (by
    agency code) that took paper dossiers in March; and those served paper dossiers."""
    return act_warehouse(tmp_path_factory.mktemp("report-act"))


@pytest.fixture(scope="module")
def reports(warehouse, tmp_path_factory):
    return act_reports(warehouse["settings"], tmp_path_factory.mktemp("act-reports"))


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
