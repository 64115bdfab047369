"""The landing zone: pseudonymized source records per local-day window (ARCHITECTURE.md).

`extract` pages a window from the API into a spool file, pseudonymizing every record before it is
written, and records what it saw in a sidecar (`<spool stem>.meta.json`) so `land` — possibly
another Airflow task — needs only the spool's path. `land` drops the copies superseded by a later
state of the same key, writes the immutable data file (named by its checksum), and commits the
window by replacing its `manifest.json` atomically. Until that replace the previous manifest and
the files it names stay untouched, so a crash at any point leaves the last landed window readable.

Memory stays flat in the window's size: pages are written as they arrive and only
key → (NgayCapNhat, line number) is held for de-duplication.
"""
from __future__ import annotations

import gzip
import json
import logging
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

import msgspec

from etl import pii
from etl.config import Settings
from etl.datafiles import (LEGACY_DATA_SUFFIXES, remove_unlisted,
                           write_data_file, write_json_atomically)
from etl.contract import ENTITIES, LOCAL_TIMEZONE
from etl.source import ApiClient, entity_spec

log = logging.getLogger(__name__)

SPOOL_DIRNAME = "_spool"
MANIFEST_NAME = "manifest.json"
UPDATED_AT_FIELD = "NgayCapNhat"
SPOOL_FORMAT = 1
# Spools of extracts that were killed (not landed) are swept after this long.
STALE_SPOOL_SECONDS = 7 * 24 * 3600
# Records asked per page: half the API's maximum; a page is held whole while it is decoded,
# pseudonymized and written, so this bounds an extraction thread's memory (docs/decisions/0049).
PAGE_SIZE = 2500

ENTITY_NAMES = tuple(ENTITIES)

_encoder = msgspec.json.Encoder()


# -- windows and paths ----------------------------------------------------------------------------


def _as_day(day: date | str) -> date:
    if isinstance(day, datetime):
        return day.date()
    if isinstance(day, date):
        return day
    return date.fromisoformat(str(day))


def local_day_window(day: date | str) -> tuple[datetime, datetime]:
    """[day 00:00+07:00, next day 00:00+07:00) as aware datetimes."""
    day = _as_day(day)
    start = datetime(day.year, day.month, day.day, tzinfo=LOCAL_TIMEZONE)
    return start, start + timedelta(days=1)


def _isoformat_local(moment: datetime) -> str:
    return moment.isoformat()  # e.g. 2023-02-01T00:00:00+07:00, the contract's spelling


def window_dir(settings: Settings, entity: str, day: date | str) -> Path:
    entity_spec(entity)
    return Path(settings.raw_dir) / entity / _as_day(day).isoformat()


def manifest_path(settings: Settings, entity: str, day: date | str) -> Path:
    return window_dir(settings, entity, day) / MANIFEST_NAME


def spool_dir(settings: Settings) -> Path:
    return Path(settings.raw_dir) / SPOOL_DIRNAME


def spool_meta_path(spool: Path) -> Path:
    return spool.with_name(spool.name.removesuffix(".jsonl") + ".meta.json")


def read_manifest(path: Path | str) -> dict[str, Any]:
    """The manifest of a landed window (raises FileNotFoundError if the window was never landed)."""
    with open(path, "rb") as handle:
        return json.load(handle)


def data_paths(manifest_file: Path | str) -> list[Path]:
    """The data files a manifest names, as absolute paths."""
    manifest_file = Path(manifest_file)
    return [manifest_file.parent / entry["path"] for entry in read_manifest(manifest_file)["files"]]


def open_data_file(path: Path | str):
    """A landed data file as a binary stream of its JSON lines (zstd, or gzip as landed before)."""
    path = Path(path)
    if path.name.endswith(LEGACY_DATA_SUFFIXES):
        return gzip.open(path, "rb")
    import io

    import zstandard

    raw = open(path, "rb")
    reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True, closefd=True)
    return io.BufferedReader(reader)


def iter_landed_records(manifest_file: Path | str) -> Iterator[dict[str, Any]]:
    """The landed records of a window, decoded, in file order."""
    decoder = msgspec.json.Decoder()
    for path in data_paths(manifest_file):
        with open_data_file(path) as handle:
            for line in handle:
                yield decoder.decode(line)


# -- source timestamps and keys -------------------------------------------------------------------


def parse_source_timestamp(value: Any) -> str | None:
    """A source timestamp as sortable `yyyyMMddHHmmss`, or None when empty or not a real instant.

    Accepts exactly the two formats of source-api.md: `yyyyMMddHHmmss` and `dd/MM/yyyy HH:mm:ss`.
    """
    if value is None:
        return None
    text = (value if isinstance(value, str) else str(value)).strip()
    if len(text) == 14 and text.isdigit():
        digits = text
    elif (
        len(text) == 19
        and text[2] == text[5] == "/"
        and text[10] == " "
        and text[13] == text[16] == ":"
    ):
        digits = text[6:10] + text[3:5] + text[0:2] + text[11:13] + text[14:16] + text[17:19]
        if not digits.isdigit():
            return None
    else:
        return None
    try:
        datetime(
            int(digits[0:4]), int(digits[4:6]), int(digits[6:8]),
            int(digits[8:10]), int(digits[10:12]), int(digits[12:14]),
        )
    except ValueError:  # 31/02, hour 25, …
        return None
    return digits


def _newer_or_same(candidate: Any, current: Any) -> bool:
    """Does a copy stamped `candidate` replace one stamped `current`? Unparseable sorts lowest;
    on a tie the later-seen copy wins."""
    new, old = parse_source_timestamp(candidate), parse_source_timestamp(current)
    if old is None:
        return True
    return new is not None and new >= old


def _key_part(value: Any) -> str | None:
    if value is None:
        return None
    text = (value if isinstance(value, str) else str(value)).strip()
    return text or None


def record_key(record: dict[str, Any], key_fields: tuple[str, ...]) -> str | tuple[str, ...] | None:
    """The de-duplication key, trimmed; None when any part is empty (such records are never
    collapsed: each copy is kept for the quarantine to see)."""
    if len(key_fields) == 1:
        return _key_part(record.get(key_fields[0]))
    parts = tuple(_key_part(record.get(name)) for name in key_fields)
    return None if None in parts else parts


class WindowTracker:
    """What extract must remember about a window: counts, field names, and which lines lost to a
    later state of their key. Holds one small tuple per key, never the records."""

    def __init__(self, key_fields: tuple[str, ...]):
        self.key_fields = key_fields
        self.latest: dict[Any, tuple[Any, int]] = {}
        self.superseded: list[int] = []
        self.fields: dict[str, None] = {}
        self._field_set: set[str] = set()
        self.records = 0
        self.pages = 0

    def add_page(self, records: list[dict[str, Any]]) -> None:
        latest, superseded, key_fields = self.latest, self.superseded, self.key_fields
        field_set = self._field_set
        for line, record in enumerate(records, self.records):
            if not field_set.issuperset(record):
                for name in record:
                    if name not in field_set:
                        field_set.add(name)
                        self.fields[name] = None
            key = record_key(record, key_fields)
            if key is None:
                continue
            stamp = record.get(UPDATED_AT_FIELD)
            seen = latest.get(key)
            if seen is None:
                latest[key] = (stamp, line)
            elif _newer_or_same(stamp, seen[0]):
                superseded.append(seen[1])
                latest[key] = (stamp, line)
            else:
                superseded.append(line)
        self.records += len(records)
        self.pages += 1


# -- extract --------------------------------------------------------------------------------------


def _utc_now_text() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def client_for(settings: Settings) -> ApiClient:
    """An API client with the source settings (URL, token, retry budget, timeouts)."""
    return ApiClient(
        settings.api_url,
        settings.api_token,
        max_retry_seconds=settings.source_retry_seconds,
        read_timeout=settings.source_read_timeout,
        backoff_base=settings.source_backoff_seconds,
        compression=settings.source_compression,
    )


def _sweep_stale_spools(directory: Path) -> None:
    cutoff = time.time() - STALE_SPOOL_SECONDS
    for path in directory.glob("*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            pass


def extract(
    settings: Settings,
    entity: str,
    day: date | str,
    client: ApiClient | None = None,
    *,
    page_size: int = PAGE_SIZE,
) -> Path:
    """Fetch one window (a feed's local day, or a reference list's full snapshot) into a spool.

    Returns the spool's path; its sidecar metadata is written last, so a spool without one is an
    extract that did not finish. On any error the partial spool is removed and the error raised.
    """
    spec = entity_spec(entity)
    day = _as_day(day)
    key = settings.require_pii_key()  # refuse before any personal data is read
    window_start, window_end = local_day_window(day)
    directory = spool_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    _sweep_stale_spools(directory)
    spool = directory / f"{entity}-{day.isoformat()}-{uuid.uuid4().hex}.jsonl"
    meta_path = spool_meta_path(spool)
    own_client = client is None
    api = client_for(settings) if own_client else client
    tracker = WindowTracker(spec.key_fields)
    extracted_at = _utc_now_text()
    began = time.monotonic()
    try:
        pages: Iterable[list[dict[str, Any]]] = (
            api.iter_pages(entity, window_start, window_end, page_size)
            if spec.paged
            else [api.get_reference(entity)]
        )
        with open(spool, "wb") as out:
            for page in pages:
                for record in page:
                    pii.pseudonymize_in_place(record, key)
                tracker.add_page(page)
                out.write(_encoder.encode_lines(page))
                del page  # before the next page is fetched: see ApiClient.iter_pages
        meta = {
            "format": SPOOL_FORMAT,
            "entity": entity,
            "day": day.isoformat(),
            "window_start": _isoformat_local(window_start),
            "window_end": _isoformat_local(window_end),
            "source_url": api.endpoint_url(entity),
            "extracted_at": extracted_at,
            "pages": tracker.pages,
            "extracted": tracker.records,
            "fields": list(tracker.fields),
            "superseded": sorted(tracker.superseded),
            "pseudonymization": pii.METHOD,
        }
        # No fsync for the spool: it is scratch space, and land checks its line count against
        # this metadata, so a spool cut short by a power loss is refused, never landed.
        write_json_atomically(meta_path, meta, durable=False)
    except BaseException:
        for leftover in (spool, meta_path):
            leftover.unlink(missing_ok=True)
        raise
    finally:
        if own_client:
            api.close()
    log.info(
        "extracted %s %s: %d records in %d pages (%d superseded) in %.1fs",
        entity, day, tracker.records, tracker.pages, len(tracker.superseded),
        time.monotonic() - began,
    )
    return spool


# -- land -----------------------------------------------------------------------------------------


def _read_spool_meta(spool: Path) -> dict[str, Any]:
    meta_path = spool_meta_path(spool)
    if not spool.exists():
        raise FileNotFoundError(f"spool {spool} does not exist and no landed window came from it")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RuntimeError(
            f"spool {spool.name} has no metadata: its extract did not finish; extract the window again"
        ) from None
    except ValueError as exc:
        raise RuntimeError(
            f"spool {spool.name} has unreadable metadata ({exc}); extract the window again"
        ) from None
    if meta.get("format") != SPOOL_FORMAT:
        raise RuntimeError(f"spool {spool.name} has unknown format {meta.get('format')!r}")
    return meta


def _already_landed(settings: Settings, spool: Path) -> Path | None:
    """The manifest this spool was committed to, if it was (a retried land task after a crash
    between the commit and the spool's removal)."""
    name = spool.name.removesuffix(".jsonl")
    for entity in ENTITY_NAMES:
        prefix = f"{entity}-"
        if name.startswith(prefix) and len(name) > len(prefix) + 10:
            day = name[len(prefix): len(prefix) + 10]
            try:
                path = manifest_path(settings, entity, day)
                if read_manifest(path).get("spool") == spool.name:
                    return path
            except (ValueError, OSError):
                return None
    return None


def land(settings: Settings, spool_path: Path | str) -> Path:
    """Commit an extracted spool as its window's landed data; returns the manifest's path.

    A window without records gets a manifest whose `files` is empty. Idempotent: landing a spool
    that was already committed returns its manifest.
    """
    spool = Path(spool_path)
    if not spool.exists() and not spool_meta_path(spool).exists():
        landed = _already_landed(settings, spool)
        if landed is not None:
            log.info("spool %s was already landed -> %s", spool.name, landed)
            return landed
    meta = _read_spool_meta(spool)
    entity, day = meta["entity"], meta["day"]
    target = window_dir(settings, entity, day)
    target.mkdir(parents=True, exist_ok=True)
    superseded = set(meta["superseded"])
    rows = meta["extracted"] - len(superseded)
    files: list[dict[str, Any]] = []
    if meta["extracted"]:
        name, digest = write_data_file(spool, target, superseded, meta["extracted"])
        files.append({"path": name, "rows": rows, "sha256": digest})
    manifest = {
        "entity": entity,
        "day": day,
        "window_start": meta["window_start"],
        "window_end": meta["window_end"],
        "source_url": meta["source_url"],
        "extracted_at": meta["extracted_at"],
        "pages": meta["pages"],
        "extracted": meta["extracted"],
        "duplicates": len(superseded),
        "rows": rows,
        "fields": meta["fields"],
        "files": files,
        "pseudonymization": meta["pseudonymization"],
        "spool": spool.name,  # lets a retried land recognise its own commit
    }
    path = target / MANIFEST_NAME
    write_json_atomically(path, manifest)  # the commit point
    remove_unlisted(target, {entry["path"] for entry in files})
    spool.unlink(missing_ok=True)
    spool_meta_path(spool).unlink(missing_ok=True)
    log.info("landed %s %s: %d rows (%d duplicates) -> %s", entity, day, rows, len(superseded), path)
    return path


def land_window(
    settings: Settings,
    entity: str,
    day: date | str,
    client: ApiClient | None = None,
    *,
    page_size: int = PAGE_SIZE,
) -> Path:
    """Extract and land one window; returns the manifest's path."""
    return land(settings, extract(settings, entity, day, client=client, page_size=page_size))
