"""An independent oracle for mart.kpi_value, sharing no code with the pipeline: it fetches every
record straight from the emulator's export API with requests, parses and validates it per
source-api.md in plain Python, keeps each key's latest state, and computes every row of kpis.md
with dictionaries (tests/integration/test_kpi_oracle*.py compare the pipeline's tables with it)."""
from __future__ import annotations

import re
import shutil
import time
import unicodedata
from collections import Counter
from datetime import date, datetime, timedelta

import requests

from etl import kpi
from etl.warehouse import connect, transaction


# kpis.md, the "target (source)" column.
TARGETS = {
    "ONLINE_REMOTE_RATE": 0.50, "ONLINE_RATE": 1.00, "DIGITIZED_RATE": 0.80,
    "DVCTT_COVERAGE": 0.80, "FEE_PROC_ONLINE_PAYABLE_RATE": 0.60,
    "FEE_PROC_WITH_ONLINE_TX_RATE": 0.50, "ONLINE_PAYMENT_TX_RATE": 0.30,
    "DOSSIER_ONLINE_PAYMENT_RATE": 0.30,
}
SUM_OF_DAYS = {"AVG_DAYS_ONLINE", "AVG_DAYS_OFFLINE"}
V11_KPIS = {"INTERNAL_ONLINE_RATE", "PILOT_PAPER_FREE_RATE", "DIGITIZED_RESULT_RATE"}


# --- fetching -------------------------------------------------------------------------------------

def api_get(emu, path: str, params: dict | None = None) -> dict:
    for attempt in range(8):
        response = requests.get(
            emu.url + path, params=params, timeout=60,
            headers={"Authorization": f"Bearer {emu.token}"},
        )
        if response.status_code in (429, 500, 502, 503):
            time.sleep(0.2 * (attempt + 1))
            continue
        response.raise_for_status()
        return response.json()
    raise AssertionError(f"{path} kept failing")


def fetch_feed(emu, path: str, start: date, end: date) -> list[dict]:
    """Every record whose last change is in [start, end) local, all pages."""
    records, page = [], 1
    while True:
        body = api_get(emu, path, {
            "tuNgay": f"{start.isoformat()}T00:00:00+07:00",
            "denNgay": f"{end.isoformat()}T00:00:00+07:00",
            "trang": page, "soBanGhi": 5000,
        })
        if not body["duLieu"]:
            return records
        records.extend(body["duLieu"])
        page += 1


# --- parsing, per source-api.md -------------------------------------------------------------------

def empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def text(value) -> str | None:
    """A code, enum or reference value: trimmed, NFC; None when empty."""
    if empty(value):
        return None
    return unicodedata.normalize("NFC", str(value).strip())


def integer_code(value) -> int | None:
    """A JSON integer or a string of digits; anything else (4.5, 'x', True) is None."""
    if isinstance(value, bool) or empty(value):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d+", value.strip()):
        return int(value.strip())
    return None


class Unparsable(ValueError):
    pass


def timestamp(value) -> datetime | None:
    if empty(value):
        return None
    raw = str(value).strip()
    try:
        if re.fullmatch(r"\d{14}", raw):
            return datetime.strptime(raw, "%Y%m%d%H%M%S")
        if re.fullmatch(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}", raw):
            return datetime.strptime(raw, "%d/%m/%Y %H:%M:%S")
    except ValueError:
        pass
    raise Unparsable(raw)


CHANNEL_LABELS = {
    unicodedata.normalize("NFC", "Trực tiếp"): 1,
    unicodedata.normalize("NFC", "Trực tuyến"): 2,
    unicodedata.normalize("NFC", "Bưu chính công ích"): 3,
}


def channel(value) -> int | None:
    code = integer_code(value)
    if code is None and isinstance(value, str):
        code = CHANNEL_LABELS.get(text(value))
    return code if code in (1, 2, 3) else None


def amount(value) -> int | None:
    if isinstance(value, bool) or empty(value):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    raw = str(value).strip()
    raw = re.sub(r"\s*đ$", "", unicodedata.normalize("NFC", raw))
    if re.fullmatch(r"\d+", raw) or re.fullmatch(r"\d{1,3}(\.\d{3})+", raw):
        return int(raw.replace(".", ""))
    return None


def parse_dossier(record: dict) -> dict | None:
    """The dossier's fields the KPIs use; None when the record is invalid."""
    status = integer_code(record.get("TrangThaiHoSo"))
    kenh = channel(record.get("KenhThucHien"))
    keys = [text(record.get(k)) for k in ("MaHoSo", "MaTTHC", "MaDonVi")]
    if None in keys or status is None or not 1 <= status <= 10 or kenh is None:
        return None
    try:
        stamps = {k: timestamp(record.get(k)) for k in
                  ("NgayNopHoSo", "NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy", "NgayTra", "NgayCapNhat")}
    except Unparsable:
        return None
    return {
        "id": keys[0], "procedure": keys[1], "agency": keys[2], "status": status, "channel": kenh,
        "remote": integer_code(record.get("NopTuXa")) == 1,
        "digitized": integer_code(record.get("HoSoCoThanhPhanSoHoa")) == 1,
        "postal_return": integer_code(record.get("HinhThucTra")) == 1,
        "received": stamps["NgayTiepNhan"], "due": stamps["NgayHenTra"],
        "finished": stamps["NgayKetThucXuLy"], "returned": stamps["NgayTra"],
    }


def parse_payment(record: dict) -> dict | None:
    key = text(record.get("MaGiaoDich"))
    method = text(record.get("HinhThucThanhToan"))
    status = text(record.get("TrangThai"))
    try:
        at = timestamp(record.get("ThoiGianGD"))
    except Unparsable:
        return None
    if (key is None or amount(record.get("SoTien")) is None or at is None
            or method not in ("truc-tuyen", "tien-mat", "chuyen-khoan")
            or status not in ("khoi-tao", "thanh-cong", "that-bai", "hoan-phi")):
        return None
    return {
        "id": key, "dossier": text(record.get("MaHoSo")), "procedure": text(record.get("MaTTHC")),
        "agency": text(record.get("MaDonVi")), "online": method == "truc-tuyen",
        "success": status == "thanh-cong", "at": at,
    }


def day(value) -> date | None:
    return None if empty(value) else date.fromisoformat(str(value).strip())


def boolean(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


def latest_states(records: list[dict], key: str) -> list[dict]:
    """De-duplicate by key, keeping the latest NgayCapNhat (the later-seen copy on a tie)."""
    best: dict[str, tuple] = {}
    for order, record in enumerate(records):
        try:
            changed = timestamp(record.get("NgayCapNhat")) or datetime.min
        except Unparsable:
            changed = datetime.min
        rank = (changed, order)
        k = record.get(key)
        if k not in best or rank >= best[k][0]:
            best[k] = (rank, record)
    return [record for _, record in best.values()]


def valid_on(start: date | None, end: date | None, d: date) -> bool:
    return (start is None or start <= d) and (end is None or d <= end)


# --- the KPIs ---------------------------------------------------------------------------------

def periods_of(d: date) -> list[tuple[str, date]]:
    return [
        ("month", d.replace(day=1)),
        ("quarter", date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)),
        ("year", date(d.year, 1, 1)),
    ]


def last_day(period_type: str, start: date) -> date:
    months = {"month": 1, "quarter": 3, "year": 12}[period_type]
    year, month = divmod(start.month - 1 + months, 12)
    return date(start.year + year, month + 1, 1) - timedelta(days=1)


def oracle(emu, start: date, end: date) -> dict:
    dossiers = [d for d in map(parse_dossier, latest_states(fetch_feed(emu, "/api/v1/hoso", start, end), "MaHoSo")) if d]
    payments = [p for p in map(parse_payment, latest_states(fetch_feed(emu, "/api/v1/thanhtoan", start, end), "MaGiaoDich")) if p]
    agencies = [
        {"code": text(a.get("MaDonVi")), "level": text(a.get("CapDonVi")),
         "from": day(a.get("HieuLucTu")), "to": day(a.get("HieuLucDen"))}
        for a in api_get(emu, "/api/v1/donvi")["duLieu"] if text(a.get("MaDonVi"))
    ]
    versions = [
        {"code": text(v.get("MaTTHC")), "from": day(v.get("HieuLucTu")), "to": day(v.get("HieuLucDen")),
         "levels": {text(level) for level in (v.get("CapThucHien") or [])},
         "online_service": text(v.get("MucDoDVC")) in ("TOAN_TRINH", "MOT_PHAN"),
         "fee": boolean(v.get("CoPhiLePhi")), "online_payment": boolean(v.get("ThanhToanTrucTuyen"))}
        for v in api_get(emu, "/api/v1/thutuc")["duLieu"] if text(v.get("MaTTHC"))
    ]
    assert len(dossiers) > 100 and len(payments) > 20, "the oracle needs data to mean anything"

    numerator: Counter = Counter()
    denominator: Counter = Counter()
    periods: set = set()

    def count(kpi_code, when, agency, hit, weight=1, with_star=True):
        for period in periods_of(when):
            for who in ([agency, "*"] if with_star else [agency]):
                if who is None:
                    continue
                denominator[(*period, who, kpi_code)] += 1
                numerator[(*period, who, kpi_code)] += weight if hit else 0

    paid_online = {p["dossier"] for p in payments if p["success"] and p["online"] and p["dossier"]}
    for d in dossiers:
        received = d["received"].date() if d["received"] else None
        if received and d["status"] not in (1, 3):
            periods.update(periods_of(received))
            count("ONLINE_REMOTE_RATE", received, d["agency"], d["channel"] == 2 and d["remote"])
            count("ONLINE_RATE", received, d["agency"], d["channel"] == 2)
            count("POSTAL_RECEIPT_RATE", received, d["agency"], d["channel"] == 3)
            count("DIGITIZED_RATE", received, d["agency"], d["digitized"])
            version = [v for v in versions if v["code"] == d["procedure"] and valid_on(v["from"], v["to"], received)]
            if version and version[0]["fee"]:
                count("DOSSIER_ONLINE_PAYMENT_RATE", received, d["agency"], d["id"] in paid_online)
        if d["finished"] and d["status"] in (9, 10):
            finished = d["finished"].date()
            periods.update(periods_of(finished))
            if d["due"]:
                count("ON_TIME_RATE", finished, d["agency"], d["finished"] <= d["due"])
            if d["received"]:
                seconds = int((d["finished"] - d["received"]).total_seconds())
                kpi_code = "AVG_DAYS_ONLINE" if d["channel"] == 2 else "AVG_DAYS_OFFLINE"
                count(kpi_code, finished, d["agency"], True, weight=seconds)
        if d["returned"] and d["status"] == 10:
            returned = d["returned"].date()
            periods.update(periods_of(returned))
            count("POSTAL_RETURN_RATE", returned, d["agency"], d["postal_return"])

    online_tx = set()  # (period_type, period_start, agency or '*', procedure)
    for p in payments:
        if not p["success"]:
            continue
        at = p["at"].date()
        periods.update(periods_of(at))
        count("ONLINE_PAYMENT_TX_RATE", at, p["agency"], p["online"])
        if p["online"]:
            for period in periods_of(at):
                online_tx.add((*period, p["agency"], p["procedure"]))
                online_tx.add((*period, "*", p["procedure"]))

    for period_type, period_start in periods:
        d = last_day(period_type, period_start)
        on_day = [v for v in versions if valid_on(v["from"], v["to"], d)]
        catalogues = {"*": on_day}
        for a in agencies:
            if valid_on(a["from"], a["to"], d):
                catalogues[a["code"]] = [v for v in on_day if a["level"] in v["levels"]]
        for who, catalogue in catalogues.items():
            key = (period_type, period_start, who)
            fee = [v for v in catalogue if v["fee"]]
            for kpi_code, hits, total in (
                ("DVCTT_COVERAGE", sum(v["online_service"] for v in catalogue), len(catalogue)),
                ("FEE_PROC_ONLINE_PAYABLE_RATE", sum(v["online_payment"] for v in fee), len(fee)),
                ("FEE_PROC_WITH_ONLINE_TX_RATE",
                 sum((*key, v["code"]) in online_tx for v in fee), len(fee)),
            ):
                if total:
                    numerator[(*key, kpi_code)] = hits
                    denominator[(*key, kpi_code)] = total

    expected = {}
    for key, total in denominator.items():
        value = numerator[key] / 86400 / total if key[3] in SUM_OF_DAYS else numerator[key] / total
        num = numerator[key] / 86400 if key[3] in SUM_OF_DAYS else numerator[key]
        target = TARGETS.get(key[3])
        expected[key] = (num, total, value, target, None if target is None else value >= target)
    return expected


def table(path) -> dict:
    con = connect(path, read_only=True)
    try:
        rows = con.execute(
            "SELECT period_type, period_start, agency_code, kpi_code, numerator, denominator, value, "
            "target, met FROM mart.kpi_value").fetchall()
    finally:
        con.close()
    by_key = {tuple(r[:4]): tuple(r[4:]) for r in rows}
    assert len(by_key) == len(rows), "a kpi_value key appears twice"  # the table has no key index
    return by_key


def assert_same_rows(got: dict, expected: dict) -> None:
    missing = sorted(set(expected) - set(got))[:5]
    extra = sorted(set(got) - set(expected))[:5]
    assert not missing and not extra, f"missing {missing} extra {extra}"
    wrong = []
    for key, (num, den, value, target, met) in expected.items():
        g_num, g_den, g_value, g_target, g_met = got[key]
        exact = key[3] not in SUM_OF_DAYS
        if (g_den != den or (g_num != num if exact else abs(g_num - num) > 1e-9)
                or abs(g_value - value) > 1e-12 or g_target != target or g_met != met):
            wrong.append((key, got[key], expected[key]))
    assert not wrong, f"{len(wrong)} rows differ, e.g. {wrong[:5]}"


def full_rebuild_of(warehouse, tmp_path) -> dict:
    copy = tmp_path / f"full-{time.monotonic_ns()}.duckdb"
    shutil.copy(warehouse, copy)
    con = connect(copy)
    try:
        with transaction(con):
            kpi.rebuild_all(con)
    finally:
        con.close()
    return table(copy)
