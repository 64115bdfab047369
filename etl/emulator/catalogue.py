"""Reference data of the emulated province: agencies (with the 1 July 2025 reorganization) and
the procedure catalogue (with versions). Small, built once per emulator from the seed.

Times in the emulator are *local seconds*: seconds since 1970-01-01 00:00 of Viet Nam wall time
(UTC+7, no DST), so a local day is simply `seconds // 86400`.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from etl.emulator.presets import SIZES, SizePreset  # noqa: F401 - re-exported

PROVINCE_SUFFIX = "G18"
PROVINCE_ID_PREFIX = 22  # first digits of citizen IDs issued in the province (Quảng Ninh: 022)
REORG_DAY = dt.date(2025, 7, 1)  # the district level is abolished; some communes merge
EPOCH = dt.date(1970, 1, 1)


def day_number(day: dt.date) -> int:
    return (day - EPOCH).days


def day_of(number: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(number))


DEPARTMENT_NAMES = [
    "Sở Tư pháp", "Sở Kế hoạch và Đầu tư", "Sở Xây dựng", "Sở Tài nguyên và Môi trường",
    "Sở Giao thông vận tải", "Sở Công Thương", "Sở Y tế", "Sở Giáo dục và Đào tạo",
    "Sở Lao động - Thương binh và Xã hội", "Sở Văn hóa và Thể thao",
    "Sở Nông nghiệp và Phát triển nông thôn", "Sở Tài chính", "Sở Nội vụ",
    "Sở Khoa học và Công nghệ", "Sở Thông tin và Truyền thông", "Sở Ngoại vụ", "Sở Du lịch",
    "Ban Quản lý các khu công nghiệp", "Ban Quản lý Khu kinh tế Vân Đồn", "Thanh tra tỉnh",
    "Ban Dân tộc", "Văn phòng UBND tỉnh", "Công an tỉnh", "Cục Thuế tỉnh",
]
DISTRICT_NAMES = [
    ("Thành phố", "Hạ Long"), ("Thành phố", "Cẩm Phả"), ("Thành phố", "Uông Bí"),
    ("Thành phố", "Móng Cái"), ("Thị xã", "Đông Triều"), ("Thị xã", "Quảng Yên"),
    ("Huyện", "Vân Đồn"), ("Huyện", "Tiên Yên"), ("Huyện", "Hải Hà"), ("Huyện", "Đầm Hà"),
    ("Huyện", "Bình Liêu"), ("Huyện", "Ba Chẽ"), ("Huyện", "Cô Tô"),
]
COMMUNE_FIRST = ["Hồng", "Cẩm", "Quang", "Yên", "Đông", "Tân", "Bình", "Hải", "Minh", "Thanh",
                 "Phong", "Kim", "Xuân", "Việt", "Hưng", "An", "Đại", "Nam", "Bắc", "Vạn"]
COMMUNE_SECOND = ["Hà", "Hải", "Sơn", "Lâm", "Thành", "Hòa", "Trung", "Khê", "Long", "Thịnh",
                  "Lợi", "Phú", "Tiến", "Dương", "Châu", "Ninh", "Đức", "Lạc"]

# (name, sector code, sector name, levels, fee VND (0 = none), fee type, legal working days
#  (None = no fixed deadline), popularity weight)
BASE_PROCEDURES = [
    ("Đăng ký khai sinh", "HT", "Hộ tịch", ("XA",), 0, None, 1, 60),
    ("Đăng ký kết hôn", "HT", "Hộ tịch", ("XA",), 0, None, 1, 14),
    ("Đăng ký khai tử", "HT", "Hộ tịch", ("XA",), 0, None, 1, 8),
    ("Cấp bản sao trích lục hộ tịch", "HT", "Hộ tịch", ("XA", "HUYEN"), 8000, "LE_PHI", 1, 30),
    ("Cấp giấy xác nhận tình trạng hôn nhân", "HT", "Hộ tịch", ("XA",), 0, None, 3, 20),
    ("Đăng ký lại khai sinh", "HT", "Hộ tịch", ("XA",), 0, None, 5, 4),
    ("Đăng ký khai sinh có yếu tố nước ngoài", "HT", "Hộ tịch", ("HUYEN", "XA"), 75000,
     "LE_PHI", 15, 2),
    ("Chứng thực bản sao từ bản chính giấy tờ, văn bản", "CT", "Chứng thực", ("XA", "HUYEN"),
     2000, "PHI", 1, 90),
    ("Chứng thực chữ ký trong các giấy tờ, văn bản", "CT", "Chứng thực", ("XA", "HUYEN"),
     10000, "PHI", 1, 25),
    ("Chứng thực hợp đồng, giao dịch liên quan đến tài sản là động sản", "CT", "Chứng thực",
     ("XA", "HUYEN"), 50000, "PHI", 2, 10),
    ("Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam", "LLTP", "Lý lịch tư pháp", ("TINH",),
     200000, "PHI", 10, 20),
    ("Đăng ký thành lập doanh nghiệp tư nhân", "DKKD", "Thành lập và hoạt động doanh nghiệp",
     ("TINH",), 50000, "LE_PHI", 3, 8),
    ("Đăng ký thành lập công ty TNHH một thành viên", "DKKD",
     "Thành lập và hoạt động doanh nghiệp", ("TINH",), 50000, "LE_PHI", 3, 10),
    ("Đăng ký thay đổi nội dung đăng ký doanh nghiệp", "DKKD",
     "Thành lập và hoạt động doanh nghiệp", ("TINH",), 50000, "LE_PHI", 3, 12),
    ("Đăng ký thành lập hộ kinh doanh", "HKD", "Thành lập và hoạt động của hộ kinh doanh",
     ("HUYEN", "XA"), 100000, "LE_PHI", 3, 15),
    ("Cấp giấy phép xây dựng nhà ở riêng lẻ", "XD", "Hoạt động xây dựng", ("HUYEN", "XA"),
     75000, "LE_PHI", 15, 10),
    ("Cấp giấy phép xây dựng mới đối với công trình cấp I, cấp II", "XD", "Hoạt động xây dựng",
     ("TINH",), 150000, "LE_PHI", 20, 2),
    ("Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất", "DD",
     "Đất đai", ("TINH", "HUYEN"), 30000, "LE_PHI", 10, 25),
    ("Đăng ký, cấp Giấy chứng nhận quyền sử dụng đất lần đầu", "DD", "Đất đai",
     ("HUYEN", "TINH"), 100000, "LE_PHI", 20, 8),
    ("Chuyển mục đích sử dụng đất phải được phép của cơ quan nhà nước có thẩm quyền", "DD",
     "Đất đai", ("HUYEN", "TINH"), 0, None, 15, 4),
    ("Hòa giải tranh chấp đất đai", "DD", "Đất đai", ("XA",), 0, None, 20, 2),
    ("Cấp đổi giấy phép lái xe do ngành Giao thông vận tải cấp", "DB", "Đường bộ", ("TINH",),
     135000, "LE_PHI", 5, 18),
    ("Cấp Giấy phép lái xe quốc tế", "DB", "Đường bộ", ("TINH",), 135000, "LE_PHI", 5, 2),
    ("Cấp Giấy phép kinh doanh vận tải bằng xe ô tô", "DB", "Đường bộ", ("TINH",), 200000,
     "PHI", 5, 2),
    ("Cấp giấy phép hoạt động đối với cơ sở khám bệnh, chữa bệnh", "KCB", "Khám bệnh, chữa bệnh",
     ("TINH",), 4300000, "PHI", 20, 1),
    ("Cấp Chứng chỉ hành nghề dược", "DUOC", "Dược phẩm", ("TINH",), 500000, "PHI", 20, 2),
    ("Cấp Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm", "ATTP", "An toàn thực phẩm",
     ("TINH", "HUYEN"), 1500000, "PHI", 20, 3),
    ("Cấp Giấy phép bán lẻ sản phẩm rượu", "LTHH", "Lưu thông hàng hóa trong nước",
     ("HUYEN", "XA"), 1200000, "PHI", 10, 2),
    ("Cấp Giấy phép bán lẻ sản phẩm thuốc lá", "LTHH", "Lưu thông hàng hóa trong nước",
     ("TINH",), 1200000, "PHI", 15, 1),
    ("Cấp Giấy chứng nhận cửa hàng đủ điều kiện bán lẻ xăng dầu", "KDXD", "Kinh doanh khí",
     ("TINH",), 1500000, "PHI", 15, 1),
    ("Giải quyết hưởng trợ cấp xã hội hàng tháng", "BTXH", "Bảo trợ xã hội", ("XA", "HUYEN"),
     0, None, 20, 6),
    ("Xác nhận hộ nghèo, hộ cận nghèo phát sinh trong năm", "GN", "Giảm nghèo", ("XA",), 0,
     None, 10, 3),
    ("Giải quyết hưởng trợ cấp thất nghiệp", "VL", "Việc làm", ("TINH",), 0, None, 20, 8),
    ("Cấp giấy phép lao động cho người lao động nước ngoài", "VL", "Việc làm", ("TINH",),
     600000, "PHI", 5, 2),
    ("Cấp bản sao văn bằng, chứng chỉ từ sổ gốc", "VBCC", "Văn bằng, chứng chỉ",
     ("TINH", "HUYEN"), 0, None, 1, 5),
    ("Chuyển trường đối với học sinh trung học cơ sở", "GDTH", "Giáo dục trung học",
     ("HUYEN", "XA"), 0, None, 3, 4),
    ("Cấp giấy phép đủ điều kiện kinh doanh dịch vụ karaoke", "VHCS", "Văn hóa cơ sở",
     ("TINH", "HUYEN"), 4000000, "PHI", 5, 1),
    ("Cấp giấy phép khai thác, sử dụng nước dưới đất", "TNN", "Tài nguyên nước", ("TINH",),
     1500000, "PHI", 20, 1),
    ("Tiếp nhận thông báo tổ chức lễ hội cấp xã", "VHCS", "Văn hóa cơ sở", ("XA",), 0, None,
     None, 2),
    ("Giải quyết khiếu nại lần đầu", "KN", "Giải quyết khiếu nại", ("XA", "HUYEN", "TINH"), 0,
     None, None, 3),
    ("Cấp giấy phép quy hoạch dự án đầu tư xây dựng", "QH", "Quy hoạch xây dựng", ("TINH",),
     2000000, "LE_PHI", None, 1),
    ("Đăng ký xe máy chuyên dùng lần đầu", "DB", "Đường bộ", ("TINH",), 200000, "LE_PHI", 3, 2),
]
# Internal procedures (TTHC nội bộ, NoiBo), performed between state agencies; same layout.
# Kept after BASE_PROCEDURES so the catalogue draws of the others stay as they were.
INTERNAL_PROCEDURES = [
    ("Thẩm định đề án vị trí việc làm và cơ cấu ngạch công chức", "TCBC", "Tổ chức - biên chế",
     ("TINH", "HUYEN"), 0, None, 20, 4),
    ("Xét tặng danh hiệu Lao động tiên tiến", "TDKT", "Thi đua - khen thưởng",
     ("XA", "HUYEN", "TINH"), 0, None, 10, 6),
    ("Thẩm định dự toán kinh phí thực hiện nhiệm vụ chi thường xuyên", "NSNN",
     "Quản lý ngân sách nhà nước", ("TINH", "HUYEN", "XA"), 0, None, 15, 3),
]
VARIANT_SUFFIXES = ["", " (cấp lại)", " (cấp đổi)", " (điều chỉnh, bổ sung)", " (gia hạn)",
                    " - trường hợp bị mất, hỏng", " - trường hợp có yếu tố nước ngoài"]


@dataclass
class Agency:
    index: int
    code: str
    name: str
    level: str            # TINH | HUYEN | XA
    parent: str | None
    valid_from: dt.date
    valid_to: dt.date | None
    successor: str | None
    short: str            # the agency part of its dossier ids
    weight: float         # relative dossier volume
    p_online: float       # share of dossiers submitted online (KenhThucHien 2)
    p_remote: float       # of online ones, share submitted remotely (NopTuXa 1)
    p_postal: float
    p_digitized: float
    p_on_time: float
    p_postal_return: float
    p_online_payment: float
    p_internal_online: float = 0.0  # dossiers of internal procedures received online
    p_result_online: float = 0.0    # KetQuaSoHoa 1 among finished online dossiers
    p_result_paper: float = 0.0     # … among finished paper and postal ones
    exports_result: bool = True     # False: older agency software, no KetQuaSoHoa at all

    def valid_on(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass
class Procedure:
    index: int
    code: str
    name: str
    sector_code: str
    sector_name: str
    levels: tuple[str, ...]
    fee: int
    fee_type: str | None
    legal_days: int | None
    weight: float
    service_level: str          # version 1
    online_payment: bool        # version 1
    valid_from: dt.date
    upgrade_day: dt.date | None = None  # version 2 from this day: TOAN_TRINH, online payment
    internal: bool = False      # NoiBo
    internal_spelling: int = 0  # NoiBo of the others, as v1 exports leave it: 0 false, 1 null, 2 absent
    versions: list[dict] = field(default_factory=list)


@dataclass
class Catalogue:
    agencies: list[Agency]
    procedures: list[Procedure]
    # per-agency arrays for vectorized generation
    agency_params: np.ndarray  # [n_agencies, 7] float: p_online … p_online_payment
    level_of_agency: np.ndarray  # int8 [n_agencies]: 0 TINH, 1 HUYEN, 2 XA
    procs_by_level: list[tuple[np.ndarray, np.ndarray]]  # (procedure indexes, probabilities)
    proc_fee: np.ndarray
    proc_fee_type: np.ndarray   # int8: -1 none, 0 PHI, 1 LE_PHI
    proc_legal_days: np.ndarray  # int16: -1 none
    proc_upgrade_day: np.ndarray  # int64 day number, huge if none
    proc_online_payment_v1: np.ndarray
    proc_not_online_v1: np.ndarray  # MucDoDVC KHONG in version 1
    proc_internal: np.ndarray  # bool: NoiBo
    # [n_agencies, 3] float: p_internal_online, p_result_online, p_result_paper
    agency_v11: np.ndarray
    agency_exports_result: np.ndarray  # bool


LEVELS = ("TINH", "HUYEN", "XA")


def _commune_names(count: int, rng: np.random.Generator) -> list[str]:
    combos = [f"{a} {b}" for a in COMMUNE_FIRST for b in COMMUNE_SECOND if a != b]
    order = rng.permutation(len(combos))
    names = [combos[i] for i in order[:count]]
    while len(names) < count:  # more communes than combinations: number them
        names.append(f"{combos[order[len(names) % len(combos)]]} {len(names) // len(combos) + 1}")
    return names


def _agency_params(rng: np.random.Generator, level: str) -> dict:
    """Per-agency behaviour: some agencies reach the 50 % online-remote target, others miss."""
    online_hi = {"TINH": 0.97, "HUYEN": 0.85, "XA": 0.8}[level]
    return dict(
        p_online=float(rng.uniform(0.25, online_hi)),
        p_remote=float(rng.uniform(0.55, 0.98)),
        p_postal=float(rng.uniform(0.0, 0.06)),
        p_digitized=float(rng.uniform(0.45, 0.97)),
        p_on_time=float(rng.uniform(0.82, 0.995)),
        p_postal_return=float(rng.uniform(0.02, 0.3)),
        p_online_payment=float(rng.uniform(0.15, 0.85)),
    )


def build_catalogue(seed: int, preset: SizePreset, start: dt.date, end: dt.date) -> Catalogue:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xCA7A]))
    long_ago = min(dt.date(2015, 1, 1), start - dt.timedelta(days=365))
    day_before_reorg = REORG_DAY - dt.timedelta(days=1)
    agencies: list[Agency] = []

    def add(code, name, level, parent, valid_from, valid_to, successor, short, weight):
        agencies.append(Agency(len(agencies), code, name, level, parent, valid_from, valid_to,
                               successor, short, weight, **_agency_params(rng, level)))

    province = f"000.00.00.{PROVINCE_SUFFIX}"
    add(province, "Ủy ban nhân dân tỉnh Quảng Ninh", "TINH", None, long_ago, None, None, "00", 0.6)
    for i in range(preset.departments):
        name = DEPARTMENT_NAMES[i % len(DEPARTMENT_NAMES)]
        if i >= len(DEPARTMENT_NAMES):
            name = f"{name} (cơ sở {i // len(DEPARTMENT_NAMES) + 1})"
        add(f"000.00.{i + 1:02d}.{PROVINCE_SUFFIX}", name, "TINH", province, long_ago, None, None,
            f"{i + 1:02d}", float(rng.uniform(0.5, 3.0)))
    commune_names = _commune_names(preset.districts * preset.communes_per_district, rng)
    merged_serial = 0
    for j in range(preset.districts):
        kind, dname = DISTRICT_NAMES[j % len(DISTRICT_NAMES)]
        if j >= len(DISTRICT_NAMES):
            dname = f"{dname} {j // len(DISTRICT_NAMES) + 1}"
        dcode = f"000.00.{40 + j:02d}.{PROVINCE_SUFFIX}"
        add(dcode, f"Ủy ban nhân dân {kind.lower()} {dname}", "HUYEN", province, long_ago,
            day_before_reorg, province, f"{40 + j:02d}", float(rng.uniform(1.5, 4.0)))
        ward = "Phường" if kind != "Huyện" else "Xã"
        communes = []
        for k in range(preset.communes_per_district):
            cname = commune_names[j * preset.communes_per_district + k]
            communes.append((f"{k + 1:03d}.00.{40 + j:02d}.{PROVINCE_SUFFIX}",
                             f"Ủy ban nhân dân {ward.lower()} {cname}", f"{40 + j:02d}{k + 1:02d}"))
        # On 1 July 2025 the first communes of each district merge in pairs or threes.
        n_merging = (len(communes) * 2) // 3
        groups, pos = [], 0
        while pos < n_merging:
            size = 3 if (n_merging - pos) in (3, 5) or rng.random() < 0.3 else 2
            groups.append(communes[pos:pos + size])
            pos += size
        successor_of = {}
        for group in groups:
            if len(group) < 2:
                continue
            merged_serial += 1
            new_code = f"{100 + merged_serial:03d}.00.00.{PROVINCE_SUFFIX}"
            # A merged commune usually keeps the name of one of its predecessors.
            new_name = group[0][1]
            add(new_code, new_name, "XA", province, REORG_DAY, None, None,
                f"9{merged_serial:03d}", 0.0)  # weight set below from its predecessors
            for code, _, _ in group:
                successor_of[code] = len(agencies) - 1
        for code, name, short in communes:
            succ = successor_of.get(code)
            add(code, name, "XA", dcode, long_ago,
                day_before_reorg if succ is not None else None,
                agencies[succ].code if succ is not None else None, short,
                float(rng.uniform(0.4, 1.6)))
            if succ is not None:
                agencies[succ].weight += agencies[-1].weight

    procedures: list[Procedure] = []
    first_day, last_day = day_number(start), day_number(end) - 1
    for b, (name, sector, sector_name, levels, fee, fee_type, days, weight) in enumerate(
            BASE_PROCEDURES + INTERNAL_PROCEDURES):
        internal = b >= len(BASE_PROCEDURES)
        for v in range(preset.base_procedure_variants):
            idx = len(procedures)
            fee_v = int(fee * (1 if v == 0 else rng.choice([0.5, 1, 1, 2]))) if fee else 0
            mode = rng.random()
            # Internal procedures are mostly offered online (so INTERNAL_ONLINE_RATE has dossiers).
            online_share, full_share = (0.95, 0.6) if internal else (0.8, 0.45)
            service = "TOAN_TRINH" if mode < full_share else ("MOT_PHAN" if mode < online_share else "KHONG")
            online_payment = bool(fee_v and service != "KHONG" and rng.random() < 0.6)
            upgrade = None
            if service != "TOAN_TRINH" and rng.random() < 0.4 and last_day - first_day > 40:
                upgrade = day_of(int(rng.integers(first_day + 15, last_day - 15)))
            procedures.append(Procedure(
                index=idx, code=f"{1 + (b % 2)}.{5100 + b * 40 + v:06d}",
                name=name + VARIANT_SUFFIXES[v % len(VARIANT_SUFFIXES)],
                sector_code=sector, sector_name=sector_name, levels=levels, fee=fee_v,
                fee_type=fee_type if fee_v else None,
                legal_days=None if days is None else min(int(days), 20),
                weight=weight / (1 + 2 * v), service_level=service,
                online_payment=online_payment, valid_from=long_ago, upgrade_day=upgrade,
                internal=internal))
    _draw_v11(seed, agencies, procedures)

    for p in procedures:
        base = dict(MaTTHC=p.code, TenTTHC=p.name, MaLinhVuc=p.sector_code,
                    TenLinhVuc=p.sector_name, CapThucHien=list(p.levels), MucDoDVC=p.service_level,
                    CoPhiLePhi=bool(p.fee), ThanhToanTrucTuyen=p.online_payment,
                    ThoiHanGiaiQuyet=p.legal_days, NoiBo=p.internal,
                    HieuLucTu=p.valid_from.isoformat(), HieuLucDen=None)
        if p.upgrade_day is None:
            p.versions = [base]
        else:
            v1 = dict(base, HieuLucDen=(p.upgrade_day - dt.timedelta(days=1)).isoformat())
            v2 = dict(base, MucDoDVC="TOAN_TRINH", ThanhToanTrucTuyen=bool(p.fee),
                      HieuLucTu=p.upgrade_day.isoformat())
            p.versions = [v1, v2]

    level_index = {name: i for i, name in enumerate(LEVELS)}
    procs_by_level = []
    for level in LEVELS:
        idx = np.array([p.index for p in procedures if level in p.levels], dtype=np.int32)
        w = np.array([procedures[i].weight for i in idx], dtype=np.float64)
        procs_by_level.append((idx, w / w.sum()))
    huge = np.iinfo(np.int64).max // 4
    return Catalogue(
        agencies=agencies,
        procedures=procedures,
        agency_params=np.array([[a.p_online, a.p_remote, a.p_postal, a.p_digitized, a.p_on_time,
                                 a.p_postal_return, a.p_online_payment] for a in agencies]),
        level_of_agency=np.array([level_index[a.level] for a in agencies], dtype=np.int8),
        procs_by_level=procs_by_level,
        proc_fee=np.array([p.fee for p in procedures], dtype=np.int64),
        proc_fee_type=np.array([-1 if p.fee_type is None else (0 if p.fee_type == "PHI" else 1)
                                for p in procedures], dtype=np.int8),
        proc_legal_days=np.array([-1 if p.legal_days is None else p.legal_days
                                  for p in procedures], dtype=np.int16),
        proc_upgrade_day=np.array([huge if p.upgrade_day is None else day_number(p.upgrade_day)
                                   for p in procedures], dtype=np.int64),
        proc_online_payment_v1=np.array([p.online_payment for p in procedures], dtype=bool),
        proc_not_online_v1=np.array([p.service_level == "KHONG" for p in procedures], dtype=bool),
        proc_internal=np.array([p.internal for p in procedures], dtype=bool),
        agency_v11=np.array([[a.p_internal_online, a.p_result_online, a.p_result_paper]
                             for a in agencies]),
        agency_exports_result=np.array([a.exports_result for a in agencies], dtype=bool),
    )


def _draw_v11(seed: int, agencies: list[Agency], procedures: list[Procedure]) -> None:
    """The v1.1 attributes (source-api.md), from their own stream: the v1 draws stay as they were."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x11A]))
    for a in agencies:
        a.p_internal_online = float(rng.uniform(0.75, 0.93))
        a.p_result_online = float(rng.uniform(0.7, 0.97))
        a.p_result_paper = float(rng.uniform(0.1, 0.5))
    # Some agencies that exist throughout still run software without KetQuaSoHoa.
    lasting = [a for a in agencies if a.valid_to is None and a.valid_from < REORG_DAY]
    for k in rng.choice(len(lasting), size=max(1, round(0.12 * len(lasting))), replace=False).tolist():
        lasting[k].exports_result = False
    # Shares of false, null and absent among the others' NoiBo, each at least once.
    others = [p for p in procedures if not p.internal]
    for rank, k in enumerate(rng.permutation(len(others)).tolist()):
        share = rank / len(others)
        others[k].internal_spelling = 0 if share < 0.45 else 1 if share < 0.7 else 2


def agency_record(a: Agency) -> dict:
    return dict(MaDonVi=a.code, TenDonVi=a.name, CapDonVi=a.level, MaDonViCha=a.parent,
                HieuLucTu=a.valid_from.isoformat(),
                HieuLucDen=a.valid_to.isoformat() if a.valid_to else None,
                MaDonViKeThua=a.successor)
