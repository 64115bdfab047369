"""The names the contracts define (`source-api.md`, `kpis.md`), written once.

Entities, their endpoints and keys, the local time zone and the KPI catalogue: every other
module, the emulator and the DAGs import them from here. Stdlib only, so a DAG file can too.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta, timezone

# source-api.md "Time": every window and timestamp is local time, UTC+7 (no DST since 1975).
LOCAL_TZ = "Asia/Ho_Chi_Minh"
LOCAL_OFFSET = "+07:00"
LOCAL_TIMEZONE = timezone(timedelta(hours=7), "ICT")

API_PREFIX = "/api/v1"


@dataclass(frozen=True)
class Entity:
    name: str
    path: str                     # the export endpoint (source-api.md "Endpoints")
    key_fields: tuple[str, ...]   # the source's natural key
    paged: bool                   # a feed (windowed, paged) or a reference list (one snapshot)


ENTITIES: dict[str, Entity] = {
    "dossier": Entity("dossier", f"{API_PREFIX}/hoso", ("MaHoSo",), paged=True),
    "payment": Entity("payment", f"{API_PREFIX}/thanhtoan", ("MaGiaoDich",), paged=True),
    "agency": Entity("agency", f"{API_PREFIX}/donvi", ("MaDonVi",), paged=False),
    "procedure": Entity("procedure", f"{API_PREFIX}/thutuc", ("MaTTHC", "HieuLucTu"), paged=False),
}
FEEDS: tuple[str, ...] = tuple(name for name, spec in ENTITIES.items() if spec.paged)
REFERENCES: tuple[str, ...] = tuple(name for name, spec in ENTITIES.items() if not spec.paged)
# The pilot registration file (TTHC_PILOT_FILE, v1.1) lands and loads like an entity of its own.
PILOT = "pilot"
LOADED_ENTITIES: tuple[str, ...] = (*ENTITIES, PILOT)


@dataclass(frozen=True)
class Kpi:
    code: str
    sql_file: str                 # under sql/, a SELECT of kpi_value's columns
    label_vi: tuple[str, str]     # (long label for tables, short label for charts)
    label_en: tuple[str, str]
    target: float | None = None   # kpis.md "Targets"; None: no target
    target_source: str | None = None
    catalogue: bool = False       # denominator: the agency's whole catalogue, not the period's records

    def label(self, lang: str, short: bool = False) -> str:
        return (self.label_vi if lang == "vi" else self.label_en)[1 if short else 0]


_CITY = "QĐ UBND TP Bà Rịa 2023"

# kpis.md, table "KPIs", in its order: the scorecard and the report list them this way. Labels
# are in the wording of the city decision (Điều 1, Điều 2) where it names the figure.
KPIS: tuple[Kpi, ...] = (
    Kpi("ONLINE_REMOTE_RATE", "marts/kpi_online_remote_rate.sql",
        ("Tỷ lệ hồ sơ TTHC được người dân, doanh nghiệp thực hiện trực tuyến từ xa",
         "Hồ sơ trực tuyến từ xa"),
        ("Dossiers submitted fully online, remotely", "Remote online dossiers"),
        0.50, f"{_CITY}, Điều 1 khoản 1: tối thiểu 50% hồ sơ trực tuyến từ xa"),
    Kpi("ONLINE_RATE", "marts/kpi_online_rate.sql",
        ("Tỷ lệ hồ sơ TTHC được người dân, doanh nghiệp thực hiện trực tuyến", "Hồ sơ trực tuyến"),
        ("Dossiers submitted online", "Online dossiers"),
        1.00, f"{_CITY}, Điều 1 khoản 1: phấn đấu 100% hồ sơ trực tuyến (aim)"),
    Kpi("POSTAL_RECEIPT_RATE", "marts/kpi_postal_receipt_rate.sql",
        ("Tỷ lệ hồ sơ TTHC tiếp nhận qua dịch vụ bưu chính công ích", "Tiếp nhận qua bưu chính"),
        ("Dossiers received by public postal service", "Received by post")),
    Kpi("DIGITIZED_RATE", "marts/kpi_digitized_rate.sql",
        ("Tỷ lệ hồ sơ TTHC có thành phần hồ sơ được số hóa", "Hồ sơ được số hóa"),
        ("Dossiers with digitized components", "Digitized dossiers"),
        0.80, "QĐ 766/QĐ-TTg (2022), chỉ số 4.2: số hóa hồ sơ (full-score threshold)"),
    Kpi("DVCTT_COVERAGE", "marts/kpi_dvctt_coverage.sql",
        ("Tỷ lệ TTHC được cung cấp dưới dạng dịch vụ công trực tuyến (DVCTT)", "TTHC cung cấp dạng DVCTT"),
        ("Procedures provided as online public services", "Procedures offered online"),
        0.80, f"{_CITY}, Điều 1 khoản 1: tối thiểu 80% TTHC cung cấp dạng DVCTT", catalogue=True),
    Kpi("FEE_PROC_ONLINE_PAYABLE_RATE", "marts/kpi_fee_proc_online_payable_rate.sql",
        ("Tỷ lệ thủ tục hành chính có yêu cầu nghĩa vụ tài chính được thanh toán trực tuyến "
         "trên Cổng Dịch vụ công tỉnh/Cổng Dịch vụ công quốc gia", "TTHC có phí được thanh toán trực tuyến"),
        ("Fee-bearing procedures payable online", "Fee procedures payable online"),
        0.60, f"{_CITY}, Điều 1 khoản 2: 60% TTHC có nghĩa vụ tài chính được thanh toán trực tuyến",
        catalogue=True),
    Kpi("FEE_PROC_WITH_ONLINE_TX_RATE", "marts/kpi_fee_proc_with_online_tx_rate.sql",
        ("Tỷ lệ thủ tục hành chính có phát sinh giao dịch thanh toán trực tuyến",
         "TTHC có giao dịch thanh toán trực tuyến"),
        ("Fee-bearing procedures with an online payment", "Fee procedures paid online"),
        0.50, f"{_CITY}, Điều 1 khoản 2: 50% TTHC có phát sinh giao dịch thanh toán trực tuyến",
        catalogue=True),
    Kpi("ONLINE_PAYMENT_TX_RATE", "marts/kpi_online_payment_tx_rate.sql",
        ("Tỷ lệ thanh toán trực tuyến trên tổng số giao dịch thanh toán của dịch vụ công",
         "Giao dịch thanh toán trực tuyến"),
        ("Online payments among all successful payments", "Online payments"),
        0.30, f"{_CITY}, Điều 1 khoản 2: tối thiểu 30% giao dịch thanh toán trực tuyến"),
    Kpi("DOSSIER_ONLINE_PAYMENT_RATE", "marts/kpi_dossier_online_payment_rate.sql",
        ("Tỷ lệ hồ sơ có phát sinh giao dịch thanh toán trực tuyến", "Hồ sơ có thanh toán trực tuyến"),
        ("Fee-bearing dossiers paid online", "Dossiers paid online"),
        0.30, f"{_CITY}, Điều 1 khoản 2: 30% hồ sơ có phát sinh giao dịch thanh toán trực tuyến"),
    Kpi("ON_TIME_RATE", "marts/kpi_on_time_rate.sql",
        ("Tỷ lệ hồ sơ TTHC giải quyết đúng hạn", "Giải quyết đúng hạn"),
        ("Dossiers finished on time", "Finished on time")),
    Kpi("POSTAL_RETURN_RATE", "marts/kpi_postal_return_rate.sql",
        ("Tỷ lệ hồ sơ TTHC trả kết quả qua dịch vụ bưu chính công ích", "Trả kết quả qua bưu chính"),
        ("Results returned by public postal service", "Returned by post")),
    Kpi("AVG_DAYS_ONLINE", "marts/kpi_avg_days_online.sql",
        ("Thời gian xử lý bình quân hồ sơ trực tuyến (ngày)", "Xử lý hồ sơ trực tuyến"),
        ("Average processing time, online dossiers (days)", "Online processing")),
    Kpi("AVG_DAYS_OFFLINE", "marts/kpi_avg_days_offline.sql",
        ("Thời gian xử lý bình quân hồ sơ trực tiếp (ngày)", "Xử lý hồ sơ trực tiếp"),
        ("Average processing time, in-person and postal dossiers (days)", "In-person processing")),
    Kpi("INTERNAL_ONLINE_RATE", "marts/kpi_internal_online_rate.sql",
        ("Tỷ lệ hồ sơ TTHC nội bộ giữa các cơ quan nhà nước (đã cung cấp DVCTT toàn trình, một phần) "
         "được tiếp nhận trực tuyến", "TTHC nội bộ tiếp nhận trực tuyến"),
        ("Internal procedures offered online: dossiers received online", "Internal dossiers online"),
        1.00, f"{_CITY}, Điều 2 khoản 2: TTHC nội bộ đã cung cấp trực tuyến chỉ tiếp nhận, xử lý trực tuyến"),
    Kpi("PILOT_PAPER_FREE_RATE", "marts/kpi_pilot_paper_free_rate.sql",
        ("Tỷ lệ hồ sơ tiếp nhận trực tuyến trong ngày thí điểm không tiếp nhận hồ sơ bản giấy",
         "Ngày thí điểm không giấy"),
        ("Dossiers received online on the paper-free pilot days", "Paper-free pilot days"),
        1.00, f"{_CITY}, Điều 2 khoản 3: ngày không tiếp nhận hồ sơ giấy đối với TTHC đăng ký thí điểm"),
    Kpi("DIGITIZED_RESULT_RATE", "marts/kpi_digitized_result_rate.sql",
        ("Tỷ lệ kết quả giải quyết TTHC được số hóa", "Kết quả được số hóa"),
        ("Results of returned dossiers digitized", "Digitized results")),
)
KPI_BY_CODE: dict[str, Kpi] = {kpi.code: kpi for kpi in KPIS}
KPI_CODES: tuple[str, ...] = tuple(KPI_BY_CODE)
