"""Client of the provincial TTHC export API (`shared/spec/source-api.md`).

Transient faults (429/500/502/503/504, refused or dropped connections, timeouts, a body cut short
or not JSON) are retried with exponential backoff and jitter, honouring `Retry-After`, bounded in
attempts and in total time; when the budget runs out `SourceUnavailable` says which endpoint failed
and why. Any other 4xx is permanent and raises `SourceError` at once, with what to fix. The token
travels only in the Authorization header: it is never logged nor put in an error message, and URLs
shown anywhere have their userinfo stripped.
"""
from __future__ import annotations

import logging
import random
import time
from datetime import datetime
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import msgspec
import requests

from etl.config import SOURCE_COMPRESSIONS
from etl.contract import ENTITIES, Entity

log = logging.getLogger(__name__)

MAX_PAGE_SIZE = 5000
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
# A server that never answers an empty page would otherwise be paged forever.
MAX_PAGES_PER_WINDOW = 100_000
MAX_SINGLE_DELAY_SECONDS = 30.0
_BODY_SNIPPET_CHARS = 200


class SourceError(RuntimeError):
    """A permanent problem with the source (bad token, wrong URL, broken contract): do not retry."""


class SourceUnavailable(SourceError):
    """The source kept failing transiently until the retry budget ran out."""


def entity_spec(name: str) -> Entity:
    try:
        return ENTITIES[name]
    except KeyError:
        raise ValueError(f"unknown entity {name!r}; expected one of {', '.join(ENTITIES)}") from None


def is_loopback_url(url: str) -> bool:
    """Does `url` name this machine (localhost, 127.0.0.0/8, ::1)?"""
    import ipaddress

    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def accept_encoding(url: str, compression: str = "auto") -> str:
    """The Accept-Encoding to send: gzip saves a network's bandwidth, but over loopback it only
    spends CPU on both ends (docs/decisions/0044)."""
    if compression not in SOURCE_COMPRESSIONS:
        raise ValueError(f"compression must be one of {', '.join(SOURCE_COMPRESSIONS)}, got {compression!r}")
    if compression == "identity" or (compression == "auto" and is_loopback_url(url)):
        return "identity"
    return "gzip, deflate"


def redact_url(url: str) -> str:
    """`url` without any user:password@ part, safe for logs, manifests and messages."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class _Page(msgspec.Struct):
    # Only the records are used; tongSoTrang/tongSoBanGhi are hints that may change mid-paging.
    duLieu: list[dict[str, Any]] | None
    tongSoTrang: Any = None
    tongSoBanGhi: Any = None


_PAGE_DECODER = msgspec.json.Decoder(_Page)


class _BearerAuth(requests.auth.AuthBase):
    """Sets the header per request; passing an auth object also stops requests from substituting
    credentials found in the URL or ~/.netrc."""

    def __init__(self, token: str):
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "_BearerAuth(***)"


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None  # an HTTP-date is not part of the contract; fall back to our own backoff
    return max(seconds, 0.0)


def _format_window_bound(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"window bounds must carry a UTC offset, got naive {moment.isoformat()}")
    return moment.isoformat()


def _describe_exception(exc: BaseException) -> str:
    # requests' messages name host, port and path only; never headers.
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text[:300]}"


class ApiClient:
    """One session to the export API; reuse it for every window of a run."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        connect_timeout: float = 5,
        read_timeout: float = 30,
        max_attempts: int = 8,
        max_retry_seconds: float = 120,
        backoff_base: float = 0.5,
        compression: str = "auto",
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not base_url:
            raise SourceError("no API base URL: set TTHC_API_URL or the tthc_api connection's host")
        if not token:
            raise SourceError("no API token: set TTHC_API_TOKEN or the tthc_api connection's password")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        # Credentials in the URL are dropped, not used: the contract authenticates by bearer token.
        self.base_url = redact_url(base_url.strip()).rstrip("/")
        self._token = token
        self._auth = _BearerAuth(token)
        self.timeout = (connect_timeout, read_timeout)
        self.max_attempts = max_attempts
        self.max_retry_seconds = max_retry_seconds
        self.backoff_base = backoff_base
        self._sleep = sleep
        self.session = session or requests.Session()
        self.session.headers.setdefault("Accept", "application/json")
        self.session.headers["Accept-Encoding"] = accept_encoding(self.base_url, compression)
        self.requests_made = 0
        self.retries = 0

    def __repr__(self) -> str:
        return f"ApiClient({self.base_url!r})"

    def __enter__(self) -> "ApiClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    def endpoint_url(self, entity: str) -> str:
        """The entity's endpoint, without credentials (what manifests record)."""
        return self.base_url + entity_spec(entity).path

    def get_reference(self, entity: str) -> list[dict[str, Any]]:
        """The full list of a reference entity (`agency` or `procedure`)."""
        spec = entity_spec(entity)
        if spec.paged:
            raise ValueError(f"{entity} is a paged change feed; use iter_pages")
        page = self._get_page(spec.path, {})
        rows = page.duLieu or []
        log.info("fetched %d %s rows from %s", len(rows), entity, self.endpoint_url(entity))
        return rows

    def iter_pages(
        self,
        entity: str,
        window_start: datetime,
        window_end: datetime,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield each page's records of the changes in [window_start, window_end).

        Pages from 1 until a page comes back empty; totals in the response are only hints.
        """
        spec = entity_spec(entity)
        if not spec.paged:
            raise ValueError(f"{entity} is a reference list; use get_reference")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be within 1..{MAX_PAGE_SIZE}, got {page_size}")
        params = {
            "tuNgay": _format_window_bound(window_start),
            "denNgay": _format_window_bound(window_end),
            "soBanGhi": page_size,
        }
        received = 0
        for number in range(1, MAX_PAGES_PER_WINDOW + 1):
            page = self._get_page(spec.path, {**params, "trang": number})
            rows = page.duLieu or []
            if not rows and self._hole_in_paging(spec.path, params, number, page):
                raise SourceError(
                    f"{self.base_url}{spec.path}: page {number} of [{params['tuNgay']}, "
                    f"{params['denNgay']}) came back empty while the server reports "
                    f"{page.tongSoTrang} pages and page {number + 1} has records; refusing to land "
                    "a window with a hole in its paging"
                )
            if not rows:
                log.info(
                    "%s [%s, %s): %d records in %d pages",
                    entity, params["tuNgay"], params["denNgay"], received, number - 1,
                )
                return
            received += len(rows)
            log.debug(
                "%s page %d: %d records (hints: %s pages, %s records)",
                entity, number, len(rows), page.tongSoTrang, page.tongSoBanGhi,
            )
            yield rows
            # Not held while the next page downloads and decodes: two pages of records alive at
            # once per window being extracted.
            del page, rows
        raise SourceError(
            f"{self.base_url}{spec.path}: no empty page after {MAX_PAGES_PER_WINDOW} pages of "
            f"[{params['tuNgay']}, {params['denNgay']}); the server does not end its paging"
        )

    def _hole_in_paging(self, path: str, params: dict[str, Any], number: int, page: _Page) -> bool:
        """An empty page ends the window, unless the server itself says there are more pages and
        the next one has records: then records would be lost without a word. Hints can overshoot
        (data moving while paging), so only a non-empty next page proves the hole."""
        try:
            hinted = int(page.tongSoTrang)
        except (TypeError, ValueError):
            return False
        if hinted <= number:
            return False
        probe = self._get_page(path, {**params, "trang": number + 1})
        return bool(probe.duLieu)

    # -- transport ---------------------------------------------------------------------------

    def _get_page(self, path: str, params: dict[str, Any]) -> _Page:
        url = self.base_url + path
        where = f"GET {url}" + (f" (trang {params['trang']})" if "trang" in params else "")
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            retry_after: float | None = None
            self.requests_made += 1
            try:
                response = self.session.get(url, params=params, auth=self._auth, timeout=self.timeout)
            except (
                requests.exceptions.ConnectionError,
                requests.exceptions.Timeout,
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
            ) as exc:
                last_error = _describe_exception(exc)
            except requests.exceptions.RequestException as exc:
                raise SourceError(
                    f"{where}: {_describe_exception(exc)}; check TTHC_API_URL or the tthc_api "
                    "connection's host"
                ) from None
            else:
                status = response.status_code
                if status == 200:
                    try:
                        return _PAGE_DECODER.decode(response.content)
                    except msgspec.ValidationError as exc:
                        raise SourceError(
                            f"{where}: the response does not follow the export API contract ({exc})"
                        ) from None
                    except msgspec.DecodeError as exc:
                        last_error = f"HTTP 200 with invalid or truncated JSON ({exc})"
                elif status in TRANSIENT_STATUSES:
                    last_error = f"HTTP {status}"
                    retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
                else:
                    raise SourceError(f"{where}: {self._permanent_failure(response)}")
            elapsed = time.monotonic() - started
            if attempt >= self.max_attempts:
                raise SourceUnavailable(
                    f"{where}: the export API is unavailable: {attempt} attempts over {elapsed:.1f}s "
                    f"all failed; last error: {last_error}"
                )
            delay = self._backoff(attempt, retry_after)
            if elapsed + delay > self.max_retry_seconds:
                raise SourceUnavailable(
                    f"{where}: the export API is unavailable: {attempt} attempts over {elapsed:.1f}s "
                    f"failed and the retry budget of {self.max_retry_seconds:g}s is spent; "
                    f"last error: {last_error}"
                )
            self.retries += 1
            # INFO, not WARNING: transient faults are routine, and the CLI's stderr is reserved for
            # one line when a run fails (Python prints unhandled WARNINGs to stderr).
            log.info(
                "%s failed (%s); retry %d/%d in %.2fs",
                where, last_error, attempt, self.max_attempts - 1, delay,
            )
            self._sleep(delay)

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with jitter, never shorter than what the server asked for."""
        ceiling = min(MAX_SINGLE_DELAY_SECONDS, self.backoff_base * 2 ** (attempt - 1))
        # Jitter spreads the retries of parallel extract tasks so they do not hit the server together.
        delay = ceiling * (0.5 + random.random() / 2)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay

    def _permanent_failure(self, response: requests.Response) -> str:
        status = response.status_code
        if status == 401:
            return (
                "the API rejected the token (HTTP 401): check TTHC_API_TOKEN or the tthc_api "
                "connection's password"
            )
        if status == 403:
            return (
                "the API refused access (HTTP 403): the token lacks the right to this endpoint; check "
                "TTHC_API_TOKEN or the tthc_api connection's password"
            )
        if status == 404:
            return (
                "not found (HTTP 404): check TTHC_API_URL or the tthc_api connection's host (the base "
                "URL, without /api/v1)"
            )
        snippet = response.text[:_BODY_SNIPPET_CHARS].replace(self._token, "***").strip()
        return f"the API rejected the request (HTTP {status}): {snippet or 'no details'}"
