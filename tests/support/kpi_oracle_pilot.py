"""The oracle of the three KPIs of December 2026 and the paper-free pilot file, in plain Python:
the v1.1 fields NoiBo and KetQuaSoHoa (source-api.md), the pilot registrations of TTHC_PILOT_FILE
read with the `csv` module (operations.md), what the emulator serves, and pilot files and v1
exports made by hand for tests/integration/test_kpi_oracle_pilot.py."""
from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import threading
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from etl.warehouse import connect
from .paths import REPO_ROOT
from .kpi_oracle import (
    api_get,
    day,
    fetch_feed,
    latest_states,
    parse_dossier,
    periods_of,
    text,
)


# kpis.md, the last three rows of the KPI table, "target (source)".
NEW_TARGETS = {
    "INTERNAL_ONLINE_RATE": 1.00,    # decision, Art. 2.2
    "PILOT_PAPER_FREE_RATE": 1.00,   # decision, Art. 2.3
    "DIGITIZED_RESULT_RATE": None,   # no target: target and met are null
}
NEW_KPIS = set(NEW_TARGETS)
OLD_KPIS = {
    "ONLINE_REMOTE_RATE", "ONLINE_RATE", "POSTAL_RECEIPT_RATE", "DIGITIZED_RATE", "DVCTT_COVERAGE",
    "FEE_PROC_ONLINE_PAYABLE_RATE", "FEE_PROC_WITH_ONLINE_TX_RATE", "ONLINE_PAYMENT_TX_RATE",
    "DOSSIER_ONLINE_PAYMENT_RATE", "ON_TIME_RATE", "POSTAL_RETURN_RATE", "AVG_DAYS_ONLINE",
    "AVG_DAYS_OFFLINE",
}
PILOT_COLUMNS = ("MaDonVi", "MaTTHC", "TuNgay", "DenNgay", "Thu")


# --- the v1.1 fields, per source-api.md ----------------------------------------------------------

def internal(value) -> bool:
    """NoiBo (`bool | null | absent`; "empty = false").

    Our reading of the contract: NoiBo is a JSON boolean, not a code, so only JSON `true` is true.
    The v1.1 note says "Any other value of either reads as false / 0", and the "codes may arrive as
    numbers or strings" rule covers codes and enums, not the bool fields: so the strings "true",
    "1", "x", the number 1, null, "" and an absent field all read as false.
    """
    return value is True


def result_digitized(value) -> bool:
    """KetQuaSoHoa (`"0" | "1" | absent`; "empty = 0"; any other value reads as 0).

    It is a code like HoSoCoThanhPhanSoHoa, so it may arrive as a number or a string with spaces
    ("An integer code is a JSON integer or a string of digits"): 1, "1", " 1 " read as 1. A JSON
    boolean, 1.0, "1.0", "có" and anything else read as 0.
    """
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value == 1
    if isinstance(value, str) and re.fullmatch(r"\d+", value.strip()):
        return int(value.strip()) == 1
    return False


# --- the pilot file, per operations.md ------------------------------------------------------------

def nfc(value: str) -> str:
    return unicodedata.normalize("NFC", value).strip()


_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_VN = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def pilot_date(value: str) -> date | None:
    """`yyyy-MM-dd` or `d/M/yyyy` (one or two digits for day and month); None when it does not parse."""
    try:
        if m := _ISO.fullmatch(value):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _VN.fullmatch(value):
            return date(int(m[3]), int(m[2]), int(m[1]))
    except ValueError:  # 2023-02-30, 32/1/2023
        return None
    return None


# Python weekdays: Monday 0 … Sunday 6. Vietnamese offices count Monday as "thứ 2" … Saturday as
# "thứ 7"; `Thứ 4`, `T4` and `4` are the same day; `CN` or `Chủ nhật` is Sunday (case-insensitive).
DAY_NAMES: dict[str, int] = {"cn": 6, nfc("chủ nhật"): 6}
for _n in range(2, 8):
    for _spelling in (f"{_n}", f"t{_n}", nfc(f"thứ {_n}")):
        DAY_NAMES[_spelling] = _n - 2


def pilot_days(value: str) -> set[int] | None:
    """The row's weekdays; an empty Thu is every day (None); raises KeyError on an unknown or empty name."""
    if not value:
        return None
    days = set()
    for name in value.split(","):
        days.add(DAY_NAMES[nfc(name).casefold()])  # '' (from '2,,4') and 'T9' are KeyErrors
    return days


@dataclass(frozen=True)
class PilotRow:
    line: int
    agency: str
    procedure: str
    first: date
    last: date | None
    days: frozenset | None

    def covers(self, d: date) -> bool:
        return (self.first <= d and (self.last is None or d <= self.last)
                and (self.days is None or d.weekday() in self.days))


@dataclass(frozen=True)
class Unreadable:
    line: int
    text: str
    columns: frozenset  # the columns at fault; empty for a wrong number of fields


def read_pilot(path: Path | None) -> tuple[list[PilotRow], list[Unreadable]]:
    """The readable rows and the unreadable ones with their 1-based line numbers (header = line 1).

    One physical line is one row (the files have no quoted line breaks); a UTF-8 BOM is allowed.
    """
    if path is None or not Path(path).exists():
        return [], []
    content = Path(path).read_bytes().decode("utf-8-sig")
    lines = content.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final line break
    lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    if not lines:
        return [], []
    header = [nfc(name) for name in next(csv.reader([lines[0]]))]
    index = {name: header.index(name) for name in PILOT_COLUMNS}
    readable, unreadable = [], []
    for number, line in enumerate(lines[1:], start=2):
        assert line.strip(), f"line {number} of {path} is blank: the oracle has no rule for that"
        fields = next(csv.reader([line]))
        if len(fields) != len(header):
            unreadable.append(Unreadable(number, line, frozenset()))
            continue
        value = {name: nfc(fields[i]) for name, i in index.items()}
        bad = set()
        if not value["MaDonVi"]:
            bad.add("MaDonVi")
        if not value["MaTTHC"]:
            bad.add("MaTTHC")
        first = pilot_date(value["TuNgay"]) if value["TuNgay"] else None
        if first is None:
            bad.add("TuNgay")
        last = None
        if value["DenNgay"]:
            last = pilot_date(value["DenNgay"])
            if last is None or (first is not None and last < first):
                bad.add("DenNgay")
        try:
            days = pilot_days(value["Thu"])
        except KeyError:
            bad.add("Thu")
        if bad:
            unreadable.append(Unreadable(number, line, frozenset(bad)))
            continue
        readable.append(PilotRow(number, value["MaDonVi"], value["MaTTHC"], first, last,
                                 None if days is None else frozenset(days)))
    return readable, unreadable


def pilot_index(rows: list[PilotRow]) -> dict[tuple[str, str], list[PilotRow]]:
    by_pair = defaultdict(list)
    for row in rows:
        by_pair[(row.agency, row.procedure)].append(row)
    return by_pair


# --- what the emulator serves ---------------------------------------------------------------------

@dataclass
class Served:
    dossiers: list[dict]   # valid, latest state, with "result_digitized" beside parse_dossier's fields
    versions: list[dict]


def served(emu, start: date, end: date) -> Served:
    dossiers = []
    for record in latest_states(fetch_feed(emu, "/api/v1/hoso", start, end), "MaHoSo"):
        parsed = parse_dossier(record)
        if parsed is None:
            continue
        parsed["result_digitized"] = result_digitized(record.get("KetQuaSoHoa"))
        dossiers.append(parsed)
    versions = [
        {"code": text(v.get("MaTTHC")), "from": day(v.get("HieuLucTu")), "to": day(v.get("HieuLucDen")),
         "internal": internal(v.get("NoiBo")),
         "online_service": text(v.get("MucDoDVC")) in ("TOAN_TRINH", "MOT_PHAN")}
        for v in api_get(emu, "/api/v1/thutuc")["duLieu"] if text(v.get("MaTTHC"))
    ]
    assert len(dossiers) > 300, "the oracle needs data to mean anything"
    return Served(dossiers, versions)


def received_on(d: dict) -> date | None:
    """The local NgayTiepNhan date of a dossier received (TrangThaiHoSo not 1 or 3), else None."""
    if d["received"] is None or d["status"] in (1, 3):
        return None
    return d["received"].date()


def version_of(versions: list[dict], code: str, on: date) -> dict | None:
    for v in versions:
        if v["code"] == code and (v["from"] is None or v["from"] <= on) and (v["to"] is None or on <= v["to"]):
            return v
    return None


def new_kpis(data: Served, pilot: list[PilotRow]) -> dict:
    """Every row of mart.kpi_value for the three new KPIs: key -> (num, den, value, target, met)."""
    numerator: Counter = Counter()
    denominator: Counter = Counter()

    def count(kpi_code: str, when: date, agency: str, hit: bool) -> None:
        for period in periods_of(when):
            for who in (agency, "*"):
                denominator[(*period, who, kpi_code)] += 1
                numerator[(*period, who, kpi_code)] += 1 if hit else 0

    by_pair = pilot_index(pilot)
    for d in data.dossiers:
        received = received_on(d)
        if received is not None:
            version = version_of(data.versions, d["procedure"], received)
            if version and version["internal"] and version["online_service"]:
                count("INTERNAL_ONLINE_RATE", received, d["agency"], d["channel"] == 2)
            if any(row.covers(received) for row in by_pair.get((d["agency"], d["procedure"]), ())):
                count("PILOT_PAPER_FREE_RATE", received, d["agency"], d["channel"] == 2)
        if d["status"] == 10 and d["returned"] is not None:
            count("DIGITIZED_RESULT_RATE", d["returned"].date(), d["agency"], d["result_digitized"])

    expected = {}
    for key, total in denominator.items():
        value = numerator[key] / total
        target = NEW_TARGETS[key[3]]
        expected[key] = (numerator[key], total, value, target, None if target is None else value >= target)
    return expected


def only(rows: dict, codes) -> dict:
    return {k: v for k, v in rows.items() if k[3] in codes}


# --- pilot files ----------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def emulator_writes_pilot_files() -> bool:
    """Whether this checkout's emulator has `--pilot-file` yet (operations.md, "Command line")."""
    out = subprocess.run([sys.executable, "-m", "etl", "emulator", "--help"], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=60).stdout
    return "--pilot-file" in out


def busiest_pairs(data: Served, months: int = 2) -> list[tuple[str, str]]:
    """(agency, procedure) pairs by number of received dossiers, those spanning `months` months first."""
    per_pair: dict[tuple, list[date]] = defaultdict(list)
    for d in data.dossiers:
        received = received_on(d)
        if received is not None:
            per_pair[(d["agency"], d["procedure"])].append(received)
    spread = lambda pair: len({(r.year, r.month) for r in per_pair[pair]}) >= months
    return sorted(per_pair, key=lambda p: (not spread(p), -len(per_pair[p]), p))


def vn(d: date) -> str:
    return f"{d.day}/{d.month}/{d.year}"


def nfd(value: str) -> str:
    return unicodedata.normalize("NFD", value)


def write_csv(path: Path, header: list[str], rows: list[list[str]], raw_lines: list[str] = (),
              bom: bool = False) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    for line in raw_lines:
        buffer.write(line + "\n")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8"))
    return path


def handcrafted_readable(data: Served, start: date) -> list[dict]:
    """Readable rows for served pairs, in every spelling operations.md allows."""
    pairs = busiest_pairs(data)
    assert len(pairs) >= 7, "too few (agency, procedure) pairs"
    second = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    rows = [
        # every day from the start, open, d/M/yyyy
        dict(MaDonVi=pairs[0][0], MaTTHC=pairs[0][1], TuNgay=vn(start), DenNgay="", Thu=""),
        # Monday, Wednesday, Friday until the middle of the second month; codes with spaces
        dict(MaDonVi=f" {pairs[1][0]}", MaTTHC=f"{pairs[1][1]} ", TuNgay=start.isoformat(),
             DenNgay=vn(second + timedelta(days=14)), Thu="2,4,6"),
        # Vietnamese day names, NFD, mixed case, spaces
        dict(MaDonVi=pairs[2][0], MaTTHC=pairs[2][1], TuNgay=f" {start.isoformat()} ", DenNgay="",
             Thu=nfd("Thứ 2, T3 ,cn")),
        dict(MaDonVi=pairs[3][0], MaTTHC=pairs[3][1], TuNgay=vn(start + timedelta(days=9)),
             DenNgay=(second + timedelta(days=40)).isoformat(), Thu=nfd("CHỦ NHẬT,7,t5, THỨ 6")),
        # two rows for one pair combine (overlapping; a dossier counts once)
        dict(MaDonVi=pairs[4][0], MaTTHC=pairs[4][1], TuNgay=start.isoformat(), DenNgay="", Thu="2,3,4"),
        dict(MaDonVi=pairs[4][0], MaTTHC=pairs[4][1], TuNgay=vn(second), DenNgay="", Thu="T4,T5"),
        # a one-day pilot
        dict(MaDonVi=pairs[5][0], MaTTHC=pairs[5][1], TuNgay=second.isoformat(),
             DenNgay=f"{second.day:02d}/{second.month:02d}/{second.year}", Thu=""),
        # codes the reference lists do not know are valid (and match nothing here)
        dict(MaDonVi="999.99.99.X99", MaTTHC="9.999999", TuNgay=start.isoformat(), DenNgay="", Thu=""),
    ]
    return rows


def handcrafted_unreadable(data: Served, start: date) -> tuple[list[dict], list[str]]:
    """Unreadable rows, all for a served pair that no readable row names (so counting any shows)."""
    agency, procedure = busiest_pairs(data)[6]
    row = dict(MaDonVi=agency, MaTTHC=procedure, TuNgay=start.isoformat(), DenNgay="", Thu="")
    rows = [
        {**row, "Thu": "T9"},
        {**row, "Thu": "2,,4"},
        {**row, "Thu": "Thứ hai"},
        {**row, "Thu": ","},
        {**row, "TuNgay": ""},
        {**row, "TuNgay": " "},
        {**row, "TuNgay": f"{start.year}-02-30"},
        {**row, "TuNgay": f"32/1/{start.year}"},
        {**row, "TuNgay": f"{start.year}/01/05"},
        {**row, "DenNgay": "hôm nay"},
        {**row, "DenNgay": (start - timedelta(days=1)).isoformat()},
        {**row, "MaDonVi": ""},
        {**row, "MaTTHC": "  "},
        {**row, "MaDonVi": "", "Thu": "8"},
    ]
    # A wrong number of fields: one too few, one too many (raw lines, whatever the column order).
    raw = [f"{agency},{procedure},{start.isoformat()}", f"{agency},{procedure},{start.isoformat()},,,extra"]
    return rows, raw


def as_lists(header: list[str], rows: list[dict]) -> list[list[str]]:
    return [[row[name] for name in header] for row in rows]


def quarantined_pilot_rows(warehouse: Path) -> list[tuple]:
    con = connect(warehouse, read_only=True)
    try:
        return con.execute(
            "SELECT CAST(record_key AS VARCHAR), CAST(reasons AS VARCHAR), CAST(record AS VARCHAR) "
            "FROM audit.quarantine WHERE entity = 'pilot'").fetchall()
    finally:
        con.close()


def assert_quarantine_matches(warehouse: Path, unreadable: list[Unreadable]) -> None:
    rows = quarantined_pilot_rows(warehouse)
    got = {key: (reasons, record) for key, reasons, record in rows}
    assert len(got) == len(rows), f"a pilot line is quarantined twice: {sorted(r[0] for r in rows)}"
    expected = {str(u.line): u for u in unreadable}
    assert set(got) == set(expected), (
        f"quarantined lines {sorted(got)} != unreadable lines {sorted(expected)}")
    wrong = []
    for key, u in expected.items():
        reasons, record = got[key]
        if record != u.text:
            wrong.append((key, "record", record, u.text))
        if not reasons or not reasons.strip():
            wrong.append((key, "no reasons", reasons))
        for column in u.columns:
            if column not in reasons:
                wrong.append((key, f"reasons do not name {column}", reasons, u.text))
    assert not wrong, f"{len(wrong)} quarantine rows differ, e.g. {wrong[:6]}"


# --- a v1 export ----------------------------------------------------------------------------------

V11_FIELDS = ("NoiBo", "KetQuaSoHoa")


@dataclass
class V1Export:
    """The emulator's API as a v1 (pre-December 2026) export serves it: without NoiBo and KetQuaSoHoa."""
    url: str
    token: str
    server: ThreadingHTTPServer


def v1_export_of(emu) -> V1Export:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            upstream = requests.get(emu.url + self.path, timeout=60,
                                    headers={"Authorization": self.headers.get("Authorization", "")})
            body = upstream.content
            if upstream.status_code == 200:
                payload = upstream.json()
                for record in payload.get("duLieu") or []:
                    for name in V11_FIELDS:
                        record.pop(name, None)
                body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            self.send_response(upstream.status_code)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            if "Retry-After" in upstream.headers:
                self.send_header("Retry-After", upstream.headers["Retry-After"])
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return V1Export(f"http://127.0.0.1:{server.server_address[1]}", emu.token, server)
