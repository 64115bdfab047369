"""The pure parts of the report's section "What to act on": the KPI list of kpis.md with both
labels, the gap sentences, and where the ranking's minimum of records comes from."""
from __future__ import annotations


import pytest



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
