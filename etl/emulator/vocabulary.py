"""The values the emulated source writes: enums of source-api.md, the invalid kinds, the
spellings of KetQuaSoHoa, and the word lists synthetic applicants are named from (data tables)."""
from __future__ import annotations

import numpy as np

ABSENT_FIELD = object()  # marks a field left out of the JSON object ("empty = absent")

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

# KetQuaSoHoa as served, by code (see result_code): "0"/"1", 0/1, absent, junk that reads as 0.
RESULT_SPELLINGS = ("0", "1", 0, 1, ABSENT_FIELD, "2", "có")

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
