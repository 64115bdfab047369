"""Landed windows written exactly as docs/ARCHITECTURE.md "Landing zone" describes, and well-formed
records as the source sends them (minus the personal data landing removes), for the tests of
validate() and of the source contract."""
from __future__ import annotations

import gzip
import hashlib
import json
import unicodedata
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from etl.config import Settings


# --------------------------------------------------------------------------- landing helper

def land(raw_dir: Path, entity: str, day: str, records: list[dict], *, fields=None,
         duplicates: int = 0) -> Path:
    """Write a landed window exactly as docs/ARCHITECTURE.md "Landing zone" describes."""
    start = datetime.fromisoformat(f"{day}T00:00:00+07:00")
    directory = raw_dir / entity / day
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    if records:
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        data = gzip.compress(body.encode("utf-8"), mtime=0)
        digest = hashlib.sha256(data).hexdigest()
        name = f"data-{digest[:16]}.jsonl.gz"
        (directory / name).write_bytes(data)
        files.append({"path": name, "rows": len(records), "sha256": digest})
    manifest = {
        "entity": entity, "day": day,
        "window_start": start.isoformat(), "window_end": (start + timedelta(days=1)).isoformat(),
        "source_url": "http://127.0.0.1:1/api/v1/x", "extracted_at": "2026-11-27T02:00:00Z",
        "pages": 1, "extracted": len(records) + duplicates, "duplicates": duplicates,
        "rows": len(records),
        "fields": sorted({k for r in records for k in r}) if fields is None else fields,
        "files": files, "pseudonymization": "hmac-sha256",
    }
    path = directory / "manifest.json"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    return path


def settings_in(root: Path) -> Settings:
    return Settings(warehouse=root / "warehouse" / "tthc.duckdb", raw_dir=root / "raw")


def read_parquet(path: Path) -> list[dict]:
    con = duckdb.connect()
    try:
        cursor = con.execute(f"SELECT * FROM read_parquet('{path}')")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        con.close()


def by_key(rows: list[dict], column: str) -> dict:
    return {row[column]: row for row in rows}


def dossier(key: str, **fields) -> dict:
    """A well-formed dossier as the source sends it (minus the PII landing removes)."""
    record = {
        "MaHoSo": key, "MaTTHC": "1.005129", "MaDonVi": "000.00.04.G18", "KenhThucHien": 2,
        "NopTuXa": "1", "LoaiDoiTuong": "CONG_DAN", "SoGiayToChuHoSoHash": "ab" * 32,
        "NgayNopHoSo": "20230201080000", "NgayTiepNhan": "20230201090000",
        "NgayHenTra": "20230210170000", "NgayKetThucXuLy": None, "NgayTra": None,
        "TrangThaiHoSo": 4, "HinhThucTra": 0, "HoSoCoThanhPhanSoHoa": "1",
        "NgayCapNhat": "20230201100000",
    }
    record.update(fields)
    return {k: v for k, v in record.items() if v is not ABSENT}


def payment(key: str, **fields) -> dict:
    record = {
        "MaGiaoDich": key, "MaHoSo": "H-1", "MaTTHC": "1.005129", "MaDonVi": "000.00.04.G18",
        "SoTien": 200000, "LoaiPhiLePhi": "LE_PHI", "HinhThucThanhToan": "truc-tuyen",
        "KenhThanhToan": "DVCQG", "TrangThai": "thanh-cong", "ThoiGianGD": "20230201093000",
        "NgayCapNhat": "20230201093000",
    }
    record.update(fields)
    return {k: v for k, v in record.items() if v is not ABSENT}


def agency(key, **fields) -> dict:
    record = {"MaDonVi": key, "TenDonVi": "Sở Tư pháp", "CapDonVi": "TINH", "MaDonViCha": None,
              "HieuLucTu": "2020-01-01", "HieuLucDen": None, "MaDonViKeThua": None}
    record.update(fields)
    return {k: v for k, v in record.items() if v is not ABSENT}


def procedure(key, **fields) -> dict:
    record = {"MaTTHC": key, "TenTTHC": "Cấp phiếu lý lịch tư pháp", "MaLinhVuc": "LLTP",
              "TenLinhVuc": "Lý lịch tư pháp", "CapThucHien": ["TINH"], "MucDoDVC": "TOAN_TRINH",
              "CoPhiLePhi": True, "ThanhToanTrucTuyen": True, "ThoiHanGiaiQuyet": 10,
              "HieuLucTu": "2020-01-01", "HieuLucDen": None}
    record.update(fields)
    return {k: v for k, v in record.items() if v is not ABSENT}


ABSENT = object()
NFD = lambda text: unicodedata.normalize("NFD", text)  # noqa: E731
TS_REASON = "is not a timestamp"
