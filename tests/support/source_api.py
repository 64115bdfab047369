"""A reading of source-api.md, independent of etl/: the shapes of timestamps, codes, channels and
amounts, the problems of a dossier or payment record, and plain HTTP reads of the emulator."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata

import requests

from etl.contract import LOCAL_TIMEZONE


LOCAL = LOCAL_TIMEZONE  # source-api.md "Time": local time, UTC+7
WIDE_START = "2022-12-01T00:00:00+07:00"
WIDE_END = "2024-01-01T00:00:00+07:00"


# ----------------------------------------------------------------- a reading of source-api.md

def parse_ts(value):
    """Local datetime of a source timestamp; None when empty; raises ValueError when broken."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = value.strip()
    if re.fullmatch(r"\d{14}", text):
        return dt.datetime.strptime(text, "%Y%m%d%H%M%S")
    if re.fullmatch(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}", text):
        return dt.datetime.strptime(text, "%d/%m/%Y %H:%M:%S")
    raise ValueError(text)


def is_empty(record, name):
    value = record.get(name)
    return value is None or (isinstance(value, str) and not value.strip())


def int_code(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
        return int(value)
    return None


CHANNEL_LABELS = {"Trực tiếp": 1, "Trực tuyến": 2, "Bưu chính công ích": 3}


def channel_code(value):
    if isinstance(value, str) and unicodedata.normalize("NFC", value.strip()) in CHANNEL_LABELS:
        return CHANNEL_LABELS[unicodedata.normalize("NFC", value.strip())]
    code = int_code(value)
    return code if code in (1, 2, 3) else None


def amount(value):
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("đ"):
            text = text[:-1].strip()
        if re.fullmatch(r"-?\d+", text) or re.fullmatch(r"-?\d{1,3}(\.\d{3})+", text):
            return int(text.replace(".", ""))
    return None


def dossier_problems(r) -> list[str]:
    problems = [f"empty {k}" for k in ("MaHoSo", "MaTTHC", "MaDonVi") if is_empty(r, k)]
    if int_code(r.get("TrangThaiHoSo")) not in range(1, 11):
        problems.append("TrangThaiHoSo")
    if channel_code(r.get("KenhThucHien")) is None:
        problems.append("KenhThucHien")
    for name in ("NgayNopHoSo", "NgayTiepNhan", "NgayHenTra", "NgayKetThucXuLy", "NgayTra", "NgayCapNhat"):
        try:
            parse_ts(r.get(name))
        except ValueError:
            problems.append(f"timestamp {name}")
    return problems


def payment_problems(r) -> list[str]:
    problems = []
    if is_empty(r, "MaGiaoDich"):
        problems.append("empty MaGiaoDich")
    value = amount(r.get("SoTien"))
    if is_empty(r, "SoTien"):
        problems.append("SoTien empty")
    elif value is None:
        problems.append("SoTien unparseable")
    elif value < 0:
        problems.append("SoTien negative")
    if str(r.get("HinhThucThanhToan")).strip() not in ("truc-tuyen", "tien-mat", "chuyen-khoan"):
        problems.append("HinhThucThanhToan")
    if str(r.get("TrangThai")).strip() not in ("khoi-tao", "thanh-cong", "that-bai", "hoan-phi"):
        problems.append("TrangThai")
    try:
        if parse_ts(r.get("ThoiGianGD")) is None:
            problems.append("ThoiGianGD empty")
    except ValueError:
        problems.append("ThoiGianGD unparseable")
    return problems


# ----------------------------------------------------------------- HTTP helpers

def auth(emu):
    return {"Authorization": f"Bearer {emu.token}"}


def get(emu, path, params=None, **kwargs):
    return requests.get(f"{emu.url}{path}", params=params, headers=auth(emu), timeout=60, **kwargs)


def fetch_window(emu, feed, start, end, size=5000):
    """Every page of a window, in order, until an empty page."""
    records, page = [], 1
    while True:
        response = get(emu, f"/api/v1/{feed}", {"tuNgay": start, "denNgay": end, "trang": page, "soBanGhi": size})
        response.raise_for_status()
        body = response.json()
        if not body["duLieu"]:
            return records
        records.extend(body["duLieu"])
        page += 1


def day_window(day: dt.date) -> tuple[str, str]:
    start = dt.datetime.combine(day, dt.time(), LOCAL)
    return start.isoformat(), (start + dt.timedelta(days=1)).isoformat()
