"""The export API client against the real emulator over loopback HTTP (and real dead sockets)."""
from __future__ import annotations

import logging
import socket
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from support import TEST_TOKEN, free_port
from etl.source import ApiClient, SourceError, SourceUnavailable

ICT = timezone(timedelta(hours=7))
DAY_START = datetime(2023, 1, 16, tzinfo=ICT)
DAY_END = DAY_START + timedelta(days=1)
FEEDS = {"dossier": ("/api/v1/hoso", "MaHoSo"), "payment": ("/api/v1/thanhtoan", "MaGiaoDich")}
REFERENCES = {"agency": "/api/v1/donvi", "procedure": "/api/v1/thutuc"}


def raw_get(emu, path: str, **params) -> dict:
    response = requests.get(
        emu.url + path, params=params, headers={"Authorization": f"Bearer {emu.token}"}, timeout=60
    )
    response.raise_for_status()
    return response.json()


def raw_window(emu, path: str, start: datetime, end: datetime) -> list[dict]:
    """Every record of a window, paged by hand at the largest page size."""
    records, page = [], 1
    while True:
        rows = raw_get(
            emu, path, tuNgay=start.isoformat(), denNgay=end.isoformat(), trang=page, soBanGhi=5000
        )["duLieu"]
        if not rows:
            return records
        records.extend(rows)
        page += 1


def fast_client(url: str, token: str = TEST_TOKEN, **overrides) -> ApiClient:
    options = dict(backoff_base=0.01, max_attempts=10, max_retry_seconds=20, read_timeout=10)
    options.update(overrides)
    return ApiClient(url, token, **options)


@pytest.mark.parametrize("entity", sorted(REFERENCES))
def test_reference_lists_are_returned_whole(emulator, entity):
    with fast_client(emulator.url) as client:
        rows = client.get_reference(entity)
    assert rows == raw_get(emulator, REFERENCES[entity])["duLieu"]
    assert rows, "the emulator serves a non-empty reference list"


@pytest.mark.parametrize("entity", sorted(FEEDS))
def test_pages_concatenate_to_the_whole_window(emulator, entity):
    path, key = FEEDS[entity]
    expected = raw_window(emulator, path, DAY_START, DAY_END)
    assert len(expected) > 7, "the window must span several small pages"
    with fast_client(emulator.url) as client:
        pages = list(client.iter_pages(entity, DAY_START, DAY_END, page_size=7))
        requests_made = client.requests_made
    assert all(0 < len(page) <= 7 for page in pages)
    assert [row for page in pages for row in page] == expected
    assert requests_made == len(pages) + 1  # paging stops at the first empty page
    assert len({row[key] for row in expected}) == len(expected)


def test_an_empty_window_yields_no_pages(emulator):
    start = datetime(2030, 1, 1, tzinfo=ICT)
    with fast_client(emulator.url) as client:
        assert list(client.iter_pages("dossier", start, start + timedelta(days=1))) == []


def test_window_bounds_must_be_aware(emulator):
    with fast_client(emulator.url) as client, pytest.raises(ValueError, match="offset"):
        next(client.iter_pages("dossier", datetime(2023, 1, 16), datetime(2023, 1, 17)))


def test_a_wrong_token_is_permanent_with_a_clear_message_without_the_token(emulator, caplog):
    wrong = "wrong-token-a8d1f0"
    caplog.set_level(logging.DEBUG)
    client = fast_client(emulator.url, token=wrong)
    with pytest.raises(SourceError) as failure:
        client.get_reference("agency")
    assert not isinstance(failure.value, SourceUnavailable)
    message = str(failure.value)
    assert "401" in message and "TTHC_API_TOKEN" in message and "tthc_api" in message
    assert wrong not in message and wrong not in caplog.text
    assert client.requests_made == 1, "a permanent error is not retried"


def test_a_wrong_base_url_says_what_to_fix(emulator):
    client = fast_client(emulator.url + "/not-the-api")
    with pytest.raises(SourceError, match="TTHC_API_URL") as failure:
        client.get_reference("procedure")
    assert not isinstance(failure.value, SourceUnavailable)


def test_credentials_in_the_url_are_never_shown_nor_used(emulator, caplog):
    caplog.set_level(logging.DEBUG)
    host = emulator.url.removeprefix("http://")
    client = fast_client(f"http://someone:url-secret-77@{host}")
    assert client.get_reference("agency")  # the bearer token authenticates, not the URL's userinfo
    assert "url-secret-77" not in client.endpoint_url("agency")
    assert "url-secret-77" not in repr(client)
    assert "url-secret-77" not in caplog.text and TEST_TOKEN not in caplog.text


def test_an_unreachable_api_gives_up_after_the_attempt_budget():
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    client = fast_client(url, max_attempts=3)
    with pytest.raises(SourceUnavailable) as failure:
        client.get_reference("agency")
    message = str(failure.value)
    assert "/api/v1/donvi" in message and "3 attempts" in message and "ConnectionError" in message
    assert client.requests_made == 3


def test_retries_stop_when_the_time_budget_is_spent():
    url = f"http://127.0.0.1:{free_port()}"
    client = fast_client(url, max_attempts=1000, backoff_base=0.05, max_retry_seconds=0.5)
    began = time.monotonic()
    with pytest.raises(SourceUnavailable, match="retry budget"):
        client.get_reference("agency")
    assert time.monotonic() - began < 3
    assert 1 < client.requests_made < 1000


def test_a_server_that_never_answers_hits_the_read_timeout():
    # A real listening socket whose backlog accepts the connection but never replies.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        url = f"http://127.0.0.1:{server.getsockname()[1]}"
        client = fast_client(url, read_timeout=0.2, max_attempts=2)
        began = time.monotonic()
        with pytest.raises(SourceUnavailable, match="Timeout"):
            client.get_reference("agency")
        assert time.monotonic() - began < 5


def test_retry_after_is_honoured_and_counts_against_the_budget(emulator_factory):
    emu = emulator_factory(extra=["--faults", "1.0", "--fault-kinds", "429"])
    waits: list[float] = []
    client = fast_client(emu.url, max_attempts=3, sleep=waits.append)
    with pytest.raises(SourceUnavailable, match="HTTP 429"):
        client.get_reference("agency")
    header = requests.get(emu.url + "/api/v1/donvi", headers={"Authorization": f"Bearer {emu.token}"},
                          timeout=10).headers["Retry-After"]
    assert len(waits) == 2 and all(wait >= float(header) for wait in waits)

    # A server asking for a longer wait than the budget left: give up at once, without sleeping.
    waits.clear()
    impatient = fast_client(emu.url, max_retry_seconds=float(header) / 2, sleep=waits.append)
    with pytest.raises(SourceUnavailable, match="retry budget"):
        impatient.get_reference("agency")
    assert waits == [] and impatient.requests_made == 1


def test_slow_answers_time_out_and_are_retried(emulator_factory):
    emu = emulator_factory(
        extra=["--faults", "0.5", "--fault-kinds", "slow", "--slow-seconds", "1.5", "--fault-seed", "2"]
    )
    with fast_client(emu.url, read_timeout=0.3) as client:
        rows = [row for page in client.iter_pages("dossier", DAY_START, DAY_END, page_size=20) for row in page]
        assert client.retries >= 1
    emu.control("faults", {"rate": 0})
    assert rows == raw_window(emu, "/api/v1/hoso", DAY_START, DAY_END)


@pytest.mark.parametrize("kinds", ["500,502,503", "drop", "truncated"])
def test_every_transient_fault_kind_is_retried_to_the_same_result(emulator_factory, kinds):
    emu = emulator_factory(extra=["--faults", "0.4", "--fault-kinds", kinds, "--fault-seed", "9"])
    with fast_client(emu.url) as client:
        pages = list(client.iter_pages("payment", DAY_START, DAY_END, page_size=4))
        assert client.retries >= 1
    emu.control("faults", {"rate": 0})
    assert [row for page in pages for row in page] == raw_window(emu, "/api/v1/thanhtoan", DAY_START, DAY_END)


@pytest.mark.parametrize("compression, encoding", [("auto", None), ("gzip", "gzip")])
def test_a_window_reads_the_same_plain_or_gzipped(emulator, compression, encoding):
    """Over loopback the body comes plain unless gzip is asked for; the records are the same."""
    seen: list = []
    with fast_client(emulator.url, compression=compression) as client:
        client.session.hooks["response"].append(
            lambda response, *args, **kwargs: seen.append(response.headers.get("Content-Encoding")))
        records = [row for page in client.iter_pages("dossier", DAY_START, DAY_END) for row in page]
    assert records and records == raw_window(emulator, FEEDS["dossier"][0], DAY_START, DAY_END)
    assert set(seen) == {encoding}
