"""Feed windows: the records whose current version changed in [start, end), in feed order."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from etl.emulator.days import (
    D_AGENCY, D_INVALID, D_INVALID_FROM, P_ATTEMPT, P_DOSSIER, P_INVALID, P_INVALID_FROM, DayData,
)
from etl.emulator.spelling import day_text

class Entry(NamedTuple):
    """One record of a window: where it is generated and which version is current."""
    t: int
    key: int      # numeric image of the feed key, ordered as the key text; -1 when keyless
    day: int
    index: int
    slot: int


ID_SPAN = 10_000_000  # records of one day and entity are numbered below this


class Window:
    """The records of one feed window in feed order, (NgayCapNhat, key, internal id), as
    parallel arrays: compact enough for a window of months of a large province."""

    def __init__(self, t: np.ndarray, key: np.ndarray, iid: np.ndarray, slot: np.ndarray):
        order = np.lexsort((iid, key, t))
        self.t, self.key, self.iid, self.slot = t[order], key[order], iid[order], slot[order]

    def __len__(self) -> int:
        return len(self.t)

    def entries(self, lo: int, hi: int) -> list[Entry]:
        lo, hi = self._bounds(lo, hi)
        day, index, slot = self.rows(lo, hi)
        return [Entry(*row) for row in zip(self.t[lo:hi].tolist(), self.key[lo:hi].tolist(),
                                            day.tolist(), index.tolist(), slot.tolist())]

    def rows(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Day, index within the day and slot of records [lo, hi), as arrays."""
        lo, hi = self._bounds(lo, hi)
        day, index = np.divmod(self.iid[lo:hi], ID_SPAN)
        return day, index, self.slot[lo:hi]

    def _bounds(self, lo: int, hi: int) -> tuple[int, int]:
        return max(lo, 0), max(min(hi, len(self.t)), 0)


def current_versions(entity: str, dd: DayData, now: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The day's records with a version visible at `now`, ordered by the time of the latest
    such version: (index, time, slot). Every window of a backfill reads the same ~60 days
    at the same clock, so the day keeps this for the last clock asked."""
    cached = dd.current.get(entity)
    if cached is not None and cached[0] == now:
        return cached[1]
    t = dd.t if entity == "dossier" else dd.p_t
    visible = t <= now
    slot = t.shape[1] - 1 - np.argmax(visible[:, ::-1], axis=1)
    current = t[np.arange(t.shape[0]), slot]
    index = np.flatnonzero(visible.any(axis=1))
    index = index[np.argsort(current[index], kind="stable")]
    versions = index, current[index], slot[index].astype(np.int8)
    dd.current[entity] = (now, versions)
    return versions

def sort_keys(entity: str, dd: DayData, chosen: np.ndarray, slots: np.ndarray,
              agency_rank: np.ndarray) -> np.ndarray:
    """Integers ordered as the records' feed keys are as text; -1 for a keyless version.

    Dossier keys are `G18.<agency>-<yyyymmdd>-<seq>` (agency part of varying length, ranked
    as text with its '-'), payment keys `GD<yyyymmdd><seq><attempt>`: fixed-width digits."""
    date = int(day_text(dd.day)[0])
    if entity == "dossier":
        packed = dd.small[chosen]
        keyless = (packed[:, D_INVALID] == 1) & (slots >= packed[:, D_INVALID_FROM])
        rank = agency_rank[packed[:, D_AGENCY]]
        key = rank * 10**15 + date * ID_SPAN + chosen + 1
    else:
        packed = dd.p_small[chosen]
        keyless = (packed[:, P_INVALID] == 1) & (slots >= packed[:, P_INVALID_FROM])
        key = date * 10**8 + (packed[:, P_DOSSIER].astype(np.int64) + 1) * 10 + packed[:, P_ATTEMPT]
    return np.where(keyless, -1, key).astype(np.int64)
