"""The emulated source: lazy, cached generation of the province's days, the feed windows
and their pages, and the reference lists.

Days are generated only when a window needs them (those within `LIFE_DAYS` before it) and kept
in a bounded LRU cache; records are rendered to JSON only when a page asks for them.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from etl.emulator.catalogue import SIZES, build_catalogue, day_number
from etl.emulator.days import ABSENT, D_INVALID, LIFE_DAYS, P_INVALID, DayData, Options, generate_day
from etl.emulator.references import agency_list, procedure_list
from etl.emulator.render import PageRenderer
from etl.emulator.windows import ID_SPAN, Entry, Window, current_versions, sort_keys
from etl.emulator.vocabulary import (  # noqa: F401 - re-exported: the PII tests read the name lists here
    BUSINESS_KINDS, BUSINESS_WORDS, FAMILY_NAMES, GIVEN_FEMALE, GIVEN_MALE, MIDDLE_FEMALE, MIDDLE_MALE,
    ORG_KINDS, PHONE_PREFIXES,
)
from etl.emulator.workdays import DAY


class Generator:
    """The emulated source: reference lists and the windows of the change feeds."""

    def __init__(self, opts: Options, max_cached_days: int = LIFE_DAYS + 16):
        self.opts = opts
        self.catalogue = build_catalogue(opts.seed, SIZES[opts.size], opts.start, opts.end)
        self.pages = PageRenderer(self.catalogue, opts)
        self.first_day = day_number(opts.start)
        self.end_day = day_number(opts.end)
        self._days: OrderedDict[int, DayData] = OrderedDict()
        self._max_days = max_cached_days
        self._lock = threading.Lock()
        self.days_generated = 0

    # ------------------------------------------------------------ reference lists
    def agencies(self) -> list[dict]:
        return agency_list(self.catalogue, self.opts.seed, self.opts.clean)

    def procedures(self) -> list[dict]:
        return procedure_list(self.catalogue, self.opts.seed, self.opts.clean)

    def reference_records(self, entity: str) -> bytes:
        """The records of a reference list ("agency" or "procedure") as JSON joined by ','."""
        records = self.agencies() if entity == "agency" else self.procedures()
        return b",".join(self.pages.encoder.encode(r) for r in records)

    # ------------------------------------------------------------ feeds
    def day(self, day: int) -> DayData:
        with self._lock:
            data = self._days.get(day)
            if data is not None:
                self._days.move_to_end(day)
                return data
        data = generate_day(self.catalogue, self.opts, day)
        with self._lock:
            self.days_generated += 1
            self._days[day] = data
            while len(self._days) > self._max_days:
                self._days.popitem(last=False)
        return data

    def window(self, entity: str, start: int, end: int, now: int) -> Window:
        """Records whose current version (as of `now`) changed in [start, end), in feed order."""
        first = max(self.first_day, -(-start // DAY) - LIFE_DAYS)
        last = min(self.end_day - 1, (end - 1) // DAY, now // DAY)
        parts = []
        for day in range(first, last + 1):
            dd = self.day(day)
            index, current, slot = current_versions(entity, dd, now)
            lo, hi = np.searchsorted(current, (start, end)).tolist()
            if lo < hi:
                chosen, slots = index[lo:hi], slot[lo:hi]
                parts.append((current[lo:hi], sort_keys(entity, dd, chosen, slots, self.pages.agency_rank),
                              day * ID_SPAN + chosen, slots))
        if not parts:
            empty = np.zeros(0, dtype=np.int64)
            return Window(empty, empty, empty, empty.astype(np.int8))
        return Window(*(np.concatenate(column) for column in zip(*parts)))

    def render_page(self, entity: str, window: Window, lo: int, hi: int) -> bytes:
        """Records [lo, hi) of the window as JSON objects joined by ','."""
        return self.render_records(entity, *window.rows(lo, hi))

    def render_records(self, entity: str, day, index, slot) -> bytes:
        """The records (day, index within the day, slot) as JSON objects joined by ','."""
        render = self.pages.dossiers if entity == "dossier" else self.pages.payments
        return render(self.day, *(np.asarray(column, dtype=np.int64) for column in (day, index, slot)))

    def previous_version(self, entity: str, entry: Entry, start: int) -> int | None:
        """The slot of the record's previous version when it too lies in the window, else None."""
        dd = self.day(entry.day)
        if entity == "dossier":
            t, invalid = dd.t[entry.index].tolist(), int(dd.small[entry.index, D_INVALID])
        else:
            t, invalid = dd.p_t[entry.index].tolist(), int(dd.p_small[entry.index, P_INVALID])
        if invalid:
            return None  # keep keyless/invalid records out of the paging faults
        for s in range(entry.slot - 1, -1, -1):
            if t[s] < ABSENT:
                return s if t[s] >= start else None
        return None

    @staticmethod
    def is_repeatable(entry: Entry) -> bool:
        return entry.key >= 0
