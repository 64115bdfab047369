"""Regenerate `vn_public_holidays.csv`: Viet Nam's public holidays (days off), 2000–2035.

Run by hand when the calendar needs refreshing (e.g. a new government decision on substitute
days off); the CSV is committed so the pipeline needs no extra package at run time.

    .venv/bin/python sql/seed/generate_holidays.py

Source: the maintained `holidays` package (pinned in requirements.txt), which computes the
lunar-calendar holidays — Tết Nguyên Đán and Giỗ Tổ Hùng Vương (10th day of the 3rd lunar
month) — and the observed/substituted days off announced each year. Names in Vietnamese and
English.
"""
from __future__ import annotations

import csv
import sys
from datetime import date
from pathlib import Path

import holidays

FIRST_YEAR = 2000
LAST_YEAR = 2035  # keep in step with the dim_date range in seed.sql
OUTPUT = Path(__file__).resolve().parent / "vn_public_holidays.csv"


def vietnam_holidays(first_year: int, last_year: int) -> list[tuple[date, str, str]]:
    """(date, Vietnamese name, English name) for every public holiday, in date order."""
    years = range(first_year, last_year + 1)
    names_vi = holidays.country_holidays("VN", years=years, language="vi")
    names_en = holidays.country_holidays("VN", years=years, language="en_US")
    if set(names_vi) != set(names_en):
        raise RuntimeError("the holidays package disagrees with itself between languages")
    return [(day, names_vi[day], names_en[day]) for day in sorted(names_vi)]


def write_csv(rows: list[tuple[date, str, str]], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["date", "name_vi", "name_en"])
        for day, name_vi, name_en in rows:
            writer.writerow([day.isoformat(), name_vi, name_en])


def main() -> int:
    rows = vietnam_holidays(FIRST_YEAR, LAST_YEAR)
    write_csv(rows, OUTPUT)
    print(f"wrote {len(rows)} holidays ({FIRST_YEAR}–{LAST_YEAR}, holidays {holidays.__version__}) to {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
