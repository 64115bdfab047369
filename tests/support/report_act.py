"""Helpers of the "What to act on" report tests: the paper dossiers the emulator served, the pilot
registrations written from them, and the section read back from the marts and the HTML."""
from __future__ import annotations

import csv
import re
import unicodedata
from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import duckdb
import requests

from .emulator import settings_under, start_emulator


MONTH, QUARTER = "2023-03", "2023-Q1"
MARCH, APRIL = date(2023, 3, 1), date(2023, 4, 1)


def act_warehouse(root: Path) -> dict:
    """Settings of a warehouse under `root` whose pilot file registers, for all of March, the first
    pairs (by agency code) that took paper dossiers in March; and those served paper dossiers."""
    from etl import pipeline

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


def act_reports(settings, out: Path) -> dict:
    """The month's report in Vietnamese and the quarter's in English, written under `out`."""
    from etl import report

    return {
        MONTH: report.write_report(settings, MONTH, "vi", out),
        QUARTER: report.write_report(settings, QUARTER, "en", out),
    }


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
