"""Helpers of the report tests: the CLI, marts read back, the HTML parsed, and headless Chromium
(run in its own process group, killed by PID whatever happens) with what it drew and requested."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import duckdb

from .chromium import chromium_command
from .emulator import env_for, settings_under, start_emulator
from .paths import REPO_ROOT


MONTH, QUARTER = "2023-03", "2023-Q1"
def etl(*args: str, settings, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "etl", *args], cwd=REPO_ROOT, env=env_for(settings),
        capture_output=True, text=True, timeout=timeout,
    )

def quarter_warehouse(root: Path, *, seed: int = 23, dossiers_per_day: int = 30):
    """Settings of a warehouse under `root` loaded by the real pipeline from an emulated first
    quarter of 2023 (the emulator stopped by PID once loaded: the reports need no source)."""
    from etl import pipeline

    emu = start_emulator(seed=seed, start="2023-01-01", end="2023-04-01", dossiers_per_day=dossiers_per_day)
    try:
        settings = settings_under(root, emu)
        pipeline.run(settings, date(2023, 1, 1), date(2023, 4, 1))
    finally:
        emu.stop()
    return settings


def cli_reports(settings) -> dict[str, list[Path]]:
    """The CLI's month report in Vietnamese (default) and quarter report in English: their files."""
    month = etl("report", "--period", MONTH, settings=settings)
    assert month.returncode == 0, month.stderr
    quarter = etl("report", "--period", QUARTER, "--lang", "en", settings=settings)
    assert quarter.returncode == 0, quarter.stderr
    return {
        MONTH: [Path(line) for line in month.stdout.split()],
        QUARTER: [Path(line) for line in quarter.stdout.split()],
    }


def mart_rows(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def city_values(settings, period_type: str, period_start: date) -> dict[str, tuple]:
    rows = mart_rows(
        settings.published,
        "SELECT kpi_code, value, numerator, denominator, target, met FROM mart.kpi_value "
        "WHERE period_type = ? AND period_start = ? AND agency_code = '*'",
        [period_type, period_start],
    )
    return {row[0]: row[1:] for row in rows}


class Dom(HTMLParser):
    """Just enough of the DOM: every element's tag and attributes, and the text of KPI rows."""

    def __init__(self, text: str):
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.kpi_rows: dict[str, dict] = {}
        self._row: dict | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        self.elements.append((tag, attributes))
        if tag == "tr" and "data-kpi" in attributes:
            self._row = {"attrs": attributes, "text": ""}
            self.kpi_rows[attributes["data-kpi"]] = self._row

    def handle_endtag(self, tag):
        if tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._row is not None:
            self._row["text"] += data

    def find(self, tag: str, **attrs) -> list[dict[str, str]]:
        return [a for t, a in self.elements if t == tag and all(a.get(k) == v for k, v in attrs.items())]


# --------------------------------------------------------------------------- headless Chromium


def run_chromium(*args: str, profile: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Headless Chromium in its own process group, killed by its PID's group whatever happens."""
    command = chromium_command(*args, profile=profile)  # any name lookup fails: no network
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        else:
            try:  # helpers (renderer, GPU) that outlived the browser
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def page_requests(net_log: Path) -> list[str]:
    """The URLs of the network requests a page started, from Chromium's net log."""
    import json

    log = json.loads(net_log.read_text(encoding="utf-8"))
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        event["params"]["url"]
        for event in log["events"]
        if event["type"] == start_job and "url" in event.get("params", {})
        and event["params"].get("initiator") != "not an origin"
    ]


def colour_rows(image, colour: str, tolerance: int = 40, columns: tuple[int, int] | None = None) -> list[int]:
    """The y of every screenshot row holding at least 3 pixels close to `colour` (between the
    x `columns`, the whole width by default)."""
    target = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    pixels = image.convert("RGB").load()
    width, height = image.size
    first, last = columns or (0, width)
    rows = []
    for y in range(height):
        hits = 0
        for x in range(first, last, 2):
            r, g, b = pixels[x, y]
            if abs(r - target[0]) + abs(g - target[1]) + abs(b - target[2]) <= tolerance:
                hits += 1
                if hits >= 3:
                    rows.append(y)
                    break
    return rows


def bands(rows: list[int], gap: int = 40) -> list[tuple[int, int]]:
    """Runs of nearby rows: one per row of charts in the grid."""
    found: list[tuple[int, int]] = []
    for y in rows:
        if found and y - found[-1][1] <= gap:
            found[-1] = (found[-1][0], y)
        else:
            found.append((y, y))
    return found
