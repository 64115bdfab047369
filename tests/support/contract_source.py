"""A tiny source that honours source-api.md (bearer token, the four endpoints, paging until an
empty page) over records held in memory, and builders of handcrafted records for it.

It is a test fixture (a stdlib ThreadingHTTPServer in the test's process), not a mock of our code;
the bad-input and late-data tests of the reliability matrix serve their records through it.
"""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TOKEN = "bad-input-token-7d2a"
LOCAL = timezone(timedelta(hours=7))
AGENCY = "000.00.01.H99"
PROCEDURE = "1.000001"
MARK = "GhiChuKiemThu"  # an extra column every handcrafted record carries: it names the case


ABSENT = object()

def ts(day: str, hh: int, mm: int = 0) -> str:
    return day.replace("-", "") + f"{hh:02d}{mm:02d}00"


def dossier(case: str, key: str | None, day: str, **fields) -> dict:
    record = {
        "MaHoSo": key, "MaTTHC": PROCEDURE, "MaDonVi": AGENCY, "KenhThucHien": 2, "NopTuXa": "1",
        "LoaiDoiTuong": "Công dân", "ChuHoSo": "Trần Thị Thử", "SoGiayToChuHoSo": "077190123456",
        "SoDienThoai": "0909123456", "NgayNopHoSo": ts(day, 8), "NgayTiepNhan": ts(day, 9),
        "NgayHenTra": ts(day, 17), "NgayKetThucXuLy": ts(day, 15), "NgayTra": "",
        "TrangThaiHoSo": 9, "HinhThucTra": 0, "HoSoCoThanhPhanSoHoa": "1", "NgayCapNhat": ts(day, 16),
        MARK: case,
    }
    record.update(fields)
    return {k: v for k, v in record.items() if v is not ABSENT}


def payment(case: str, key: str | None, day: str, **fields) -> dict:
    record = {
        "MaGiaoDich": key, "MaHoSo": "G99.H99-20230301-0000001", "MaTTHC": PROCEDURE,
        "MaDonVi": AGENCY, "SoTien": 50000, "LoaiPhiLePhi": "LE_PHI",
        "HinhThucThanhToan": "truc-tuyen", "KenhThanhToan": "DVCQG", "TrangThai": "thanh-cong",
        "ThoiGianGD": ts(day, 10), "NgayCapNhat": ts(day, 10, 5), MARK: case,
    }
    record.update(fields)
    return {k: v for k, v in record.items() if v is not ABSENT}


class ContractSource:
    """The four endpoints of source-api.md over records held in memory, paged `page_cap` at a time."""

    def __init__(self):
        self.agencies = [{"MaDonVi": AGENCY, "TenDonVi": "Sở Thử nghiệm", "CapDonVi": "TINH",
                          "MaDonViCha": None, "HieuLucTu": "2020-01-01", "HieuLucDen": None,
                          "MaDonViKeThua": None}]
        self.procedures = [{"MaTTHC": PROCEDURE, "TenTTHC": "Thủ tục thử", "MaLinhVuc": "LV1",
                            "TenLinhVuc": "Lĩnh vực thử", "CapThucHien": ["TINH"],
                            "MucDoDVC": "TOAN_TRINH", "CoPhiLePhi": True, "ThanhToanTrucTuyen": True,
                            "ThoiHanGiaiQuyet": 5, "HieuLucTu": "2020-01-01", "HieuLucDen": None}]
        self.feeds: dict[tuple[str, str], list] = {}   # (entity, local day) -> records
        self.pages: dict[tuple[str, str], list] = {}   # (entity, local day) -> explicit page bodies
        self.page_cap = 7
        self.requests: list[str] = []
        source = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, status: int, payload) -> None:
                body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                url = urlsplit(self.path)
                source.requests.append(self.path)
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._send(401, {"maLoi": 401, "thongBao": "missing or wrong bearer token"})
                if url.path == "/api/v1/donvi":
                    return self._send(200, {"duLieu": source.agencies})
                if url.path == "/api/v1/thutuc":
                    return self._send(200, {"duLieu": source.procedures})
                entity = {"/api/v1/hoso": "dossier", "/api/v1/thanhtoan": "payment"}.get(url.path)
                if entity is None:
                    return self._send(404, {"maLoi": 404, "thongBao": "no such endpoint"})
                query = parse_qs(url.query)
                start = datetime.fromisoformat(query["tuNgay"][0].replace(" ", "+")).astimezone(LOCAL)
                page = int(query.get("trang", ["1"])[0])
                size = min(int(query.get("soBanGhi", ["1000"])[0]), 5000, source.page_cap)
                key = (entity, start.date().isoformat())
                if key in source.pages:
                    bodies = source.pages[key]
                    if page <= len(bodies):
                        return self._send(200, bodies[page - 1])
                    return self._send(200, {"trang": page, "soBanGhi": size, "tongSoTrang": len(bodies),
                                            "tongSoBanGhi": 0, "duLieu": []})
                records = source.feeds.get(key, [])
                pages = -(-len(records) // size)
                chunk = records[(page - 1) * size: page * size]
                return self._send(200, {"trang": page, "soBanGhi": size, "tongSoTrang": pages,
                                        "tongSoBanGhi": len(records), "duLieu": chunk})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
