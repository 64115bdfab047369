"""Deterministic generation of one local submission day: its dossiers and their payments.

Everything is drawn per day from an RNG seeded with (seed, day), vectorized with numpy. A record
is a fixed set of *slots* (lifecycle versions), each with a local-seconds timestamp (`ABSENT`
when the record never reaches it) and a status. The state served for a clock `now` is the last
slot with time ≤ now; its time is the record's NgayCapNhat. Every version of a dossier and of
its payments falls within `LIFE_DAYS` of its submission day.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from etl.emulator.catalogue import PROVINCE_ID_PREFIX, SIZES, Catalogue, day_number, day_of
from etl.emulator.vocabulary import (
    DOSSIER_INVALID_KINDS, FAMILY_NAMES, FAMILY_WEIGHTS, GIVEN_MALE, MIDDLE_MALE, PAYMENT_INVALID_KINDS,
    PHONE_PREFIXES,
)
from etl.emulator.workdays import DAY, HOUR, business_day_offset, is_business_day, roll_to_office_hours

LIFE_DAYS = 60
ABSENT = np.iinfo(np.int64).max // 4

DOSSIER_SLOTS = 7  # registered, received/rejected, processing, paused, resumed, ended, returned
PAYMENT_SLOTS = 3  # initiated, succeeded/failed, refunded
N_MESS = 12
RESULT_JUNK_RATE = 0.003


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

    Scalar attributes are packed in one matrix per width, so a page reads a day's rows with one
    `take` per matrix.
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
    # see windows.current_versions.
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
                      roll_to_office_hours(t_sub + 1800 + (U[:, 5] * 30 * HOUR).astype(np.int64), U[:, 6]))

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
    t_return = roll_to_office_hours(t_fin + 1800 + (U[:, 18] * 4 * DAY).astype(np.int64), U[:, 6])
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
