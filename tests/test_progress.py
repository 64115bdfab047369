"""A long run says where it stands: bars on a terminal, a log line every N seconds without one."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from etl.progress import Progress

REPO_ROOT = Path(__file__).resolve().parent.parent


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


def test_a_run_without_a_terminal_logs_its_progress(emulator, settings_for):
    settings = settings_for(emulator)
    env = {**os.environ, "TTHC_API_URL": settings.api_url, "TTHC_API_TOKEN": settings.api_token,
           "TTHC_WAREHOUSE": str(settings.warehouse), "TTHC_RAW_DIR": str(settings.raw_dir),
           "TTHC_PUBLISHED": str(settings.published), "TTHC_PII_KEY": settings.pii_key,
           "TTHC_PROGRESS_SECONDS": "0"}
    done = subprocess.run([sys.executable, "-m", "etl", "run", "--start", "2023-01-02", "--end", "2023-01-05"],
                          env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no terminal: nothing drawn on stderr
    log = (settings.warehouse.parent / "logs" / "etl.log").read_text(encoding="utf-8")
    assert "progress: extracted: 3/3 days" in log and "progress: validated+loaded: 3/3 days" in log
