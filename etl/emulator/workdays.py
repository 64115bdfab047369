"""Working days and office hours of the emulated agencies (local day numbers, local seconds)."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

DAY = 86400
HOUR = 3600

# Viet Nam's public holidays, Tết included: agencies neither receive nor finish dossiers on them,
# so due dates skip them. The same days off as core.dim_date: one list for both.
HOLIDAYS_CSV = Path(__file__).resolve().parents[2] / "sql" / "seed" / "vn_public_holidays.csv"


def _holidays() -> list[np.datetime64]:
    with HOLIDAYS_CSV.open(encoding="utf-8", newline="") as handle:
        return [np.datetime64(row["date"]) for row in csv.DictReader(handle)]


BUSDAYS = np.busdaycalendar(weekmask="1111100", holidays=_holidays())


def business_day_offset(days: np.ndarray, offsets) -> np.ndarray:
    """Local day numbers `offsets` working days after `days` (rolled forward to a working day)."""
    d = days.astype("datetime64[D]")
    return np.busday_offset(d, offsets, roll="forward", busdaycal=BUSDAYS).astype(np.int64)


def is_business_day(day: int) -> bool:
    return bool(np.is_busday(np.datetime64(day, "D"), busdaycal=BUSDAYS))


def roll_to_office_hours(t: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Move instants outside office hours to the next working morning (8:00–10:00)."""
    day, tod = np.divmod(t, DAY)
    after_hours = (tod >= 17 * HOUR) | (tod < 7 * HOUR + 1800)
    day = np.where(tod >= 17 * HOUR, day + 1, day)
    working = business_day_offset(day, 0)
    moved = after_hours | (working != day)
    morning = 8 * HOUR + (u * 2 * HOUR).astype(np.int64)
    return np.where(moved, working * DAY + morning, day * DAY + tod)
