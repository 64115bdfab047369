"""Paper-free pilot registrations (operations.md, `TTHC_PILOT_FILE`): the city office's CSV.

`land_pilot(settings, day)` copies the file as it is into the landing zone under the run's day
(`raw/pilot/<day>/`, with a manifest like a reference list's; no file, or none configured, lands
a window without files: no pilot). `parse(text)` reads it: each CSV record becomes a readable
`Registration` or a `Rejected` row with its 1-based line number (the header is line 1), its text
and reasons that name the column. The validation stage stages both; the load keeps the readable
ones as `core.dim_pilot_registration` and quarantines the rest as entity `pilot`.
"""
from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from etl.config import Settings

log = logging.getLogger(__name__)

ENTITY = "pilot"
COLUMNS = ("MaDonVi", "MaTTHC", "TuNgay", "DenNgay", "Thu")
DATA_NAME = "data-{digest}.csv"

# Office spellings of a weekday (operations.md): 2…7 Monday…Saturday, CN or Chủ nhật Sunday;
# "Thứ 4", "T4" and "4" are the same day, and nothing else is. Keys are NFC, trimmed, case-folded.
_WEEKDAY = re.compile(r"(?:thứ |t)?([2-7])")
_SUNDAY = {"cn", "chủ nhật"}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DMY_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


@dataclass(frozen=True)
class Registration:
    line_number: int
    text: str
    agency_code: str
    procedure_code: str
    start_date: date
    end_date: date | None            # inclusive; None = still running
    weekdays: tuple[int, ...] | None  # ISO days (1 Monday … 7 Sunday); None = every day


@dataclass(frozen=True)
class Rejected:
    line_number: int
    text: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class PilotFile:
    header: tuple[str, ...]
    registrations: tuple[Registration, ...]
    rejected: tuple[Rejected, ...]

    @property
    def records(self) -> int:
        return len(self.registrations) + len(self.rejected)


class PilotFileError(ValueError):
    """The file cannot be read as text at all; the message says which file and why."""


# --------------------------------------------------------------------------- parsing

def normalized(value: str) -> str:
    """A value as operations.md compares it: NFC, trimmed."""
    return unicodedata.normalize("NFC", value).strip()


def weekday(name: str) -> int | None:
    """One day name → ISO weekday, or None when it is not a day the contract knows."""
    key = normalized(name).casefold()
    if key in _SUNDAY:
        return 7
    match = _WEEKDAY.fullmatch(key)
    return int(match.group(1)) - 1 if match else None


def weekdays(text: str) -> tuple[int, ...] | None:
    """The Thu column → sorted ISO weekdays; None (every day) when empty. ValueError names the
    unreadable element."""
    if not normalized(text):
        return None
    days = set()
    for element in text.split(","):
        day = weekday(element)
        if day is None:
            shown = normalized(element)
            raise ValueError(f"empty day name in {normalized(text)!r}" if not shown
                             else f"unknown day name {shown!r}")
        days.add(day)
    return tuple(sorted(days))


def pilot_date(text: str) -> date:
    """`yyyy-MM-dd` or `d/M/yyyy` naming a real day; ValueError otherwise."""
    value = normalized(text)
    try:
        if _ISO_DATE.fullmatch(value):
            return date.fromisoformat(value)
        match = _DMY_DATE.fullmatch(value)
        if match:
            day, month, year = (int(part) for part in match.groups())
            return date(year, month, day)
    except ValueError:
        pass
    raise ValueError(f"not a date (yyyy-MM-dd or d/M/yyyy): {value!r}")


def parse(text: str) -> PilotFile:
    """Every record of the file, readable or rejected, in file order."""
    lines = list(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    reader = csv.reader(lines)
    header: tuple[str, ...] = ()
    registrations: list[Registration] = []
    rejected: list[Rejected] = []
    consumed = 0
    for fields in reader:
        first_line, consumed = consumed + 1, reader.line_num
        if not fields:  # a blank line holds no record
            continue
        row_text = "".join(lines[first_line - 1:consumed]).rstrip("\r\n")
        if not header:
            header = tuple(normalized(name) for name in fields)
            continue
        outcome = _record(header, fields, first_line, row_text)
        (registrations if isinstance(outcome, Registration) else rejected).append(outcome)
    return PilotFile(header, tuple(registrations), tuple(rejected))


def _record(header: tuple[str, ...], fields: list[str], line_number: int,
            row_text: str) -> Registration | Rejected:
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        return Rejected(line_number, row_text,
                        tuple(f"{name}: the header row has no such column" for name in missing))
    if len(fields) != len(header):
        return Rejected(line_number, row_text,
                        (f"row: {len(fields)} fields where the header has {len(header)}",))
    value = {name: fields[header.index(name)] for name in COLUMNS}
    reasons: list[str] = []
    agency, procedure = normalized(value["MaDonVi"]), normalized(value["MaTTHC"])
    for name, code in (("MaDonVi", agency), ("MaTTHC", procedure)):
        if not code:
            reasons.append(f"{name}: empty")
    start = end = days = None
    if not normalized(value["TuNgay"]):
        reasons.append("TuNgay: empty")
    else:
        try:
            start = pilot_date(value["TuNgay"])
        except ValueError as exc:
            reasons.append(f"TuNgay: {exc}")
    if normalized(value["DenNgay"]):
        try:
            end = pilot_date(value["DenNgay"])
        except ValueError as exc:
            reasons.append(f"DenNgay: {exc}")
    if start and end and end < start:
        reasons.append(f"DenNgay: {end} is before TuNgay {start}")
    try:
        days = weekdays(value["Thu"])
    except ValueError as exc:
        reasons.append(f"Thu: {exc}")
    if reasons:
        return Rejected(line_number, row_text, tuple(reasons))
    return Registration(line_number, row_text, agency, procedure, start, end, days)


def read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PilotFileError(f"pilot file {path} is not UTF-8 text: {exc}") from None


# --------------------------------------------------------------------------- staging

@dataclass(frozen=True)
class LandedPilot:
    path: Path
    rows: int                 # the manifest's count of records
    window_start: datetime    # naive local wall time
    current: bool             # the batch's latest pilot window: its rows are the registrations


# The staged pilot rows (docs/ARCHITECTURE.md "Staged batch"): the registration's columns, then
# the staging columns every entity carries.
STAGED_SCHEMA = (
    ("line_number", "int32"), ("agency_code", "string"), ("procedure_code", "string"),
    ("start_date", "date32"), ("end_date", "date32"), ("weekdays", "list<int16>"),
    ("row_text", "string"), ("record_key", "string"), ("window_start", "timestamp[us]"),
    ("is_valid", "bool"), ("reasons", "string"), ("superseded", "bool"), ("record", "string"),
    ("record_hash", "string"),
)


def write_staged(files: list[LandedPilot], target: Path) -> tuple[int, int]:
    """One parquet row per record of the landed files: readable rows valid (superseded unless
    current), the others invalid with their reasons and text. Returns (records, unreadable)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows: list[dict] = []
    for landed in files:
        parsed = parse(read_text(landed.path))
        if parsed.records != landed.rows:
            raise PilotFileError(f"{parsed.records} records in {landed.path.name}, "
                                 f"the manifest says {landed.rows}")
        rows += [_staged_row(row, landed) for row in (*parsed.registrations, *parsed.rejected)]
    types = {"int32": pa.int32(), "string": pa.string(), "date32": pa.date32(),
             "list<int16>": pa.list_(pa.int16()), "timestamp[us]": pa.timestamp("us"),
             "bool": pa.bool_()}
    schema = pa.schema([(name, types[kind]) for name, kind in STAGED_SCHEMA])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), target)
    return len(rows), sum(not row["is_valid"] for row in rows)


def _staged_row(row: Registration | Rejected, landed: LandedPilot) -> dict:
    valid = isinstance(row, Registration)
    # One quarantine row per line: two equal unreadable lines are two records.
    digest = hashlib.sha256(f"{row.line_number}\n{row.text}".encode("utf-8")).hexdigest()
    return {
        "line_number": row.line_number,
        "agency_code": row.agency_code if valid else None,
        "procedure_code": row.procedure_code if valid else None,
        "start_date": row.start_date if valid else None,
        "end_date": row.end_date if valid else None,
        "weekdays": list(row.weekdays) if valid and row.weekdays else None,
        "row_text": row.text,
        "record_key": str(row.line_number),
        "window_start": landed.window_start,
        "is_valid": valid,
        "reasons": None if valid else "; ".join(row.reasons),
        "superseded": valid and not landed.current,
        "record": None if valid else row.text,
        "record_hash": None if valid else digest,
    }


# --------------------------------------------------------------------------- landing

def land_pilot(settings: Settings, day: date) -> Path:
    """Land the configured pilot file under `day`; returns the window's manifest path."""
    from etl import datafiles, landing

    window_start, window_end = landing.local_day_window(day)
    target = Path(settings.raw_dir) / ENTITY / day.isoformat()
    target.mkdir(parents=True, exist_ok=True)
    source = settings.pilot_file
    files, header, records = [], (), 0
    if source is None:
        log.info("no TTHC_PILOT_FILE: no paper-free pilot is registered")
    elif not Path(source).is_file():
        log.warning("TTHC_PILOT_FILE %s does not exist: no paper-free pilot is registered", source)
    else:
        content = Path(source).read_bytes()
        parsed = parse(read_text(Path(source)))
        header, records = parsed.header, parsed.records
        digest = hashlib.sha256(content).hexdigest()
        name = DATA_NAME.format(digest=digest[:16])
        if not (target / name).exists():
            datafiles.write_bytes_atomically(target / name, content)
        files.append({"path": name, "rows": records, "sha256": digest})
    manifest = {
        "entity": ENTITY,
        "day": day.isoformat(),
        "window_start": window_start.isoformat(),
        "window_end": window_end.isoformat(),
        "source_url": Path(source).name if source is not None else None,
        "extracted_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "pages": 1 if files else 0,
        "extracted": records,
        "duplicates": 0,
        "rows": records,
        "fields": list(header),
        "files": files,
    }
    path = target / landing.MANIFEST_NAME
    datafiles.write_json_atomically(path, manifest)
    datafiles.remove_unlisted(target, {entry["path"] for entry in files}, suffixes=(".csv",))
    log.info("landed pilot %s: %d record(s) -> %s", day, records, path)
    return path
