"""HTTP side of the emulator: the export API of source-api.md, its faults, and the control
endpoints tests use to move the clock and change the fault mix."""
from __future__ import annotations

import datetime as dt
import gzip
import hmac
import json
import math
import random
import socket
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from etl.contract import ENTITIES, LOCAL_OFFSET, LOCAL_TIMEZONE
from etl.emulator.generator import Generator
from etl.emulator.windows import Window
from etl.emulator.workdays import DAY

MAX_PAGE_SIZE = 5000
DEFAULT_PAGE_SIZE = 1000
FAULT_KINDS = ("429", "500", "502", "503", "slow", "drop", "truncated", "repeat", "mutate")
DEFAULT_FAULT_KINDS = ("429", "500", "502", "503", "slow")
FEEDS = {spec.path: name for name, spec in ENTITIES.items() if spec.paged}  # endpoint → entity
REFERENCES = {spec.path: name for name, spec in ENTITIES.items() if not spec.paged}
_EPOCH_LOCAL = dt.datetime(1970, 1, 1, tzinfo=LOCAL_TIMEZONE)


class BadRequest(ValueError):
    """A client error answered with 400 and this message."""


def parse_instant(text: str, *, require_offset: bool = True) -> dt.datetime:
    """An ISO 8601 instant. Without offset: an error, or local time when allowed; a bare date
    is its local midnight when allowed."""
    candidate = text.strip()
    if " " in candidate and "T" in candidate:  # a '+' decoded as a space in a query string
        candidate = candidate.replace(" ", "+")
    try:
        value = dt.datetime.fromisoformat(candidate)
    except ValueError:
        raise BadRequest(f"not an ISO 8601 timestamp: {text!r}") from None
    if value.tzinfo is None:
        if require_offset:
            raise BadRequest(f"timestamp without UTC offset: {text!r} (e.g. 2023-02-01T00:00:00{LOCAL_OFFSET})")
        value = value.replace(tzinfo=LOCAL_TIMEZONE)
    return value


def to_local_seconds(value: dt.datetime) -> float:
    return (value - _EPOCH_LOCAL).total_seconds()


def from_local_seconds(seconds: int) -> str:
    return (_EPOCH_LOCAL + dt.timedelta(seconds=seconds)).isoformat()


@dataclass
class FaultConfig:
    rate: float = 0.0
    kinds: tuple[str, ...] = DEFAULT_FAULT_KINDS
    seed: int = 0
    slow_seconds: float = 3.0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def as_dict(self) -> dict:
        return {"rate": self.rate, "kinds": list(self.kinds), "seed": self.seed,
                "slow_seconds": self.slow_seconds}


def parse_fault_kinds(kinds) -> tuple[str, ...]:
    if isinstance(kinds, str):
        kinds = [k for k in kinds.split(",")]
    cleaned = tuple(str(k).strip() for k in kinds if str(k).strip())
    unknown = [k for k in cleaned if k not in FAULT_KINDS]
    if unknown:
        raise BadRequest(f"unknown fault kinds {unknown}; known: {', '.join(FAULT_KINDS)}")
    if not cleaned:
        raise BadRequest("no fault kinds given")
    return cleaned


class EmulatorState:
    """Clock, faults and a small cache of computed windows, shared by the request threads."""

    def __init__(self, generator: Generator, token: str, now: float, faults: FaultConfig):
        self.generator = generator
        self.token = token
        self.now = int(math.floor(now))
        self.faults = faults
        self.faults.rng.seed(faults.seed)
        self._lock = threading.Lock()
        self._window_lock = threading.Lock()
        self._windows: OrderedDict[tuple, Window] = OrderedDict()
        self._pages: OrderedDict[tuple, bytes] = OrderedDict()
        self.requests = 0
        self.faults_served: dict[str, int] = {}

    # -- clock
    def set_now(self, seconds: float) -> None:
        with self._lock:
            self.now = int(math.floor(seconds))

    # -- faults
    def configure_faults(self, rate=None, kinds=None, seed=None, slow_seconds=None) -> dict:
        with self._lock:
            if rate is not None:
                rate = float(rate)
                if not 0.0 <= rate <= 1.0:
                    raise BadRequest("fault rate must be within [0, 1]")
                self.faults.rate = rate
            if kinds is not None:
                self.faults.kinds = parse_fault_kinds(kinds)
            if slow_seconds is not None:
                self.faults.slow_seconds = float(slow_seconds)
            if seed is not None:
                self.faults.seed = int(seed)
            self.faults.rng.seed(self.faults.seed)
            return self.faults.as_dict()

    def draw_fault(self) -> str | None:
        with self._lock:
            self.requests += 1
            if self.faults.rate <= 0:
                return None
            rng = self.faults.rng
            if rng.random() >= self.faults.rate:
                return None
            kind = self.faults.kinds[rng.randrange(len(self.faults.kinds))]
            self.faults_served[kind] = self.faults_served.get(kind, 0) + 1
            return kind

    def fault_rng_draw(self) -> float:
        with self._lock:
            return self.faults.rng.random()

    # -- feeds
    def window(self, entity: str, start: int, end: int) -> tuple[Window, int]:
        now = self.now
        key = (entity, start, end, now)
        with self._window_lock:
            entries = self._windows.get(key)
            if entries is None:
                entries = self.generator.window(entity, start, end, now)
                self._windows[key] = entries
                while len(self._windows) > 6:
                    self._windows.popitem(last=False)
            else:
                self._windows.move_to_end(key)
        return entries, now

    def page_records(self, key: tuple, render) -> bytes:
        """Rendered records of a page (joined by ','), kept for a few pages: a client retrying
        after a transient fault asks for the same page again."""
        with self._lock:
            records = self._pages.get(key)
        if records is None:
            records = render()
            with self._lock:
                self._pages[key] = records
                while len(self._pages) > 8:
                    self._pages.popitem(last=False)
        return records

    def state(self) -> dict:
        g = self.generator
        with self._lock:
            return {
                "now": from_local_seconds(self.now),
                "start": g.opts.start.isoformat(),
                "end": g.opts.end.isoformat(),
                "seed": g.opts.seed,
                "size": g.opts.size,
                "dossiers_per_day": g.opts.volume,
                "clean": g.opts.clean,
                "invalid_rate": g.opts.invalid_rate,
                "unknown_ref_rate": g.opts.unknown_ref_rate,
                "counts": {
                    "agencies": len(g.catalogue.agencies),
                    "procedures": len(g.catalogue.procedures),
                    "procedure_versions": sum(len(p.versions) for p in g.catalogue.procedures),
                    "days": g.end_day - g.first_day,
                    "days_generated": g.days_generated,
                    "requests": self.requests,
                },
                "faults": self.faults.as_dict(),
                "faults_served": dict(self.faults_served),
            }


def _json(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def page_body(page: int, size: int, pages: int, total: int, items: list[bytes]) -> bytes:
    """The page's JSON; `items` are records, or runs of records already joined by ','."""
    head = b'{"trang":%d,"soBanGhi":%d,"tongSoTrang":%d,"tongSoBanGhi":%d,"duLieu":[' % (
        page, size, pages, total)
    return head + b",".join(items) + b"]}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "TTHC-emulator/1"
    sys_version = ""
    state: EmulatorState  # set on the subclass built by make_server

    def log_message(self, format, *args):  # noqa: A002 - per-request logs would swamp benchmarks
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as two writes: with Nagle's algorithm a short body waits for the
        # client's delayed ACK (every window's last, empty page; docs/decisions/0003).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # -- plumbing
    def _send(self, status: int, body: bytes, headers: dict | None = None, *, compress=True) -> None:
        if compress and "gzip" in (self.headers.get("Accept-Encoding") or ""):
            body = gzip.compress(body, compresslevel=1, mtime=0)
            headers = dict(headers or {}, **{"Content-Encoding": "gzip"})
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str, headers: dict | None = None) -> None:
        self._send(status, _json({"maLoi": status, "thongBao": message}), headers)

    def _authorized(self) -> bool:
        expected = f"Bearer {self.state.token}".encode()
        given = (self.headers.get("Authorization") or "").encode()
        return hmac.compare_digest(given, expected)

    def _read_body(self) -> bytes:
        """Consume the request body, whatever happens next, so the connection stays usable."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise BadRequest("bad Content-Length") from None
        return self.rfile.read(length) if length > 0 else b""

    @staticmethod
    def _parse_json(raw: bytes) -> dict:
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise BadRequest("body is not JSON") from None
        if not isinstance(body, dict):
            raise BadRequest("body must be a JSON object")
        return body

    # -- verbs
    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        try:
            raw = self._read_body()
            if not self._authorized():
                self._error(401, "missing or wrong bearer token")
                return
            if url.path.startswith("/_emulator/"):
                self._control(method, url.path, self._parse_json(raw) if method == "POST" else {})
                return
            if method != "GET":
                self._error(405, "method not allowed")
                return
            if url.path in FEEDS or url.path in REFERENCES:
                self._api(url.path, parse_qs(url.query, keep_blank_values=True))
                return
            self._error(404, f"no such endpoint: {url.path}")
        except BadRequest as exc:
            self._error(400, str(exc))

    def _control(self, method: str, path: str, body: dict) -> None:
        state = self.state
        if path == "/_emulator/state" and method == "GET":
            self._send(200, _json(state.state()), compress=False)
        elif path == "/_emulator/clock" and method == "POST":
            if "now" in body:
                state.set_now(to_local_seconds(parse_instant(str(body["now"]), require_offset=False)))
            elif "advance_days" in body:
                state.set_now(state.now + float(body["advance_days"]) * DAY)
            elif body:
                raise BadRequest('expected {"now": "<iso>"} or {"advance_days": n}')
            self._send(200, _json({"now": from_local_seconds(state.now)}), compress=False)
        elif path == "/_emulator/faults" and method == "POST":
            config = state.configure_faults(body.get("rate"), body.get("kinds"), body.get("seed"),
                                            body.get("slow_seconds"))
            self._send(200, _json(config), compress=False)
        elif path == "/_emulator/faults" and method == "GET":
            self._send(200, _json(state.faults.as_dict()), compress=False)
        else:
            self._error(404, f"no such control endpoint: {method} {path}")

    def _api(self, path: str, query: dict) -> None:
        state = self.state
        fault = state.draw_fault()
        if fault in ("429", "500", "502", "503"):
            status = int(fault)
            headers = {"Retry-After": "1"} if status == 429 else None
            self._error(status, {429: "too many requests", 500: "internal server error",
                                 502: "bad gateway", 503: "service unavailable"}[status], headers)
            return
        if fault == "slow":
            time.sleep(state.faults.slow_seconds)
        if path in FEEDS:
            body = self._feed_page(FEEDS[path], query, fault)
        else:
            g = state.generator
            records = g.reference_records(REFERENCES[path])
            body = b'{"duLieu":[' + records + b"]}"
        if fault == "truncated":
            body = body[: max(1, len(body) // 2)]
        if fault == "drop":
            self._drop(body)
            return
        self._send(200, body)

    def _drop(self, body: bytes) -> None:
        """Announce the full body, send part of it, then close the connection."""
        if "gzip" in (self.headers.get("Accept-Encoding") or ""):
            body = gzip.compress(body, compresslevel=1, mtime=0)
            encoding = {"Content-Encoding": "gzip"}
        else:
            encoding = {}
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in encoding.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _feed_page(self, entity: str, query: dict, fault: str | None) -> bytes:
        start = _required_instant(query, "tuNgay")
        end = _required_instant(query, "denNgay")
        if end < start:
            raise BadRequest("denNgay is before tuNgay")
        page = _int_param(query, "trang", 1, minimum=1)
        size = min(_int_param(query, "soBanGhi", DEFAULT_PAGE_SIZE, minimum=1), MAX_PAGE_SIZE)
        a, b = math.ceil(to_local_seconds(start)), math.ceil(to_local_seconds(end))
        state = self.state
        window, now = state.window(entity, a, b)
        total = len(window)
        lo = (page - 1) * size
        g = state.generator
        records = state.page_records(
            (entity, a, b, now, lo, size), lambda: g.render_page(entity, window, lo, lo + size))
        extra: list[bytes] = []  # records a fault serves before the page's
        if fault == "repeat" and lo > 0:
            # Some records of the previous page again (a server re-reading a moving cursor).
            earlier = [e for e in window.entries(lo - size, lo) if g.is_repeatable(e)]
            count = 1 + int(state.fault_rng_draw() * min(5, len(earlier))) if earlier else 0
            repeated = earlier[-count:] if count else []
            extra = [g.render_records(entity, *zip(*((e.day, e.index, e.slot) for e in repeated)))] if repeated else []
        elif fault == "mutate":
            # The data changed while the client paged: records served now in their previous
            # version reappear later in their current one; the totals move.
            stale = []
            for e in window.entries(lo, lo + 4 * size):
                previous = g.previous_version(entity, e, a)
                if previous is not None:
                    stale.append((e.day, e.index, previous))
                    if len(stale) >= 3:
                        break
            extra = [g.render_records(entity, *zip(*stale))] if stale else []
            total += len(stale) + 1
        pages = -(-total // size)
        return page_body(page, size, pages, total, [*extra, records] if records else extra)


def _required_instant(query: dict, name: str) -> dt.datetime:
    values = query.get(name)
    if not values or not values[0].strip():
        raise BadRequest(f"missing query parameter {name} (ISO 8601 with offset)")
    return parse_instant(values[0])


def _int_param(query: dict, name: str, default: int, *, minimum: int) -> int:
    values = query.get(name)
    if not values or not values[0].strip():
        return default
    try:
        value = int(values[0])
    except ValueError:
        raise BadRequest(f"{name} must be an integer, got {values[0]!r}") from None
    if value < minimum:
        raise BadRequest(f"{name} must be ≥ {minimum}, got {value}")
    return value


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        # A client hanging up mid-response (timeouts, retries) is routine, not worth a traceback.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def make_server(host: str, port: int, state: EmulatorState) -> EmulatorServer:
    handler = type("BoundHandler", (Handler,), {"state": state})
    return EmulatorServer((host, port), handler)
