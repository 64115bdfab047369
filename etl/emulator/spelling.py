"""Spelling helpers of the renderer: fixed-layout ASCII texts built column-wise with numpy,
local timestamps in the contract's two formats, and each record's messy choices (PageMess)."""
from __future__ import annotations

import functools
import unicodedata

import numpy as np

from etl.emulator.catalogue import day_of
from etl.emulator.vocabulary import (
    ABSENT_FIELD, BUSINESS_KINDS, BUSINESS_WORDS, CHANNEL_LABELS, FAMILY_NAMES, GIVEN_FEMALE, GIVEN_MALE,
    MIDDLE_FEMALE, MIDDLE_MALE, ORG_KINDS,
)
from etl.emulator.workdays import DAY

_DAY_TEXT: dict[int, tuple[str, str]] = {}


def day_text(day: int) -> tuple[str, str]:
    """A local day as yyyyMMdd and dd/MM/yyyy, kept once made (a history has few days)."""
    text = _DAY_TEXT.get(day)
    if text is None:
        d = day_of(day)
        text = (f"{d.year:04d}{d.month:02d}{d.day:02d}", f"{d.day:02d}/{d.month:02d}/{d.year:04d}")
        if len(_DAY_TEXT) < 200_000:
            _DAY_TEXT[day] = text
    return text


_TOD_COMPACT = [f"{h:02d}{m:02d}{x:02d}" for h in range(24) for m in range(60) for x in range(60)]
_TOD_SLASHED = [f" {h:02d}:{m:02d}:{x:02d}" for h in range(24) for m in range(60) for x in range(60)]


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def bad_timestamp(t: int, kind: str, u: float) -> str:
    """An unparseable timestamp of an invalid record, near `t`, of the kind named."""
    compact, slash = day_text(int(t) // DAY)
    if kind == "timestamp_impossible_date":
        return f"31/02/{slash[-4:]} 10:00:00" if u < 0.5 else f"{compact[:4]}0230093000"
    if kind == "timestamp_bad_format":
        return f"{compact}10" if u < 0.5 else f"{slash[:5]} 10:00"
    return f"{compact}251000" if u < 0.5 else f"{slash} 25:10:00"


EMPTY_SPELLINGS = (None, ABSENT_FIELD, "", "   ")  # a record's empty value, by PageMess.empty code


def _digit_pairs() -> np.ndarray:
    ascii_pairs = np.array([[ord("0") + p // 10, ord("0") + p % 10] for p in range(100)], dtype=np.uint8)
    return ascii_pairs.view(np.uint16).ravel()


_PAIRS = _digit_pairs()  # ASCII of 00 … 99 as uint16: one division per two digits


def _digits(values: np.ndarray, width: int, natural: bool = False) -> np.ndarray:
    """Decimal digits (ASCII) of non-negative integers, `width` per row, zero-padded; with
    `natural`, every value must have exactly `width` digits. A value that does not fit fails
    loudly rather than being served in another spelling than the per-record path's."""
    lowest = 10 ** (width - 1) if natural else 0
    if values.min() < lowest or values.max() >= 10 ** width:
        raise ValueError(f"a value does not fit {width} digits")
    pairs = -(-width // 2)
    out = np.empty((len(values), pairs), dtype=np.uint16)
    rest = values.astype(np.int64)
    for k in range(pairs - 1, -1, -1):
        rest, pair = np.divmod(rest, 100)
        out[:, k] = _PAIRS.take(pair)
    return out.view(np.uint8)[:, 2 * pairs - width:]  # an odd width drops the leading "0"


def fixed_texts(rows: int, *pieces) -> np.ndarray:
    """Fixed-layout ASCII texts, one per row (object array of bytes), from constant bytes,
    uint8 matrices and (values, width[, natural]) digit columns."""
    columns = [np.broadcast_to(np.frombuffer(p, np.uint8), (rows, len(p))) if isinstance(p, bytes)
               else p if isinstance(p, np.ndarray) else _digits(*p) for p in pieces]
    matrix = np.concatenate(columns, axis=1)
    return matrix.view(f"S{matrix.shape[1]}").ravel().astype(object)


def _day_texts(first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
    """`day_text` of days first … last as uint8 matrices: yyyyMMdd, and dd/MM/yyyy."""
    texts = [day_text(d) for d in range(first, last + 1)]
    compact = "".join(c for c, _ in texts).encode()
    slashed = "".join(s for _, s in texts).encode()
    return (np.frombuffer(compact, np.uint8).reshape(-1, 8),
            np.frombuffer(slashed, np.uint8).reshape(-1, 10))


@functools.cache
def _tod_texts() -> tuple[np.ndarray, np.ndarray]:
    """_TOD_COMPACT and _TOD_SLASHED as uint8 matrices indexed by second of the day."""
    return (np.frombuffer("".join(_TOD_COMPACT).encode(), np.uint8).reshape(DAY, 6),
            np.frombuffer("".join(_TOD_SLASHED).encode(), np.uint8).reshape(DAY, 9))


def choice(u: np.ndarray, thresholds) -> np.ndarray:
    """Which interval between increasing thresholds each uniform falls in (0: below the first)."""
    return np.searchsorted(np.asarray(thresholds, dtype=np.float64), u, side="right")


class PageMess:
    """The spelling choices of a page's rows, from their uniforms, as code columns; all 0 when clean."""

    def __init__(self, u: np.ndarray, clean: bool):
        # float64: the thresholds are float64, and the spellings served must not move with the dtype.
        self.u, self.clean = u.astype(np.float64), clean
        self.slashed = self.when(self.u[:, 0] < 0.25)
        self.empty = self.when(choice(self.u[:, 5], (0.55, 0.7, 0.85)))

    def when(self, codes: np.ndarray) -> np.ndarray:
        return np.zeros_like(codes) if self.clean else codes

    def pad(self, col: int, rate: float = 0.04) -> np.ndarray:
        """0 as is, 1 " x", 2 "x ", 3 "  x  " (`padded`)."""
        u = self.u[:, col]
        return self.when(np.where(u >= rate, 0, 1 + choice(u / rate, (0.4, 0.8))))

    def int_code(self, col: int, rate: float) -> np.ndarray:
        """0 a number, 1 its digits, 2 " digits " (`int_spelled`)."""
        u = self.u[:, col]
        return self.when(np.where(u >= rate, 0, np.where(u < rate * 0.1, 2, 1)))

    def below(self, col: int, level: float) -> np.ndarray:
        return self.when((self.u[:, col] < level).astype(np.int64))

    def above(self, col: int, level: float) -> np.ndarray:
        return self.when((self.u[:, col] > level).astype(np.int64))


def padded(value: str, code: int) -> str:
    return (value, f" {value}", f"{value} ", f"  {value}  ")[code]


def int_spelled(value: int, code: int):
    return (value, str(value), f" {value} ")[code]


def amount_spelled(amount: int, code: int):
    dotted = f"{amount:,}".replace(",", ".")
    return (amount, str(amount), dotted, f"{dotted} đ")[code]


def channel_spelled(channel: int, code: int):
    label = CHANNEL_LABELS[channel]
    return (channel, str(channel), label, nfd(label))[code]


ORG_KIND_CHOICES = 4  # an organization's kind is kinds[id_number % 4]


def _applicant_names() -> list[str]:
    """Every applicant name (ChuHoSo), by the code `applicant_codes` gives: people
    (gender, family, middle, given), then businesses and organizations (type, kind, word)."""
    people = [f"{FAMILY_NAMES[f]} {middle[m]} {given[g]}"
              for middle, given in ((MIDDLE_MALE, GIVEN_MALE), (MIDDLE_FEMALE, GIVEN_FEMALE))
              for f in range(len(FAMILY_NAMES))  # middle and given are drawn below the male lists' lengths
              for m in range(len(MIDDLE_MALE)) for g in range(len(GIVEN_MALE))]
    others = [f"{kinds[k]} {word}" for kinds in (BUSINESS_KINDS, ORG_KINDS)
              for k in range(ORG_KIND_CHOICES) for word in BUSINESS_WORDS]
    return people + others


APPLICANT_NAMES = _applicant_names()
N_PEOPLE = 2 * len(FAMILY_NAMES) * len(MIDDLE_MALE) * len(GIVEN_MALE)


def applicant_codes(c: dict, id_number: np.ndarray) -> np.ndarray:
    """Index in APPLICANT_NAMES of each dossier's applicant (`c`: DOSSIER_SMALL columns)."""
    person = ((c["gender"] * len(FAMILY_NAMES) + c["family"]) * len(MIDDLE_MALE)
              + c["middle"]) * len(GIVEN_MALE) + c["given"]
    kind = id_number % ORG_KIND_CHOICES
    word = (id_number // 7) % len(BUSINESS_WORDS)
    organization = N_PEOPLE + ((c["applicant_type"] - 1) * ORG_KIND_CHOICES + kind) \
        * len(BUSINESS_WORDS) + word
    return np.where(c["applicant_type"] == 0, person, organization)


def number_or_digits(code: int):
    value, as_text = divmod(code, 2)
    return str(value) if as_text else value


def timestamps(name: str, t: np.ndarray, slashed: np.ndarray, close: bytes = b'"') -> np.ndarray:
    """`,"name":"<local time>"` fragments: yyyyMMddHHmmss, or dd/MM/yyyy HH:mm:ss where slashed."""
    day, tod = np.divmod(t, DAY)
    first = int(day.min())
    day -= first
    compact, slash = _day_texts(first, first + int(day.max()))
    tod_compact, tod_slash = _tod_texts()
    head = b',"%s":"' % name.encode()
    out = fixed_texts(len(t), head, compact.take(day, 0), tod_compact.take(tod, 0), close)
    if slashed.any():
        day, tod = day[slashed], tod[slashed]
        out[slashed] = fixed_texts(len(day), head, slash.take(day, 0), tod_slash.take(tod, 0), close)
    return out


def dates(day: np.ndarray) -> np.ndarray:
    """yyyyMMdd of local day numbers, as a uint8 matrix."""
    first = int(day.min())
    return _day_texts(first, int(day.max()))[0].take(day - first, 0)
