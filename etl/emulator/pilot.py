"""The emulated province's paper-free pilot registrations (operations.md, `TTHC_PILOT_FILE`): the
CSV file the city office keeps, written by `python -m etl emulator --pilot-file PATH`.

Its rows name (agency, procedure) pairs that receive dossiers on their pilot days in the
generated history, in every spelling of days and dates the contract allows; most agencies
register two procedures, a few only one, one pair is registered twice, and a few rows cannot be
read (one of each kind operations.md lists). The file is a function of the generator's options
(seed, history, size): `pilot_rows` generates the days it reads itself, so neither the served
data nor the generator's cache and counters depend on whether a file was asked for.
"""
from __future__ import annotations

import csv
import io
import os
import unicodedata
from pathlib import Path

import numpy as np

from etl.emulator.catalogue import Procedure, day_of
from etl.emulator.days import ABSENT, DOSSIER_SMALL, generate_day
from etl.emulator.generator import Generator
from etl.emulator.workdays import DAY

HEADER = ("MaDonVi", "MaTTHC", "TuNgay", "DenNgay", "Thu")
HORIZON_DAYS = 120  # pilots run within the history's last days: bounds the start-up cost
MAX_AGENCIES = 12
SINGLE_AGENCIES = 2  # agencies with one registration, where the decision asks for two
LATE_RECEPTION_DAYS = 10  # dossiers submitted this long before a day can be received on it
SAMPLED_DOSSIERS = 300_000  # above this, read every k-th submission day: a subset of the history
ALL_DAYS = frozenset(range(7))  # 0 Monday … 6 Sunday

# The Thu column as offices write it, and the weekdays it means.
DAY_SPELLINGS: tuple[tuple[str, frozenset[int]], ...] = (
    ("", ALL_DAYS),
    ("2,4,6", frozenset({0, 2, 4})),
    ("4", frozenset({2})),
    ("Thứ 4", frozenset({2})),
    ("T4", frozenset({2})),
    ("t6", frozenset({4})),
    ("thứ 3", frozenset({1})),
    # Offices receive next to nothing on Sundays: Sunday rows name working days too.
    ("T2,CN", frozenset({0, 6})),
    ("Thứ 5, Chủ nhật", frozenset({3, 6})),
    ("3, 5", frozenset({1, 3})),
    (unicodedata.normalize("NFD", "Thứ 6"), frozenset({4})),
    ("T3,T5,T7", frozenset({1, 3, 5})),
    ("Thứ 2,Thứ 3,Thứ 4,Thứ 5,Thứ 6", frozenset(range(5))),
)


def _iso(day: int) -> str:
    return day_of(day).isoformat()


def _dmy(day: int) -> str:
    d = day_of(day)
    return f"{d.day}/{d.month}/{d.year}"


def _weekday(days: np.ndarray) -> np.ndarray:
    return (days + 3) % 7  # 1970-01-01 was a Thursday


def _receptions(g: Generator, first: int, end: int) -> dict[str, np.ndarray]:
    """Valid dossiers received (not rejected) on local days [first, end), with known codes:
    agency, procedure, reception day, online. A large history is sampled by submission day,
    with a stride prime to 7 so every weekday is read: what it finds, the history has."""
    names = {name: DOSSIER_SMALL.index(name)
             for name in ("agency", "proc", "channel", "invalid", "unknown_ref")}
    parts = [(np.zeros(0, np.int32),) * 3 + (np.zeros(0, bool),)]
    days = range(max(g.first_day, first - LATE_RECEPTION_DAYS), end)
    stride = max(1, -(-g.opts.volume * len(days) // SAMPLED_DOSSIERS))
    stride += stride % 7 == 0
    for day in days[::-stride][::-1]:  # the last day always: pilots run to the history's end
        dd = generate_day(g.catalogue, g.opts, day)
        small = dd.small
        received = dd.t[:, 1]
        keep = ((received < ABSENT) & (dd.st[:, 1] != 3) & (small[:, names["invalid"]] == 0)
                & (small[:, names["unknown_ref"]] == 0))
        keep &= (received >= first * DAY) & (received < end * DAY)
        parts.append((small[keep, names["agency"]], small[keep, names["proc"]],
                      received[keep] // DAY, small[keep, names["channel"]] == 2))
    return dict(zip(("agency", "proc", "day", "online"), (np.concatenate(c) for c in zip(*parts))))


def _full_online_on(p: Procedure, day: int) -> bool:
    """MucDoDVC TOAN_TRINH in the version valid on `day`."""
    upgraded = p.upgrade_day is not None and day_of(day) >= p.upgrade_day
    return upgraded or p.service_level == "TOAN_TRINH"


class _Plan:
    """The history's pilot horizon and the receptions in it."""

    def __init__(self, g: Generator):
        self.g = g
        self.end = g.end_day
        self.first = max(g.first_day, self.end - HORIZON_DAYS)
        self.span = self.end - self.first
        self.rec = _receptions(g, self.first, self.end)
        self.rec["weekday"] = _weekday(self.rec["day"])
        self._by_agency: dict[int, np.ndarray] = {}

    def agencies(self) -> list[int]:
        """Up to MAX_AGENCIES agencies that exist through the horizon and receive dossiers,
        keenest online first (the ones that volunteer); any existing ones without dossiers."""
        cat = self.g.catalogue
        first, last = day_of(self.first), day_of(self.end - 1)
        lasting = [a.index for a in cat.agencies if a.valid_on(first) and a.valid_on(last)]
        n = len(cat.agencies)
        total = np.bincount(self.rec["agency"], minlength=n)
        online = np.bincount(self.rec["agency"], weights=self.rec["online"], minlength=n)
        busy = [a for a in lasting if total[a] > 0]
        floor = max(3.0, 0.2 * float(np.mean([total[a] for a in busy]))) if busy else 0.0
        ranked = sorted(busy, key=lambda a: (total[a] < floor, -online[a] / total[a], a))
        idle = sorted((a for a in lasting if total[a] == 0), key=lambda a: (-cat.agencies[a].weight, a))
        return (ranked + idle)[:MAX_AGENCIES]

    def counts(self, agency: int, first: int, last: int | None, days: frozenset[int]) -> np.ndarray:
        """Dossiers of `agency` received on the row's pilot days, by procedure."""
        rows = self._by_agency.get(agency)
        if rows is None:
            rows = self._by_agency[agency] = np.flatnonzero(self.rec["agency"] == agency)
        day, weekday, proc = (self.rec[name].take(rows) for name in ("day", "weekday", "proc"))
        end = self.end if last is None else last + 1
        mask = (day >= first) & (day < end) & np.isin(weekday, list(days))
        return np.bincount(proc[mask], minlength=len(self.g.catalogue.procedures))

    def procedure(self, agency: int, first: int, last: int | None, days: frozenset[int],
                  taken: set[int]) -> int | None:
        """The agency's procedure to register for the row: one with dossiers on its pilot days,
        full-process online if it can, the busiest."""
        cat = self.g.catalogue
        level = cat.agencies[agency].level
        counts = self.counts(agency, first, last, days)
        options = [p for p in cat.procedures if level in p.levels and p.index not in taken]
        if not options:
            return None
        best = max(options, key=lambda p: (counts[p.index] > 0, _full_online_on(p, first),
                                           int(counts[p.index]), p.weight, -p.index))
        return best.index


def _clamp(day: int, lo: int, hi: int) -> int:
    return max(lo, min(day, hi))


def pilot_rows(g: Generator) -> list[list[str]]:
    """The file's rows, header first, as written (a pure function of the generator's options)."""
    plan = _Plan(g)
    cat = g.catalogue
    rng = np.random.default_rng(np.random.SeedSequence([g.opts.seed, 0x9110]))
    first, end, span = plan.first, plan.end, plan.span
    last_day = end - 1

    agencies = plan.agencies()
    singles = SINGLE_AGENCIES if len(agencies) >= 5 else (1 if len(agencies) >= 3 else 0)
    single = set(rng.choice(agencies, size=singles, replace=False).tolist()) if singles else set()
    per_agency = {a: 1 if a in single else 2 for a in agencies}
    several = [a for a in agencies if a not in single] or agencies
    k = 0
    while sum(per_agency.values()) < len(DAY_SPELLINGS):  # room for every spelling of Thu
        per_agency[several[k % len(several)]] += 1
        k += 1
    slots = [a for a in sorted(agencies, key=lambda a: cat.agencies[a].code) for _ in range(per_agency[a])]

    # Days and ranges of each readable row.
    spellings = rng.permutation(len(DAY_SPELLINGS)).tolist()
    kinds = rng.choice(3, size=len(slots), p=(0.45, 0.2, 0.35)).tolist()  # running, later, ended
    if 2 not in kinds:
        kinds[-1] = 2
    if 0 not in kinds:
        kinds[0] = 0
    templates = []
    for i, kind in enumerate(kinds):
        if kind == 2:
            start = first + int(rng.integers(0, max(1, span // 4)))
            stop = _clamp(start + max(13, span // 2) + int(rng.integers(0, max(1, span // 6))),
                          start, max(start, last_day - 1))
        else:
            offset = 0 if kind == 0 else span // 3
            start, stop = _clamp(first + offset + int(rng.integers(0, max(1, span // 6))), first, last_day), None
        templates.append([start, stop, spellings[i % len(spellings)]])
    # One d/M/yyyy date with a one-digit day and month where the history has one.
    candidates = [d for d in range(first, first + max(1, span // 2))
                  if day_of(d).day < 10 and day_of(d).month < 10] or \
                 [d for d in range(first, first + max(1, span // 2)) if day_of(d).day < 10]
    short_row = kinds.index(0)  # a running row: any start inside the history will do
    if candidates:
        templates[short_row][0] = candidates[0]
    formats = rng.random((len(slots), 2)) < 0.5  # per date: d/M/yyyy, else yyyy-MM-dd
    formats[short_row, 0] = True
    if len(slots) > 1:  # and one yyyy-MM-dd
        formats[1 if short_row == 0 else 0, 0] = False

    rows: list[list[str]] = []
    taken: dict[int, set[int]] = {a: set() for a in agencies}
    first_pair: dict[int, tuple[int, int]] = {}  # agency → (procedure, its template)
    for i, agency in enumerate(slots):
        start, stop, spelling = templates[i]
        thu, days = DAY_SPELLINGS[spelling]
        proc = plan.procedure(agency, start, stop, days, taken[agency])
        if proc is None:
            continue
        taken[agency].add(proc)
        first_pair.setdefault(agency, (proc, i))
        date = _dmy if formats[i, 0] else _iso
        until = "" if stop is None else (_dmy if formats[i, 1] else _iso)(stop)
        rows.append([cat.agencies[agency].code, cat.procedures[proc].code, date(start), until, thu])

    # The same pair registered again: later, on other days, still running.
    twice = [a for a in agencies if a not in single and a in first_pair]
    if twice:
        agency = twice[int(rng.integers(0, len(twice)))]
        proc, i = first_pair[agency]
        start = _clamp(templates[i][0] + max(1, span // 2), first, last_day)
        thu = DAY_SPELLINGS[spellings[(i + 1) % len(spellings)]][0]
        if thu == DAY_SPELLINGS[templates[i][2]][0]:
            thu = DAY_SPELLINGS[spellings[(i + 2) % len(spellings)]][0]
        rows.insert(int(rng.integers(len(rows) // 2, len(rows) + 1)),
                    [cat.agencies[agency].code, cat.procedures[proc].code, _dmy(start), "", thu])

    # Codes as offices type them: one padded with spaces (values are compared trimmed).
    if rows:
        padded = rows[int(rng.integers(0, len(rows)))]
        padded[0] = f"{padded[0]} "

    for bad in _unreadable_rows(plan, rng, [a for a in agencies if a not in single] or agencies):
        rows.insert(int(rng.integers(0, len(rows) + 1)), bad)
    return [list(HEADER), *rows]


def _unreadable_rows(plan: _Plan, rng: np.random.Generator, agencies: list[int]) -> list[list[str]]:
    """One row of each kind operations.md says cannot be read, for real agencies and procedures."""
    cat = plan.g.catalogue
    first, span = plan.first, plan.span
    year = day_of(first).year
    rows = []
    for kind in range(6):
        agency = cat.agencies[agencies[int(rng.integers(0, len(agencies)))]]
        procs = [p for p in cat.procedures if agency.level in p.levels]
        code = procs[int(rng.integers(0, len(procs)))].code
        start = first + int(rng.integers(0, max(1, span // 3)))
        rows.append([
            [agency.code, code, _iso(start), "", "T9"],                   # unknown day name
            [agency.code, code, _dmy(start), "", "2,,4"],                 # empty day name
            [agency.code, code, f"31/02/{year}", "", "2,4,6"],            # a date that is no day
            [agency.code, code, _iso(min(start + 10, first + span - 1)), _iso(first), "T3"],  # DenNgay < TuNgay
            [agency.code, "", _iso(start), "", "Thứ 5"],                  # empty MaTTHC
            [agency.code, code, _iso(start), "", "2", "4"],               # the list unquoted: 6 fields
        ][kind])
    return rows


def write_pilot_file(g: Generator, path: str | os.PathLike) -> int:
    """Write the registrations to `path` (UTF-8 with a byte-order mark, CRLF as spreadsheets
    save it), atomically; returns the number of rows after the header."""
    rows = pilot_rows(g)
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(rows)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_bytes(text.getvalue().encode("utf-8-sig"))
    os.replace(partial, target)
    return len(rows) - 1
