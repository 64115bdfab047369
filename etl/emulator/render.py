"""The emulator's renderer: feed records (a page, or single records) to the source's JSON.

Records are rendered column-wise: each field's JSON fragment (`,"Name":value`) is built for all
records at once, with numpy, from fixed layouts of digits or from tables of the few spellings a
field has; one join of all fragments makes the page. Invalid records are rare: the one field
each breaks is replaced in its row. One renderer, column-wise: it is the hot path of the benches'
LIMIT baseline (docs/decisions/0020).
"""
from __future__ import annotations

import threading

import msgspec
import numpy as np

from etl.emulator.catalogue import PROVINCE_SUFFIX, Catalogue
from etl.emulator.days import ABSENT, D_AGENCY, D_PROC, DOSSIER_SMALL, P_DOSSIER, PAYMENT_SMALL, DayData, Options
from etl.emulator.spelling import (
    APPLICANT_NAMES, EMPTY_SPELLINGS, PageMess, amount_spelled, applicant_codes, bad_timestamp,
    channel_spelled, choice, dates, fixed_texts, int_spelled, nfd, number_or_digits, padded, timestamps,
)
from etl.emulator.vocabulary import (
    ABSENT_FIELD, APPLICANT_TYPES, DOSSIER_INVALID_KINDS, FEE_TYPE, PAYMENT_INVALID_KINDS, PAYMENT_METHOD,
    PAYMENT_PORTAL, PAYMENT_STATUS, RESULT_SPELLINGS,
)

class _Fragments:
    """A field's JSON fragments by integer code (a small range), each made once, the first
    time a page needs it."""

    def __init__(self, make):
        self._make = make
        self._lock = threading.Lock()
        self._known = (np.empty(0, dtype=object), np.zeros(0, dtype=bool))  # fragments, made

    def __call__(self, codes: np.ndarray) -> np.ndarray:
        table, made = self._known  # one attribute: replaced as a whole when it grows
        if codes.max() < len(table) and made.take(codes).all():
            return table.take(codes)
        with self._lock:
            self._fill(codes)
            return self._known[0].take(codes)

    def _fill(self, codes: np.ndarray) -> None:
        table, made = self._known
        if codes.max() >= len(table):
            grow = codes.max() + 1 - len(table)
            table = np.concatenate([table, np.empty(grow, dtype=object)])
            made = np.concatenate([made, np.zeros(grow, dtype=bool)])
        for code in np.unique(codes[~made.take(codes)]).tolist():
            table[code] = self._make(code)
            made[code] = True
        self._known = table, made


def _gather(days: dict, day: np.ndarray, index: np.ndarray, pick) -> list[np.ndarray]:
    """Columns of a page's rows, in page order: `pick(dd, rows)` reads the rows of one day.
    Read day by day with `take` (fancy indexing copies more), then put in page order."""
    order = np.argsort(day, kind="stable")
    by_day = day.take(order)
    rows = index.take(order)
    bounds = [0, *(np.flatnonzero(np.diff(by_day)) + 1).tolist(), len(day)]
    parts = [pick(days[int(by_day[lo])], rows[lo:hi]) for lo, hi in zip(bounds, bounds[1:])]
    back = np.argsort(order)
    return [np.concatenate(column).take(back, 0) for column in zip(*parts)]


def _dossier_rows(dd: DayData, rows: np.ndarray) -> tuple[np.ndarray, ...]:
    return dd.small.take(rows, 0), dd.big.take(rows, 0), dd.t.take(rows, 0), dd.st.take(rows, 0), \
        dd.mess.take(rows, 0)


def _payment_rows(dd: DayData, rows: np.ndarray) -> tuple[np.ndarray, ...]:
    """The payments' columns, and the agency and procedure of their dossiers."""
    small = dd.p_small.take(rows, 0)
    # `take` from contiguous arrays: from a column or column slice, it copies it whole first.
    owner = dd.small.take(small[:, P_DOSSIER], 0)[:, [D_AGENCY, D_PROC]]
    return small, dd.p_t.take(rows, 0), dd.p_st.take(rows, 0), \
        dd.p_mess.take(rows, 0), owner


BROKEN_EMPTY = (None, ABSENT_FIELD, "", "  ")  # an invalid record's empty key field, by int(u * 4) % 4
# The field each kind of invalid record breaks, and its values by int(u * 4) % 4.
DOSSIER_BREAKS = {
    "MaHoSo_empty": ("MaHoSo", BROKEN_EMPTY),
    "MaTTHC_empty": ("MaTTHC", BROKEN_EMPTY),
    "MaDonVi_empty": ("MaDonVi", BROKEN_EMPTY),
    "TrangThaiHoSo_out_of_range": ("TrangThaiHoSo", (0, 11, "0", "12")),
    "TrangThaiHoSo_not_integer": ("TrangThaiHoSo", ("4.5", "abc", 4.5, "hai")),
    "KenhThucHien_invalid": ("KenhThucHien", (4, "Qua mạng", 0, "5")),
}
PAYMENT_BREAKS = {
    "MaGiaoDich_empty": ("MaGiaoDich", BROKEN_EMPTY),
    "SoTien_empty": ("SoTien", BROKEN_EMPTY),
    "SoTien_unparseable": ("SoTien", ("1,5 triệu", "abc", "15O.000", "1.500.000 USD")),
    "HinhThucThanhToan_invalid": ("HinhThucThanhToan", ("the-tin-dung", "online", "vi-dien-tu", "truc tuyen")),
    "TrangThai_invalid": ("TrangThai", ("dang-xu-ly", "success", "thanh cong", "huy")),
    "ThoiGianGD_empty": ("ThoiGianGD", BROKEN_EMPTY),
}
TIMESTAMP_KINDS = ("timestamp_impossible_date", "timestamp_bad_format", "timestamp_bad_hour")
# The fields of a record, in the order pages serve them (the fragments' columns).
DOSSIER_FIELDS = ("MaHoSo", "MaTTHC", "MaDonVi", "KenhThucHien", "NopTuXa", "LoaiDoiTuong", "ChuHoSo",
                  "SoGiayToChuHoSo", "SoDienThoai", "NgayNopHoSo", "NgayTiepNhan", "NgayHenTra",
                  "NgayKetThucXuLy", "NgayTra", "TrangThaiHoSo", "HinhThucTra", "HoSoCoThanhPhanSoHoa",
                  "KetQuaSoHoa", "NgayCapNhat")
PAYMENT_FIELDS = ("MaGiaoDich", "MaHoSo", "MaTTHC", "MaDonVi", "SoTien", "LoaiPhiLePhi",
                  "HinhThucThanhToan", "KenhThanhToan", "TrangThai", "ThoiGianGD", "NgayCapNhat")


def broken_dossier_field(kind: str, u: float, submitted: int) -> tuple[str, object]:
    """The field an invalid dossier of `kind` breaks and its value (`u`: the record's uniform)."""
    if kind in TIMESTAMP_KINDS:
        return "NgayNopHoSo", bad_timestamp(submitted, kind, u)
    name, values = DOSSIER_BREAKS[kind]
    return name, values[int(u * 4) % 4]


def broken_payment_field(kind: str, u: float, first: int, amount: int, as_number: bool) -> tuple[str, object]:
    """The field an invalid payment of `kind` breaks and its value; a negative amount keeps
    the number it would have been when spelled as one."""
    if kind == "SoTien_negative":
        return "SoTien", -max(amount, 1000) if as_number else -50000
    if kind == "ThoiGianGD_unparseable":
        return "ThoiGianGD", bad_timestamp(first, TIMESTAMP_KINDS[int(u * 3) % 3], u)
    name, values = PAYMENT_BREAKS[kind]
    return name, values[int(u * 4) % 4]


def _replace_field(row: np.ndarray, position: int, fragment: bytes) -> None:
    """Put a field's fragment (`,"Name":value`, or b"" when absent) in a record's row of
    fragments; the first field present opens the object with '{' instead of ','."""
    if position > 0:
        row[position] = fragment
        return
    row[0] = b"{" + fragment[1:]
    if not fragment:
        following = next(k for k in range(1, len(row)) if row[k])
        row[following] = row[following][1:]


class PageRenderer:
    """Renders feed records (any rows of any days: a page, or single records) column-wise."""

    def __init__(self, cat: Catalogue, opts: Options):
        self.clean = opts.clean
        self.encoder = msgspec.json.Encoder()
        self.n_procs, self.n_agencies = len(cat.procedures), len(cat.agencies)
        agency_short = [a.short for a in cat.agencies]
        prefixes = sorted({f"{short}-" for short in agency_short})
        # Dossier keys sort as text by their agency part first: its rank among the agencies'.
        self.agency_rank = np.array([prefixes.index(f"{short}-") for short in agency_short], dtype=np.int64)
        # Known codes, then the codes made up for unknown references.
        procs = [p.code for p in cat.procedures] + [f"2.{990000 + k:06d}" for k in range(37)]
        agencies = [a.code for a in cat.agencies] + [
            f"{900 + k:03d}.00.99.{PROVINCE_SUFFIX}" for k in range(13)]
        # Dossier keys up to their date: one per agency, then the payments' unknown "XX".
        keys = [self._open(f"{PROVINCE_SUFFIX}.{short}-") for short in agency_short]
        keys.append(self._open(f"{PROVINCE_SUFFIX}.XX-"))
        self.dossier_key = np.array([b'{"MaHoSo":' + k for k in keys], dtype=object)
        self.payment_key = np.array([b',"MaHoSo":' + k for k in keys], dtype=object)
        fee_type, fees = cat.proc_fee_type.tolist(), cat.proc_fee.tolist()
        self.fees = cat.proc_fee  # a payment charges its procedure's fee
        spellings = {  # how each field's value follows from its code
            "MaTTHC": lambda c: padded(procs[c // 4], c % 4),
            "MaDonVi": lambda c: padded(agencies[c // 4], c % 4),
            "KenhThucHien": lambda c: channel_spelled(c // 4, c % 4),
            "NopTuXa": lambda c: EMPTY_SPELLINGS[c] if c < 4 else number_or_digits(c - 4),
            "LoaiDoiTuong": lambda c: APPLICANT_TYPES[c],
            "ChuHoSo": lambda c: nfd(APPLICANT_NAMES[c // 2]) if c % 2 else APPLICANT_NAMES[c // 2],
            "TrangThaiHoSo": lambda c: int_spelled(c // 3, c % 3),
            "HinhThucTra": lambda c: int_spelled(c // 3, c % 3),
            "HoSoCoThanhPhanSoHoa": number_or_digits,
            "KetQuaSoHoa": lambda c: RESULT_SPELLINGS[c],
            "SoTien": lambda c: amount_spelled(fees[c // 4], c % 4),
            "LoaiPhiLePhi": lambda c: padded(FEE_TYPE[fee_type[c // 4]], c % 4),
            "HinhThucThanhToan": lambda c: padded(PAYMENT_METHOD[c // 4], c % 4),
            "KenhThanhToan": lambda c: (EMPTY_SPELLINGS[c] if c < 4 else
                                        padded(PAYMENT_PORTAL[(c - 4) // 4], (c - 4) % 4)),
            "TrangThai": lambda c: padded(PAYMENT_STATUS[c // 4], c % 4),
        }
        self.fragments = {name: _Fragments(lambda c, name=name, spell=spell: self._field(name, spell(c)))
                          for name, spell in spellings.items()}
        self._empties: dict[str, np.ndarray] = {}

    def _open(self, text: str) -> bytes:
        """A JSON string without its closing quote: JSON escapes character by character, so
        the rest of the string can follow."""
        return self.encoder.encode(text)[:-1]

    def _field(self, name: str, value) -> bytes:
        if value is ABSENT_FIELD:
            return b""
        return b"," + self.encoder.encode(name) + b":" + self.encoder.encode(value)

    def _or_empty(self, name: str, fragments: np.ndarray, present: np.ndarray, mx: PageMess) -> np.ndarray:
        """The fragments where present, else the record's empty spelling of the field."""
        table = self._empties.get(name)
        if table is None:
            table = np.array([self._field(name, v) for v in EMPTY_SPELLINGS], dtype=object)
            self._empties[name] = table
        missing = ~present
        fragments[missing] = table[mx.empty[missing]]
        return fragments

    def _codes(self, proc, agency, unknown, day, index, mx: PageMess) -> list[np.ndarray]:
        """MaTTHC and MaDonVi, made-up codes for unknown references (1 procedure, 2 agency)."""
        proc = np.where(unknown == 1, self.n_procs + (day + index) % 37, proc)
        agency = np.where(unknown == 2, self.n_agencies + (day + index) % 13, agency)
        return [self.fragments["MaTTHC"](proc * 4 + mx.pad(3)),
                self.fragments["MaDonVi"](agency * 4 + mx.pad(4))]

    def dossiers(self, day_data, day: np.ndarray, index: np.ndarray, slot: np.ndarray) -> bytes:
        """The dossiers (day, index, slot) as JSON objects joined by ','. `day_data(day)` is
        the DayData of a day."""
        return self._page(day_data, day, index, slot, _dossier_rows, self._dossier_fields)

    def payments(self, day_data, day: np.ndarray, index: np.ndarray, slot: np.ndarray) -> bytes:
        """The payments (day, index, slot) as JSON objects joined by ','."""
        return self._page(day_data, day, index, slot, _payment_rows, self._payment_fields)

    def _page(self, day_data, day, index, slot, pick, fields) -> bytes:
        """`fields` gives the fragments of every record, and the fields invalid records break.
        One join makes the page, not one per record (docs/decisions/0020)."""
        if len(day) == 0:
            return b""
        days = {d: day_data(d) for d in np.unique(day).tolist()}
        fragments, broken = fields(day, index, slot, *_gather(days, day, index, pick))
        parts = np.empty((len(day), len(fragments) + 1), dtype=object)  # a record a row, then ","
        for k, column in enumerate(fragments):
            parts[:, k] = column
        parts[:, -1] = b","
        for row, position, fragment in broken:
            _replace_field(parts[row], position, fragment)
        parts[-1, -1] = b""
        return b"".join(parts.ravel().tolist())

    def _dossier_fields(self, day, index, slot, small, big, t, st, u):
        """Fragments of each field of DOSSIER_FIELDS, and the fields invalid records break."""
        k = len(day)
        c = dict(zip(DOSSIER_SMALL, small.T.astype(np.int64)))
        id_number, phone, due = big.T
        mx = PageMess(u, self.clean)
        f = self.fragments
        status = st[np.arange(k), slot].astype(np.int64)
        channel = c["channel"]
        received = (slot >= 1) & (t[:, 1] < ABSENT)
        has_phone = phone >= 0
        ended = (status == 9) | (status == 10)
        submitted = np.where(t[:, 0] < ABSENT, t[:, 0], t[:, 1])
        broken = [(row, DOSSIER_FIELDS.index(name), self._field(name, value)) for row, (name, value) in (
            (row, broken_dossier_field(DOSSIER_INVALID_KINDS[c["invalid"][row] - 1], mx.u[row, 8],
                                       int(submitted[row])))
            for row in _invalid_rows(c, slot))]
        return [
            self.dossier_key.take(c["agency"]) + fixed_texts(k, dates(day), b"-", (index + 1, 7), b'"'),
            *self._codes(c["proc"], c["agency"], c["unknown_ref"], day, index, mx),
            f["KenhThucHien"](channel * 4 + mx.when(choice(mx.u[:, 2], (0.6, 0.75, 0.88)))),
            f["NopTuXa"](np.where(channel == 2, 4 + c["remote"] * 2 + 1 - mx.below(7, 0.1), mx.empty)),
            f["LoaiDoiTuong"](c["applicant_type"]),
            f["ChuHoSo"](applicant_codes(c, id_number) * 2 + mx.below(6, 0.1)),
            fixed_texts(k, b',"SoGiayToChuHoSo":"', (id_number, 12), b'"'),
            self._or_empty("SoDienThoai", fixed_texts(k, b',"SoDienThoai":"0', (
                np.where(has_phone, phone, 10**8), 9, True), b'"'), has_phone, mx),
            timestamps("NgayNopHoSo", submitted, mx.slashed),
            self._timestamp_or_empty("NgayTiepNhan", t[:, 1], received, submitted, mx),
            self._timestamp_or_empty("NgayHenTra", due, received & (due >= 0), submitted, mx),
            self._timestamp_or_empty("NgayKetThucXuLy", t[:, 5], ended, submitted, mx),
            self._timestamp_or_empty("NgayTra", t[:, 6], status == 10, submitted, mx),
            f["TrangThaiHoSo"](status * 3 + mx.int_code(1, 0.3)),
            f["HinhThucTra"](c["return_mode"] * 3 + mx.int_code(7, 0.2)),
            f["HoSoCoThanhPhanSoHoa"](c["digitized"] * 2 + 1 - mx.above(7, 0.9)),
            f["KetQuaSoHoa"](np.where(c["result_form"] > 0, 3 + c["result_form"],
                                      np.where(ended, c["result"], 0) + 2 * mx.above(10, 0.9))),
            timestamps("NgayCapNhat", t[np.arange(k), slot], mx.slashed, b'"}'),
        ], broken

    def _timestamp_or_empty(self, name: str, t: np.ndarray, present: np.ndarray, stand_in: np.ndarray,
                            mx: PageMess) -> np.ndarray:
        """Timestamps where present, else empty; absent times are formatted as `stand_in`
        (times of the page's days) before being replaced, to keep the day tables small."""
        formatted = timestamps(name, np.where(present, t, stand_in), mx.slashed)
        return self._or_empty(name, formatted, present, mx)

    def _payment_fields(self, day, index, slot, small, t, st, u, owner):
        """Fragments of each field of PAYMENT_FIELDS, and the fields invalid records break."""
        k = len(day)
        c = dict(zip(PAYMENT_SMALL, small.T.astype(np.int64)))
        agency, proc = owner.T.astype(np.int64)
        mx = PageMess(u, self.clean)
        f = self.fragments
        date = dates(day)
        unknown, portal = c["unknown_ref"], c["portal"]
        first = np.where(t[:, 0] < ABSENT, t[:, 0], t[:, 1])
        amount_spelling = mx.when(choice(mx.u[:, 6], (0.5, 0.7, 0.85)))
        broken = [(row, PAYMENT_FIELDS.index(name), self._field(name, value)) for row, (name, value) in (
            (row, broken_payment_field(PAYMENT_INVALID_KINDS[c["invalid"][row] - 1], mx.u[row, 8],
                                       int(first[row]), int(self.fees[proc[row]]), amount_spelling[row] == 0))
            for row in _invalid_rows(c, slot))]
        return [
            fixed_texts(k, b'{"MaGiaoDich":"GD', date, (c["dossier"] + 1, 7), (c["attempt"], 1), b'"'),
            self._payment_dossier(c["dossier"], agency, unknown, date, index, mx),
            *self._codes(proc, agency, unknown, day, index, mx),
            f["SoTien"](proc * 4 + amount_spelling),
            f["LoaiPhiLePhi"](proc * 4 + mx.pad(9)),
            f["HinhThucThanhToan"](c["method"] * 4 + mx.pad(2)),
            f["KenhThanhToan"](np.where(portal >= 0, 4 + portal * 4 + mx.pad(7), mx.empty)),
            f["TrangThai"](st[np.arange(k), slot].astype(np.int64) * 4 + mx.pad(1)),
            timestamps("ThoiGianGD", first, mx.slashed),
            timestamps("NgayCapNhat", t[np.arange(k), slot], mx.slashed, b'"}'),
        ], broken

    def _payment_dossier(self, dossier, agency, unknown, date, index, mx: PageMess) -> np.ndarray:
        """MaHoSo of a payment: its dossier's key; none (3) or a made-up key (4) when unknown."""
        made_up = unknown == 4
        owner = np.where(made_up, self.n_agencies, agency)
        seq = np.where(made_up, 9_000_000 + index, dossier + 1)
        keys = self.payment_key.take(owner) + fixed_texts(len(date), date, b"-", (seq, 7), b'"')
        return self._or_empty("MaHoSo", keys, unknown != 3, mx)


def _invalid_rows(c: dict, slot: np.ndarray) -> list[int]:
    """Rows served invalid: records of an invalid kind, from their first invalid version on."""
    return np.flatnonzero((c["invalid"] > 0) & (slot >= c["invalid_from"])).tolist()
