"""A long run says where it stands: bars on a terminal, a log line every N seconds without one."""
from __future__ import annotations

import os
import subprocess
import sys

from support import REPO_ROOT


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
