"""Deterministic, lazy generation of the emulated province's dossiers and payments.

Everything is drawn per local submission day from an RNG seeded with (seed, day), vectorized
with numpy, so a window only needs the days whose records can have versions in it: every
version of a dossier and of its payments falls within `LIFE_DAYS` of its submission day. Days
are kept in a bounded LRU cache; records are rendered to JSON only when a page asks for them.

A record is a fixed set of *slots* (lifecycle versions), each with a local-seconds timestamp
(`ABSENT` when the record never reaches it) and a status. The state served for a clock `now` is
the last slot with time ≤ now; its time is the record's NgayCapNhat.
"""
from __future__ import annotations

import csv
import datetime as dt
import functools
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import msgspec
import numpy as np

from etl.emulator.catalogue import (
    PROVINCE_ID_PREFIX, PROVINCE_SUFFIX, SIZES, Catalogue, agency_record, build_catalogue,
    day_number, day_of,
)

DAY = 86400
HOUR = 3600
LIFE_DAYS = 60
ABSENT = np.iinfo(np.int64).max // 4
ABSENT_FIELD = object()  # marks a field left out of the JSON object ("empty = absent")

DOSSIER_SLOTS = 7  # registered, received/rejected, processing, paused, resumed, ended, returned
PAYMENT_SLOTS = 3  # initiated, succeeded/failed, refunded
PAYMENT_STATUS = ("khoi-tao", "thanh-cong", "that-bai", "hoan-phi")
PAYMENT_METHOD = ("truc-tuyen", "tien-mat", "chuyen-khoan")
PAYMENT_PORTAL = ("DVCQG", "DVC_TINH")
FEE_TYPE = ("PHI", "LE_PHI")
CHANNEL_LABELS = {1: "Trực tiếp", 2: "Trực tuyến", 3: "Bưu chính công ích"}
APPLICANT_TYPES = ("Công dân", "Doanh nghiệp", "Tổ chức")

DOSSIER_INVALID_KINDS = (
    "MaHoSo_empty", "MaTTHC_empty", "MaDonVi_empty", "TrangThaiHoSo_out_of_range",
    "TrangThaiHoSo_not_integer", "KenhThucHien_invalid", "timestamp_impossible_date",
    "timestamp_bad_format", "timestamp_bad_hour",
)
PAYMENT_INVALID_KINDS = (
    "MaGiaoDich_empty", "SoTien_empty", "SoTien_unparseable", "SoTien_negative",
    "HinhThucThanhToan_invalid", "TrangThai_invalid", "ThoiGianGD_empty", "ThoiGianGD_unparseable",
)
N_MESS = 12
# KetQuaSoHoa as served, by code (see result_code): "0"/"1", 0/1, absent, junk that reads as 0.
RESULT_SPELLINGS = ("0", "1", 0, 1, ABSENT_FIELD, "2", "có")
RESULT_JUNK_RATE = 0.003

FAMILY_NAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
                "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Đinh", "Trịnh", "Lương", "Mai"]
FAMILY_WEIGHTS = np.array([38, 11, 9.5, 7, 5, 4, 4.5, 3.9, 3, 2.1, 2, 1.4, 1.3, 1.3, 1, 0.5,
                           1, 0.8, 0.8, 0.6])
MIDDLE_MALE = ["Văn", "Hữu", "Đức", "Minh", "Quốc", "Thanh", "Công", "Xuân", "Đình", "Tuấn"]
MIDDLE_FEMALE = ["Thị", "Thị", "Ngọc", "Thu", "Thanh", "Minh", "Kim", "Phương", "Bảo", "Hồng"]
GIVEN_MALE = ["An", "Bình", "Cường", "Dũng", "Hải", "Hiếu", "Hùng", "Khánh", "Long", "Nam",
              "Phúc", "Quân", "Sơn", "Tâm", "Thắng", "Tuấn", "Việt", "Vinh", "Hoàng", "Đạt"]
GIVEN_FEMALE = ["Anh", "Châu", "Dung", "Giang", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh",
                "Mai", "Nga", "Ngân", "Nhung", "Phương", "Thảo", "Trang", "Uyên", "Vy", "Yến"]
BUSINESS_WORDS = ["Hạ Long", "Bạch Đằng", "Vân Đồn", "Hòn Gai", "Đông Bắc", "Cửa Ông",
                  "Minh Phát", "Thành Công", "Hưng Thịnh", "An Phú", "Tân Việt", "Quảng Ninh"]
BUSINESS_KINDS = ["Công ty TNHH", "Công ty cổ phần", "Công ty TNHH MTV", "Doanh nghiệp tư nhân"]
ORG_KINDS = ["Hợp tác xã", "Trường Mầm non", "Hội Nông dân", "Chi hội Cựu chiến binh"]
PHONE_PREFIXES = [90, 91, 93, 94, 96, 97, 98, 32, 33, 34, 35, 36, 37, 38, 39, 70, 76, 77, 78,
                  79, 81, 82, 83, 84, 85, 86, 88, 89]

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


def _roll_to_office_hours(t: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Move instants outside office hours to the next working morning (8:00–10:00)."""
    day, tod = np.divmod(t, DAY)
    after_hours = (tod >= 17 * HOUR) | (tod < 7 * HOUR + 1800)
    day = np.where(tod >= 17 * HOUR, day + 1, day)
    working = business_day_offset(day, 0)
    moved = after_hours | (working != day)
    morning = 8 * HOUR + (u * 2 * HOUR).astype(np.int64)
    return np.where(moved, working * DAY + morning, day * DAY + tod)


@dataclass
class Options:
    seed: int = 42
    start: dt.date = dt.date(2025, 5, 1)
    end: dt.date = dt.date(2025, 8, 1)
    size: str = "small"
    dossiers_per_day: int | None = None
    invalid_rate: float = 0.005
    unknown_ref_rate: float = 0.005
    clean: bool = False

    @property
    def volume(self) -> int:
        return self.dossiers_per_day if self.dossiers_per_day is not None else SIZES[self.size].dossiers_per_day


DOSSIER_SMALL = ("agency", "proc", "channel", "remote", "applicant_type", "return_mode",
                 "digitized", "gender", "family", "middle", "given", "invalid", "invalid_from",
                 "unknown_ref", "result", "result_form")
DOSSIER_BIG = ("id_number", "phone", "due")
PAYMENT_SMALL = ("dossier", "attempt", "method", "portal", "invalid", "invalid_from", "unknown_ref")
D_AGENCY, D_PROC, D_INVALID, D_INVALID_FROM = (
    DOSSIER_SMALL.index(c) for c in ("agency", "proc", "invalid", "invalid_from"))
P_DOSSIER, P_ATTEMPT, P_INVALID, P_INVALID_FROM = (
    PAYMENT_SMALL.index(c) for c in ("dossier", "attempt", "invalid", "invalid_from"))


@dataclass
class DayData:
    """One local submission day: its dossiers and their payments, as packed columns.

    Scalar attributes are packed in one matrix per width, so rendering one record costs a
    couple of `tolist()` calls instead of dozens of numpy scalar reads.
    """
    day: int
    n: int
    small: np.ndarray   # int32 [n, len(DOSSIER_SMALL)]
    big: np.ndarray     # int64 [n, len(DOSSIER_BIG)]; due = NgayHenTra or -1
    t: np.ndarray       # int64 [n, DOSSIER_SLOTS] local seconds or ABSENT
    st: np.ndarray      # int8 [n, DOSSIER_SLOTS] TrangThaiHoSo of each slot
    mess: np.ndarray    # float32 [n, N_MESS] uniforms that pick the messy spellings
    m: int
    p_small: np.ndarray  # int32 [m, len(PAYMENT_SMALL)]
    p_t: np.ndarray     # int64 [m, PAYMENT_SLOTS]
    p_st: np.ndarray    # int8 [m, PAYMENT_SLOTS] index into PAYMENT_STATUS
    p_mess: np.ndarray
    # By entity: (clock, versions current at that clock) for the last clock a window asked;
    # see Generator._current.
    current: dict = field(default_factory=dict)

    def column(self, name: str) -> np.ndarray:
        if name in DOSSIER_SMALL:
            return self.small[:, DOSSIER_SMALL.index(name)]
        if name in DOSSIER_BIG:
            return self.big[:, DOSSIER_BIG.index(name)]
        return self.p_small[:, PAYMENT_SMALL.index(name.removeprefix("p_"))]


def _last_present_slot(t: np.ndarray) -> np.ndarray:
    present = t < ABSENT
    width = t.shape[1]
    return (width - 1 - np.argmax(present[:, ::-1], axis=1)).astype(np.int8)


def generate_day(cat: Catalogue, opts: Options, day: int) -> DayData:
    """All dossiers submitted on local day `day` and their payments; a pure function of
    (catalogue, options, day) — the RNG is seeded from (seed, day) and drawn in a fixed order."""
    rng = np.random.default_rng(np.random.SeedSequence([opts.seed, day, 0xD055]))
    d = _draw_submissions(rng, cat, opts, day)
    t, st, due = _draw_lifecycles(cat, d, day)
    applicants = _draw_applicants(rng, d["U"], d["n"])
    n = d["n"]
    mess = rng.random((n, N_MESS), dtype=np.float32)
    invalid, invalid_from, unknown_ref = _defects(rng, opts, t, len(DOSSIER_INVALID_KINDS), 2)
    result, result_form = _draw_results(cat, opts, d, day)
    p = _draw_payments(rng, cat, d, t, st, day)
    m = len(p["dossier"])
    p["invalid"], p["invalid_from"], p["unknown_ref"] = _defects(
        rng, opts, p["t"], len(PAYMENT_INVALID_KINDS), 4)
    columns = dict(d, **applicants, invalid=invalid, invalid_from=invalid_from, unknown_ref=unknown_ref,
                   result=result, result_form=result_form)
    return DayData(
        day=day, n=n,
        small=_pack([columns[c] for c in DOSSIER_SMALL], np.int32, n),
        big=_pack([applicants["id_number"], applicants["phone"], due], np.int64, n),
        t=t, st=st, mess=mess,
        m=m,
        p_small=_pack([p[c] for c in PAYMENT_SMALL], np.int32, m),
        p_t=p["t"], p_st=p["st"],
        p_mess=rng.random((m, N_MESS), dtype=np.float32),
    )


def _draw_submissions(rng, cat: Catalogue, opts: Options, day: int) -> dict:
    """Who submits what, where and how on this day (agency, procedure, channel, NopTuXa)."""
    business = is_business_day(day)
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday
    # Offline dossiers vanish on days off; weigh working days up so the mean stays near volume.
    lam = opts.volume * (1.25 if business else (1.05 if weekday >= 5 else 0.6))
    n_raw = int(rng.poisson(lam))
    date = day_of(day)
    valid = np.array([a.valid_on(date) for a in cat.agencies])
    weights = np.array([a.weight for a in cat.agencies]) * valid
    agency = rng.choice(len(cat.agencies), size=n_raw, p=weights / weights.sum()).astype(np.int32)
    level = cat.level_of_agency[agency]
    proc = np.zeros(n_raw, dtype=np.int32)
    for lv, (idx, prob) in enumerate(cat.procs_by_level):
        mask = level == lv
        proc[mask] = rng.choice(idx, size=int(mask.sum()), p=prob)
    U = rng.random((n_raw, 24))  # one column per independent decision below
    params = cat.agency_params[agency]
    upgraded = day >= cat.proc_upgrade_day[proc]
    not_online = cat.proc_not_online_v1[proc] & ~upgraded
    # Online uptake grows a little every month (the provincial digital-transformation push).
    trend = (day - day_number(dt.date(2024, 1, 1))) / 365.0 * 0.06
    p_online = np.where(cat.proc_internal[proc], cat.agency_v11[agency, 0],
                        np.clip(params[:, 0] + trend, 0.02, 0.98)) * np.where(not_online, 0.03, 1.0)
    channel = np.where(U[:, 0] < p_online, 2, np.where(U[:, 0] > 1 - params[:, 2], 3, 1)).astype(np.int8)
    keep = (channel == 2) | (U[:, 1] > 0.93) if not business else np.ones(n_raw, dtype=bool)
    agency, proc, channel, U, params, upgraded = (
        agency[keep], proc[keep], channel[keep], U[keep], params[keep], upgraded[keep])
    remote = np.where(channel == 2, (U[:, 2] < params[:, 1]).astype(np.int8), -1).astype(np.int8)
    return dict(n=int(keep.sum()), agency=agency, proc=proc, channel=channel, remote=remote,
                U=U, params=params, upgraded=upgraded,
                return_mode=(U[:, 19] < np.where(channel == 3, 0.7, params[:, 5])).astype(np.int8),
                digitized=(U[:, 20] < params[:, 3]).astype(np.int8),
                applicant_type=np.searchsorted([0.8, 0.94], U[:, 21]).astype(np.int8))


def _draw_results(cat: Catalogue, opts: Options, d: dict, day: int) -> tuple[np.ndarray, np.ndarray]:
    """KetQuaSoHoa: whether the result is issued digitized (0/1), and how it is served (0 as is,
    1 absent: older agency software, 2 or 3 junk). Own stream, so the v1 draws are unchanged."""
    rng = np.random.default_rng(np.random.SeedSequence([opts.seed, day, 0x5011]))
    u = rng.random((d["n"], 2))
    agency = d["agency"]
    p = np.where(d["channel"] == 2, cat.agency_v11[agency, 1], cat.agency_v11[agency, 2])
    result = (u[:, 0] < p).astype(np.int8)
    if opts.clean:
        return result, np.zeros(d["n"], np.int8)
    junk = u[:, 1] < RESULT_JUNK_RATE
    form = np.where(~cat.agency_exports_result[agency], 1,
                    np.where(junk, 2 + (u[:, 1] < RESULT_JUNK_RATE / 2), 0)).astype(np.int8)
    return result, form


def result_code(result: int, form: int, status: int, numeric: bool) -> int:
    """Index in RESULT_SPELLINGS of a dossier's KetQuaSoHoa: 0 until processing ends."""
    if form:
        return 3 + form
    return (result if status in (9, 10) else 0) + 2 * numeric


def _draw_lifecycles(cat: Catalogue, d: dict, day: int):
    """Version times and statuses of each dossier (slots), and its due date (NgayHenTra)."""
    U, params, proc, channel = d["U"], d["params"], d["proc"], d["channel"]
    n = d["n"]
    online = channel == 2
    office_tod = 7 * HOUR + 1800 + (U[:, 3] * 9.5 * HOUR).astype(np.int64)
    online_tod = np.where(U[:, 4] < 0.9, 6 * HOUR + (U[:, 3] * 17 * HOUR),
                          U[:, 3] * DAY).astype(np.int64)
    t_sub = day * DAY + np.where(online, online_tod, office_tod)
    in_person = channel == 1
    t_recv = np.where(in_person, t_sub,
                      _roll_to_office_hours(t_sub + 1800 + (U[:, 5] * 30 * HOUR).astype(np.int64), U[:, 6]))

    u = U[:, 7]
    registered_only = ~in_person & (u < 0.02)
    rejected = ~registered_only & (u >= 0.02) & (u < 0.05)
    withdrawn = (u >= 0.05) & (u < 0.065)
    stopped = (u >= 0.065) & (u < 0.07)
    finished = u >= 0.07
    has_fee = cat.proc_fee[proc] > 0
    paused = finished & (U[:, 8] < 0.08)

    t = np.full((n, DOSSIER_SLOTS), ABSENT, dtype=np.int64)
    st = np.zeros((n, DOSSIER_SLOTS), dtype=np.int8)
    st[:] = (1, 2, 4, 5, 4, 9, 10)
    t[:, 0] = np.where(in_person, ABSENT, t_sub)
    t[:, 1] = np.where(registered_only, ABSENT, t_recv)
    st[:, 1] = np.where(rejected, 3, 2)
    working = ~registered_only & ~rejected
    # Most dossiers are assigned to a handler within hours; some of those with longer legal
    # deadlines wait a day or two.
    legal = cat.proc_legal_days[proc].astype(np.int64)
    may_wait = (legal < 0) | (legal >= 5)
    wait = np.where((U[:, 9] < 0.7) | ~may_wait, (U[:, 9] % 0.7) / 0.7 * 4 * HOUR,
                    (U[:, 9] - 0.7) / 0.3 * 2 * DAY)
    t_proc = t_recv + 600 + wait.astype(np.int64)
    t[:, 2] = np.where(working, t_proc, ABSENT)
    t_pause = t_proc + DAY + (U[:, 10] * 4 * DAY).astype(np.int64)
    t_resume = t_pause + DAY + (U[:, 11] * 6 * DAY).astype(np.int64)
    t[:, 3] = np.where(paused, t_pause, ABSENT)
    st[:, 3] = np.where(paused & has_fee & (U[:, 12] < 0.4), 6, 5)
    t[:, 4] = np.where(paused, t_resume, ABSENT)

    recv_day = t_recv // DAY
    has_deadline = legal >= 0
    due_day = business_day_offset(recv_day, np.maximum(legal, 0))
    due = np.where(has_deadline & working, due_day * DAY + 17 * HOUR, -1)
    on_time = U[:, 13] < params[:, 4]
    offset = np.where(has_deadline,
                      np.where(on_time, np.floor(U[:, 14] * (legal + 1)), legal + 1 + np.floor(U[:, 14] * 6)),
                      1 + np.floor(U[:, 14] * 15)).astype(np.int64)
    t_fin = business_day_offset(recv_day, offset) * DAY + 8 * HOUR + (U[:, 15] * 9 * HOUR).astype(np.int64)
    before = np.where(paused, t_resume, t_proc)
    t_fin = np.maximum(t_fin, before + HOUR + (U[:, 16] * DAY).astype(np.int64))
    # A dossier meant to be on time still is when work started before its due date.
    rescue = on_time & has_deadline & (t_fin > due) & (before + 600 < due)
    t_fin = np.where(rescue, before + 600 + ((due - before - 600) * U[:, 15]).astype(np.int64), t_fin)
    t_stop = t_proc + DAY + (U[:, 16] * 10 * DAY).astype(np.int64)
    t[:, 5] = np.where(finished, t_fin, np.where(withdrawn | stopped, t_stop, ABSENT))
    st[:, 5] = np.where(withdrawn, 7, np.where(stopped, 8, 9))
    returned = finished & (U[:, 17] < 0.88)
    t_return = _roll_to_office_hours(t_fin + 1800 + (U[:, 18] * 4 * DAY).astype(np.int64), U[:, 6])
    t[:, 6] = np.where(returned, np.maximum(t_return, t_fin + 60), ABSENT)
    _bound_lifecycle(t, day)
    return t, st, due


def _draw_applicants(rng, U: np.ndarray, n: int) -> dict:
    """Applicants' (synthetic) personal data: name parts, citizen ID, phone."""
    gender = (U[:, 22] < 0.5).astype(np.int8)  # 1 = female
    family = rng.choice(len(FAMILY_NAMES), size=n, p=FAMILY_WEIGHTS / FAMILY_WEIGHTS.sum()).astype(np.int16)
    middle = rng.integers(0, len(MIDDLE_MALE), size=n).astype(np.int16)
    given = rng.integers(0, len(GIVEN_MALE), size=n).astype(np.int16)
    birth_year = rng.integers(1950, 2007, size=n)
    # Citizen IDs: province code, century/gender digit, year of birth, six random digits.
    century_digit = np.where(birth_year >= 2000, 2, 0) + gender
    id_number = ((PROVINCE_ID_PREFIX * 10 + century_digit) * 100 + birth_year % 100) * 1_000_000 \
        + rng.integers(0, 1_000_000, size=n)
    phone = np.where(U[:, 23] < 0.85,
                     np.array(PHONE_PREFIXES)[rng.integers(0, len(PHONE_PREFIXES), size=n)] * 10_000_000
                     + rng.integers(0, 10_000_000, size=n), -1).astype(np.int64)
    return dict(gender=gender, family=family, middle=middle, given=given, id_number=id_number, phone=phone)


def _draw_payments(rng, cat: Catalogue, d: dict, t: np.ndarray, st: np.ndarray, day: int) -> dict:
    """Payment transactions of the day's fee-carrying dossiers: method, retries, refunds."""
    agency, proc, channel, params = d["agency"], d["proc"], d["channel"], d["params"]
    has_fee = cat.proc_fee[proc] > 0
    working = (t[:, 2] < ABSENT)
    t_recv = t[:, 1]
    online_payable = np.where(d["upgraded"], has_fee, cat.proc_online_payment_v1[proc])
    # Commune counters often collect small fees in cash without syncing a transaction.
    pays = has_fee & working & (rng.random(d["n"]) < np.where(cat.level_of_agency[agency] == 2, 0.5, 0.9))
    di = np.nonzero(pays)[0].astype(np.int32)
    m1 = len(di)
    V = rng.random((m1, 12))
    p_pay = params[di, 6] * np.where(channel[di] == 2, 1.0, 0.2)
    method = np.where(online_payable[di] & (V[:, 0] < p_pay), 0,
                      np.where(V[:, 1] < 0.6, 1, 2)).astype(np.int8)
    portal = np.where(method == 0, (V[:, 2] >= 0.45).astype(np.int8), -1).astype(np.int8)
    t_init = t_recv[di] + 300 + (V[:, 3] * 3 * HOUR).astype(np.int64)
    settle = np.where(method == 0, 30 + (V[:, 4] * 600), HOUR + V[:, 4] * 20 * HOUR).astype(np.int64)
    failed = ((method == 0) & (V[:, 5] < 0.1)) | ((method == 2) & (V[:, 5] < 0.03))
    abandoned = (method == 0) & ~failed & (V[:, 6] < 0.02)
    pt = np.full((m1, PAYMENT_SLOTS), ABSENT, dtype=np.int64)
    pst = np.zeros((m1, PAYMENT_SLOTS), dtype=np.int8)
    pst[:] = (0, 1, 3)
    cash = method == 1
    pt[:, 0] = np.where(cash, ABSENT, t_init)
    pt[:, 1] = np.where(abandoned, ABSENT, np.where(cash, t_init, t_init + settle))
    pst[:, 1] = np.where(failed, 2, 1)
    # Refunds: a few paid fees days or weeks later, and those of withdrawn or stopped dossiers.
    paid = ~failed & ~abandoned
    ended_early = (st[di, 5] == 7) | (st[di, 5] == 8)
    refund_at = np.where(ended_early, np.maximum(t[di, 5], pt[:, 1]) + DAY + (V[:, 8] * 4 * DAY).astype(np.int64),
                         pt[:, 1] + 3 * DAY + (V[:, 8] * 27 * DAY).astype(np.int64))
    refunded = paid & ((V[:, 7] < 0.03) | (ended_early & (V[:, 7] < 0.8)))
    pt[:, 2] = np.where(refunded, refund_at, ABSENT)
    retry = failed & (V[:, 9] < 0.85)  # a failed online payment is retried as a new transaction
    ri = np.nonzero(retry)[0]
    pt2 = np.full((len(ri), PAYMENT_SLOTS), ABSENT, dtype=np.int64)
    pst2 = np.zeros((len(ri), PAYMENT_SLOTS), dtype=np.int8)
    pst2[:] = (0, 1, 3)
    pt2[:, 0] = pt[ri, 1] + 120 + (V[ri, 10] * HOUR).astype(np.int64)
    pt2[:, 1] = pt2[:, 0] + 30 + (V[ri, 11] * 600).astype(np.int64)
    p_t = np.concatenate([pt, pt2])
    _bound_lifecycle(p_t, day)
    return dict(dossier=np.concatenate([di, di[ri]]),
                attempt=np.concatenate([np.ones(m1, np.int8), np.full(len(ri), 2, np.int8)]),
                method=np.concatenate([method, method[ri]]),
                portal=np.concatenate([portal, portal[ri]]),
                t=p_t, st=np.concatenate([pst, pst2]))


def _pack(columns: list[np.ndarray], dtype, rows: int) -> np.ndarray:
    packed = np.empty((rows, len(columns)), dtype=dtype)
    for k, col in enumerate(columns):
        packed[:, k] = col
    return packed


def _bound_lifecycle(t: np.ndarray, day: int) -> None:
    """Keep every version within LIFE_DAYS of the submission day, in increasing order."""
    limit = (day + LIFE_DAYS) * DAY - 1
    present = t < ABSENT
    t[present] = np.minimum(t[present], limit - (t.shape[1] - 1))
    running = np.full(t.shape[0], -1, dtype=np.int64)
    for k in range(t.shape[1]):
        col = t[:, k]
        fix = (col < ABSENT) & (col <= running)
        col[fix] = running[fix] + 1
        running = np.where(col < ABSENT, col, running)


def _defects(rng, opts: Options, t: np.ndarray, n_kinds: int, n_unknown: int):
    """Which records are invalid (kind, from which version on) and which reference unknown codes."""
    n = t.shape[0]
    u = rng.random((n, 4))
    if opts.clean:
        return np.zeros(n, np.int8), np.zeros(n, np.int8), np.zeros(n, np.int8)
    invalid = np.where(u[:, 0] < opts.invalid_rate, 1 + (u[:, 1] * n_kinds).astype(np.int8), 0).astype(np.int8)
    # A quarter of them turn invalid only in their latest version, after valid ones.
    invalid_from = np.where(u[:, 2] < 0.25, _last_present_slot(t), 0).astype(np.int8)
    unknown = np.where(u[:, 3] < opts.unknown_ref_rate,
                       1 + (u[:, 1] * n_unknown).astype(np.int8), 0).astype(np.int8)
    return invalid, invalid_from, unknown


# ---------------------------------------------------------------- rendering (records → JSON)

_DAY_TEXT: dict[int, tuple[str, str]] = {}


def _day_text(day: int) -> tuple[str, str]:
    text = _DAY_TEXT.get(day)
    if text is None:
        d = day_of(day)
        text = (f"{d.year:04d}{d.month:02d}{d.day:02d}", f"{d.day:02d}/{d.month:02d}/{d.year:04d}")
        if len(_DAY_TEXT) < 200_000:
            _DAY_TEXT[day] = text
    return text


_TOD_COMPACT = [f"{h:02d}{m:02d}{x:02d}" for h in range(24) for m in range(60) for x in range(60)]
_TOD_SLASHED = [f" {h:02d}:{m:02d}:{x:02d}" for h in range(24) for m in range(60) for x in range(60)]


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def _bad_timestamp(t: int, kind: str, u: float) -> str:
    compact, slash = _day_text(int(t) // DAY)
    if kind == "timestamp_impossible_date":
        return f"31/02/{slash[-4:]} 10:00:00" if u < 0.5 else f"{compact[:4]}0230093000"
    if kind == "timestamp_bad_format":
        return f"{compact}10" if u < 0.5 else f"{slash[:5]} 10:00"
    return f"{compact}251000" if u < 0.5 else f"{slash} 25:10:00"


# ---------------------------------------------------------------- page rendering (columns → JSON)
#
# A feed page is rendered column-wise: each field's JSON fragment (`,"Name":value`) is built for
# all records of the page at once, with numpy, from fixed layouts of digits or from tables of
# the few spellings a field has; one join of all fragments makes the page. Invalid records are
# rare: the one field each breaks is replaced in its row.

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


def _text(rows: int, *pieces) -> np.ndarray:
    """Fixed-layout ASCII texts, one per row (object array of bytes), from constant bytes,
    uint8 matrices and (values, width[, natural]) digit columns."""
    columns = [np.broadcast_to(np.frombuffer(p, np.uint8), (rows, len(p))) if isinstance(p, bytes)
               else p if isinstance(p, np.ndarray) else _digits(*p) for p in pieces]
    matrix = np.concatenate(columns, axis=1)
    return matrix.view(f"S{matrix.shape[1]}").ravel().astype(object)


def _day_texts(first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
    """`_day_text` of days first … last as uint8 matrices: yyyyMMdd, and dd/MM/yyyy."""
    texts = [_day_text(d) for d in range(first, last + 1)]
    compact = "".join(c for c, _ in texts).encode()
    slashed = "".join(s for _, s in texts).encode()
    return (np.frombuffer(compact, np.uint8).reshape(-1, 8),
            np.frombuffer(slashed, np.uint8).reshape(-1, 10))


@functools.cache
def _tod_texts() -> tuple[np.ndarray, np.ndarray]:
    """_TOD_COMPACT and _TOD_SLASHED as uint8 matrices indexed by second of the day."""
    return (np.frombuffer("".join(_TOD_COMPACT).encode(), np.uint8).reshape(DAY, 6),
            np.frombuffer("".join(_TOD_SLASHED).encode(), np.uint8).reshape(DAY, 9))


def _choice(u: np.ndarray, thresholds) -> np.ndarray:
    """Which interval between increasing thresholds each uniform falls in (0: below the first)."""
    return np.searchsorted(np.asarray(thresholds, dtype=np.float64), u, side="right")


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


class PageMess:
    """The spelling choices of a page's rows, from their uniforms, as code columns; all 0 when clean."""

    def __init__(self, u: np.ndarray, clean: bool):
        # float64: the thresholds are float64, and the spellings served must not move with the dtype.
        self.u, self.clean = u.astype(np.float64), clean
        self.slashed = self.when(self.u[:, 0] < 0.25)
        self.empty = self.when(_choice(self.u[:, 5], (0.55, 0.7, 0.85)))

    def when(self, codes: np.ndarray) -> np.ndarray:
        return np.zeros_like(codes) if self.clean else codes

    def pad(self, col: int, rate: float = 0.04) -> np.ndarray:
        """0 as is, 1 " x", 2 "x ", 3 "  x  " (`_padded`)."""
        u = self.u[:, col]
        return self.when(np.where(u >= rate, 0, 1 + _choice(u / rate, (0.4, 0.8))))

    def int_code(self, col: int, rate: float) -> np.ndarray:
        """0 a number, 1 its digits, 2 " digits " (`_int_spelled`)."""
        u = self.u[:, col]
        return self.when(np.where(u >= rate, 0, np.where(u < rate * 0.1, 2, 1)))

    def below(self, col: int, level: float) -> np.ndarray:
        return self.when((self.u[:, col] < level).astype(np.int64))

    def above(self, col: int, level: float) -> np.ndarray:
        return self.when((self.u[:, col] > level).astype(np.int64))


def _padded(value: str, code: int) -> str:
    return (value, f" {value}", f"{value} ", f"  {value}  ")[code]


def _int_spelled(value: int, code: int):
    return (value, str(value), f" {value} ")[code]


def _amount_spelled(amount: int, code: int):
    dotted = f"{amount:,}".replace(",", ".")
    return (amount, str(amount), dotted, f"{dotted} đ")[code]


def _channel_spelled(channel: int, code: int):
    label = CHANNEL_LABELS[channel]
    return (channel, str(channel), label, _nfd(label))[code]


ORG_KIND_CHOICES = 4  # an organization's kind is kinds[id_number % 4]


def _applicant_names() -> list[str]:
    """Every applicant name (ChuHoSo), by the code `_applicant_codes` gives: people
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


def _applicant_codes(c: dict, id_number: np.ndarray) -> np.ndarray:
    """Index in APPLICANT_NAMES of each dossier's applicant (`c`: DOSSIER_SMALL columns)."""
    person = ((c["gender"] * len(FAMILY_NAMES) + c["family"]) * len(MIDDLE_MALE)
              + c["middle"]) * len(GIVEN_MALE) + c["given"]
    kind = id_number % ORG_KIND_CHOICES
    word = (id_number // 7) % len(BUSINESS_WORDS)
    organization = N_PEOPLE + ((c["applicant_type"] - 1) * ORG_KIND_CHOICES + kind) \
        * len(BUSINESS_WORDS) + word
    return np.where(c["applicant_type"] == 0, person, organization)


def _number_or_digits(code: int):
    value, as_text = divmod(code, 2)
    return str(value) if as_text else value


def _timestamps(name: str, t: np.ndarray, slashed: np.ndarray, close: bytes = b'"') -> np.ndarray:
    """`,"name":"<local time>"` fragments: yyyyMMddHHmmss, or dd/MM/yyyy HH:mm:ss where slashed."""
    day, tod = np.divmod(t, DAY)
    first = int(day.min())
    day -= first
    compact, slash = _day_texts(first, first + int(day.max()))
    tod_compact, tod_slash = _tod_texts()
    head = b',"%s":"' % name.encode()
    out = _text(len(t), head, compact.take(day, 0), tod_compact.take(tod, 0), close)
    if slashed.any():
        day, tod = day[slashed], tod[slashed]
        out[slashed] = _text(len(day), head, slash.take(day, 0), tod_slash.take(tod, 0), close)
    return out


def _dates(day: np.ndarray) -> np.ndarray:
    """yyyyMMdd of local day numbers, as a uint8 matrix."""
    first = int(day.min())
    return _day_texts(first, int(day.max()))[0].take(day - first, 0)


def _gather(days: dict, day: np.ndarray, index: np.ndarray, pick) -> list[np.ndarray]:
    """Columns of a page's rows, in page order: `pick(dd, rows)` reads the rows of one day.
    Read day by day with `take` (much cheaper than fancy indexing), then put in page order."""
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
        return "NgayNopHoSo", _bad_timestamp(submitted, kind, u)
    name, values = DOSSIER_BREAKS[kind]
    return name, values[int(u * 4) % 4]


def broken_payment_field(kind: str, u: float, first: int, amount: int, as_number: bool) -> tuple[str, object]:
    """The field an invalid payment of `kind` breaks and its value; a negative amount keeps
    the number it would have been when spelled as one."""
    if kind == "SoTien_negative":
        return "SoTien", -max(amount, 1000) if as_number else -50000
    if kind == "ThoiGianGD_unparseable":
        return "ThoiGianGD", _bad_timestamp(first, TIMESTAMP_KINDS[int(u * 3) % 3], u)
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
            "MaTTHC": lambda c: _padded(procs[c // 4], c % 4),
            "MaDonVi": lambda c: _padded(agencies[c // 4], c % 4),
            "KenhThucHien": lambda c: _channel_spelled(c // 4, c % 4),
            "NopTuXa": lambda c: EMPTY_SPELLINGS[c] if c < 4 else _number_or_digits(c - 4),
            "LoaiDoiTuong": lambda c: APPLICANT_TYPES[c],
            "ChuHoSo": lambda c: _nfd(APPLICANT_NAMES[c // 2]) if c % 2 else APPLICANT_NAMES[c // 2],
            "TrangThaiHoSo": lambda c: _int_spelled(c // 3, c % 3),
            "HinhThucTra": lambda c: _int_spelled(c // 3, c % 3),
            "HoSoCoThanhPhanSoHoa": _number_or_digits,
            "KetQuaSoHoa": lambda c: RESULT_SPELLINGS[c],
            "SoTien": lambda c: _amount_spelled(fees[c // 4], c % 4),
            "LoaiPhiLePhi": lambda c: _padded(FEE_TYPE[fee_type[c // 4]], c % 4),
            "HinhThucThanhToan": lambda c: _padded(PAYMENT_METHOD[c // 4], c % 4),
            "KenhThanhToan": lambda c: (EMPTY_SPELLINGS[c] if c < 4 else
                                        _padded(PAYMENT_PORTAL[(c - 4) // 4], (c - 4) % 4)),
            "TrangThai": lambda c: _padded(PAYMENT_STATUS[c // 4], c % 4),
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
        One join makes the page: much cheaper than a join per record."""
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
            self.dossier_key.take(c["agency"]) + _text(k, _dates(day), b"-", (index + 1, 7), b'"'),
            *self._codes(c["proc"], c["agency"], c["unknown_ref"], day, index, mx),
            f["KenhThucHien"](channel * 4 + mx.when(_choice(mx.u[:, 2], (0.6, 0.75, 0.88)))),
            f["NopTuXa"](np.where(channel == 2, 4 + c["remote"] * 2 + 1 - mx.below(7, 0.1), mx.empty)),
            f["LoaiDoiTuong"](c["applicant_type"]),
            f["ChuHoSo"](_applicant_codes(c, id_number) * 2 + mx.below(6, 0.1)),
            _text(k, b',"SoGiayToChuHoSo":"', (id_number, 12), b'"'),
            self._or_empty("SoDienThoai", _text(k, b',"SoDienThoai":"0', (
                np.where(has_phone, phone, 10**8), 9, True), b'"'), has_phone, mx),
            _timestamps("NgayNopHoSo", submitted, mx.slashed),
            self._timestamp_or_empty("NgayTiepNhan", t[:, 1], received, submitted, mx),
            self._timestamp_or_empty("NgayHenTra", due, received & (due >= 0), submitted, mx),
            self._timestamp_or_empty("NgayKetThucXuLy", t[:, 5], ended, submitted, mx),
            self._timestamp_or_empty("NgayTra", t[:, 6], status == 10, submitted, mx),
            f["TrangThaiHoSo"](status * 3 + mx.int_code(1, 0.3)),
            f["HinhThucTra"](c["return_mode"] * 3 + mx.int_code(7, 0.2)),
            f["HoSoCoThanhPhanSoHoa"](c["digitized"] * 2 + 1 - mx.above(7, 0.9)),
            f["KetQuaSoHoa"](np.where(c["result_form"] > 0, 3 + c["result_form"],
                                      np.where(ended, c["result"], 0) + 2 * mx.above(10, 0.9))),
            _timestamps("NgayCapNhat", t[np.arange(k), slot], mx.slashed, b'"}'),
        ], broken

    def _timestamp_or_empty(self, name: str, t: np.ndarray, present: np.ndarray, stand_in: np.ndarray,
                            mx: PageMess) -> np.ndarray:
        """Timestamps where present, else empty; absent times are formatted as `stand_in`
        (times of the page's days) before being replaced, to keep the day tables small."""
        formatted = _timestamps(name, np.where(present, t, stand_in), mx.slashed)
        return self._or_empty(name, formatted, present, mx)

    def _payment_fields(self, day, index, slot, small, t, st, u, owner):
        """Fragments of each field of PAYMENT_FIELDS, and the fields invalid records break."""
        k = len(day)
        c = dict(zip(PAYMENT_SMALL, small.T.astype(np.int64)))
        agency, proc = owner.T.astype(np.int64)
        mx = PageMess(u, self.clean)
        f = self.fragments
        date = _dates(day)
        unknown, portal = c["unknown_ref"], c["portal"]
        first = np.where(t[:, 0] < ABSENT, t[:, 0], t[:, 1])
        amount_spelling = mx.when(_choice(mx.u[:, 6], (0.5, 0.7, 0.85)))
        broken = [(row, PAYMENT_FIELDS.index(name), self._field(name, value)) for row, (name, value) in (
            (row, broken_payment_field(PAYMENT_INVALID_KINDS[c["invalid"][row] - 1], mx.u[row, 8],
                                       int(first[row]), int(self.fees[proc[row]]), amount_spelling[row] == 0))
            for row in _invalid_rows(c, slot))]
        return [
            _text(k, b'{"MaGiaoDich":"GD', date, (c["dossier"] + 1, 7), (c["attempt"], 1), b'"'),
            self._payment_dossier(c["dossier"], agency, unknown, date, index, mx),
            *self._codes(proc, agency, unknown, day, index, mx),
            f["SoTien"](proc * 4 + amount_spelling),
            f["LoaiPhiLePhi"](proc * 4 + mx.pad(9)),
            f["HinhThucThanhToan"](c["method"] * 4 + mx.pad(2)),
            f["KenhThanhToan"](np.where(portal >= 0, 4 + portal * 4 + mx.pad(7), mx.empty)),
            f["TrangThai"](st[np.arange(k), slot].astype(np.int64) * 4 + mx.pad(1)),
            _timestamps("ThoiGianGD", first, mx.slashed),
            _timestamps("NgayCapNhat", t[np.arange(k), slot], mx.slashed, b'"}'),
        ], broken

    def _payment_dossier(self, dossier, agency, unknown, date, index, mx: PageMess) -> np.ndarray:
        """MaHoSo of a payment: its dossier's key; none (3) or a made-up key (4) when unknown."""
        made_up = unknown == 4
        owner = np.where(made_up, self.n_agencies, agency)
        seq = np.where(made_up, 9_000_000 + index, dossier + 1)
        keys = self.payment_key.take(owner) + _text(len(date), date, b"-", (seq, 7), b'"')
        return self._or_empty("MaHoSo", keys, unknown != 3, mx)


def _invalid_rows(c: dict, slot: np.ndarray) -> list[int]:
    """Rows served invalid: records of an invalid kind, from their first invalid version on."""
    return np.flatnonzero((c["invalid"] > 0) & (slot >= c["invalid_from"])).tolist()


def agency_list(cat: Catalogue, seed: int, clean: bool) -> list[dict]:
    """The agencies as the `donvi` list serves them: codes padded, names NFD, empties spelled
    as the spellings of a page pick them (PageMess), one row of uniforms per agency."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xA9E]))
    mx = PageMess(rng.random((len(cat.agencies), N_MESS)), clean)
    spellings = zip(mx.pad(3, 0.05).tolist(), mx.pad(4, 0.05).tolist(), mx.pad(9, 0.05).tolist(),
                    mx.below(6, 0.15).tolist(), mx.empty.tolist())
    return [_spelled_agency(agency_record(a), *codes) for a, codes in zip(cat.agencies, spellings)]


def _spelled_agency(rec: dict, code: int, level: int, other: int, nfd: int, empty: int) -> dict:
    rec["MaDonVi"] = _padded(rec["MaDonVi"], code)
    rec["CapDonVi"] = _padded(rec["CapDonVi"], level)
    if nfd:
        rec["TenDonVi"] = _nfd(rec["TenDonVi"])
    for name in ("MaDonViCha", "MaDonViKeThua"):
        rec[name] = EMPTY_SPELLINGS[empty] if rec[name] is None else _padded(rec[name], other)
    if rec["HieuLucDen"] is None:
        rec["HieuLucDen"] = EMPTY_SPELLINGS[empty]
    return _present(rec)


def procedure_list(cat: Catalogue, seed: int, clean: bool) -> list[dict]:
    """The procedure versions as the `thutuc` list serves them, one row of uniforms per version."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x7707]))
    versions = [(p, version) for p in cat.procedures for version in p.versions]
    mx = PageMess(rng.random((len(versions), N_MESS)), clean)
    spellings = zip(mx.pad(3, 0.05).tolist(), mx.pad(4, 0.05).tolist(), mx.pad(9, 0.05).tolist(),
                    mx.below(6, 0.15).tolist(), mx.empty.tolist())
    return [_spelled_procedure(dict(version), p, clean, *codes) for (p, version), codes in zip(versions, spellings)]


def _spelled_procedure(rec: dict, p, clean: bool, code: int, service: int, level: int, nfd: int,
                       empty: int) -> dict:
    rec["MaTTHC"] = _padded(rec["MaTTHC"], code)
    rec["MucDoDVC"] = _padded(rec["MucDoDVC"], service)
    rec["CapThucHien"] = [_padded(value, level) for value in rec["CapThucHien"]]
    if nfd:
        rec["TenTTHC"] = _nfd(rec["TenTTHC"])
    for name in ("ThoiHanGiaiQuyet", "HieuLucDen"):
        if rec[name] is None:
            rec[name] = EMPTY_SPELLINGS[empty]
    if not p.internal and not clean:  # NoiBo as older exports write "not internal"
        rec["NoiBo"] = (False, None, ABSENT_FIELD)[p.internal_spelling]
    return _present(rec)


def _present(rec: dict) -> dict:
    """The record without the fields it leaves out ("empty = absent")."""
    return {k: v for k, v in rec.items() if v is not ABSENT_FIELD}


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
            index, current, slot = self._current(entity, dd, now)
            lo, hi = np.searchsorted(current, (start, end)).tolist()
            if lo < hi:
                chosen, slots = index[lo:hi], slot[lo:hi]
                parts.append((current[lo:hi], self._sort_keys(entity, dd, chosen, slots),
                              day * ID_SPAN + chosen, slots))
        if not parts:
            empty = np.zeros(0, dtype=np.int64)
            return Window(empty, empty, empty, empty.astype(np.int8))
        return Window(*(np.concatenate(column) for column in zip(*parts)))

    @staticmethod
    def _current(entity: str, dd: DayData, now: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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

    def _sort_keys(self, entity: str, dd: DayData, chosen: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """Integers ordered as the records' feed keys are as text; -1 for a keyless version.

        Dossier keys are `G18.<agency>-<yyyymmdd>-<seq>` (agency part of varying length, ranked
        as text with its '-'), payment keys `GD<yyyymmdd><seq><attempt>`: fixed-width digits."""
        date = int(_day_text(dd.day)[0])
        if entity == "dossier":
            packed = dd.small[chosen]
            keyless = (packed[:, D_INVALID] == 1) & (slots >= packed[:, D_INVALID_FROM])
            rank = self.pages.agency_rank[packed[:, D_AGENCY]]
            key = rank * 10**15 + date * ID_SPAN + chosen + 1
        else:
            packed = dd.p_small[chosen]
            keyless = (packed[:, P_INVALID] == 1) & (slots >= packed[:, P_INVALID_FROM])
            key = date * 10**8 + (packed[:, P_DOSSIER].astype(np.int64) + 1) * 10 + packed[:, P_ATTEMPT]
        return np.where(keyless, -1, key).astype(np.int64)

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
