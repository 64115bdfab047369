"""Progress reporting without a terminal (log lines with days, records, rate and ETA) and on one
(a bar per stage)."""
from __future__ import annotations

import logging

from etl.progress import Progress


def test_without_a_terminal_each_line_gives_days_records_rate_and_eta(caplog):
    caplog.set_level(logging.INFO, logger="etl.progress")
    progress = Progress(terminal=False, every=0)
    progress.stage("extracted", 4)
    progress.advance("extracted", 1, 1000)
    progress.advance("extracted", 3, 2000)
    lines = [r.getMessage() for r in caplog.records if r.name == "etl.progress"]
    assert lines[0].startswith("progress: extracted: 1/4 days, 1,000 records") and "ETA" in lines[0]
    assert lines[-1].startswith("progress: extracted: 4/4 days, 3,000 records") and "ETA 0s" in lines[-1]


def test_without_a_terminal_lines_are_spaced_but_the_last_always_logged(caplog):
    caplog.set_level(logging.INFO, logger="etl.progress")
    progress = Progress(terminal=False, every=3600)
    progress.stage("loaded", 3)
    for _ in range(3):
        progress.advance("loaded", 1, 10)
    lines = [r.getMessage() for r in caplog.records if r.name == "etl.progress"]
    assert lines == ["progress: loaded: 3/3 days, 30 records, " + lines[0].split("records, ")[1]]


def test_on_a_terminal_a_bar_per_stage_with_records(capsys):
    progress = Progress(terminal=True)
    progress.stage("extracted", 2)
    progress.stage("validated+loaded", 2)
    progress.advance("extracted", 2, 12345)
    progress.advance("validated+loaded", 1, 5000)
    progress.close()
    err = capsys.readouterr().err
    assert "extracted" in err and "2/2" in err and "12,345 records" in err
    assert "validated+loaded" in err and "1/2" in err
    # An ETA from the pace so far as soon as one chunk is in, though days arrive in jumps.
    assert "ETA 0:00:00" in err and "ETA ?" not in err.split("validated+loaded")[-1]
