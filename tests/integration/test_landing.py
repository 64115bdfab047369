"""The landing zone end to end against the real emulator: layout, manifest, de-duplication,
window semantics, faults, personal data, and crash safety."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import duckdb
import pytest
import requests
import zstandard

from support import REPO_ROOT, TEST_PII_KEY, TEST_TOKEN
from support.source_api import day_window, fetch_window
from etl import landing
from etl.source import ApiClient, SourceError

ICT = timezone(timedelta(hours=7))
DAY = date(2023, 1, 16)
FEED_PATHS = {"dossier": "/api/v1/hoso", "payment": "/api/v1/thanhtoan"}
KEYS = {"dossier": "MaHoSo", "payment": "MaGiaoDich"}
PERSONAL_FIELDS = ("ChuHoSo", "SoGiayToChuHoSo", "SoDienThoai")


# -- independent readers of the API and of the landing zone ---------------------------------------


def api_window(emu, entity: str, day: date) -> list[dict]:
    return fetch_window(emu, FEED_PATHS[entity].removeprefix("/api/v1/"), *day_window(day))


def decompress(path) -> bytes:
    """A landed data file's bytes, decompressed by zstandard itself (not through etl.landing)."""
    with zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), read_across_frames=True) as reader:
        return reader.read()


def landed_rows(manifest_file) -> list[dict]:
    """Decompress and parse the files a manifest names."""
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    rows = []
    for entry in manifest["files"]:
        text = decompress(manifest_file.parent / entry["path"]).decode("utf-8")
        rows.extend(json.loads(line) for line in text.splitlines())
    return rows


def expected_pseudonymized(record: dict, key: str = TEST_PII_KEY) -> dict:
    clean = {name: value for name, value in record.items() if name not in PERSONAL_FIELDS}
    if "SoGiayToChuHoSo" in record:
        number = str(record["SoGiayToChuHoSo"] or "").strip()
        clean["SoGiayToChuHoSoHash"] = (
            hmac.new(key.encode(), number.encode(), "sha256").hexdigest() if number else None
        )
    return clean


def assert_window_consistent(manifest_file) -> list[dict]:
    """A landed window as a reader would check it: every file present, checksums and counts right."""
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        data = (manifest_file.parent / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert entry["path"] == f"data-{entry['sha256'][:16]}.jsonl.zst"
    rows = landed_rows(manifest_file)
    assert len(rows) == manifest["rows"] == sum(entry["rows"] for entry in manifest["files"])
    assert manifest["extracted"] == manifest["rows"] + manifest["duplicates"]
    return rows


def fast_client(emu, **overrides) -> ApiClient:
    options = dict(backoff_base=0.01, max_attempts=12, max_retry_seconds=30, read_timeout=10)
    options.update(overrides)
    return ApiClient(emu.url, emu.token, **options)


# -- layout and manifest --------------------------------------------------------------------------


@pytest.mark.parametrize("entity", sorted(FEED_PATHS))
def test_a_landed_window_is_the_pseudonymized_api_window(emulator, settings_for, entity):
    settings = settings_for(emulator)
    source = api_window(emulator, entity, DAY)
    path = landing.land_window(settings, entity, DAY)

    assert path == settings.raw_dir / entity / "2023-01-16" / "manifest.json"
    manifest = landing.read_manifest(path)
    rows = assert_window_consistent(path)
    assert rows == [expected_pseudonymized(record) for record in source]  # untouched otherwise
    assert manifest["entity"] == entity and manifest["day"] == "2023-01-16"
    assert manifest["window_start"] == "2023-01-16T00:00:00+07:00"
    assert manifest["window_end"] == "2023-01-17T00:00:00+07:00"
    assert manifest["source_url"] == emulator.url + FEED_PATHS[entity]
    assert manifest["extracted"] == len(source) and manifest["duplicates"] == 0
    assert manifest["pages"] == 1
    assert set(manifest["fields"]) == {name for row in rows for name in row}
    assert manifest["pseudonymization"] == "hmac-sha256"
    extracted_at = datetime.strptime(manifest["extracted_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert abs(extracted_at - datetime.now(timezone.utc).replace(tzinfo=None)) < timedelta(minutes=5)
    # Nothing else is left behind: one data file, no spool.
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(["manifest.json", manifest["files"][0]["path"]])
    assert not any(landing.spool_dir(settings).iterdir())


@pytest.mark.parametrize("entity, path, key_fields", [
    ("agency", "/api/v1/donvi", ("MaDonVi",)),
    ("procedure", "/api/v1/thutuc", ("MaTTHC", "HieuLucTu")),
])
def test_reference_lists_land_whole_under_the_run_day(emulator, settings_for, entity, path, key_fields):
    settings = settings_for(emulator)
    source = requests.get(
        emulator.url + path, headers={"Authorization": f"Bearer {emulator.token}"}, timeout=60
    ).json()["duLieu"]
    manifest_file = landing.land_window(settings, entity, date(2023, 2, 28))
    manifest = landing.read_manifest(manifest_file)
    rows = assert_window_consistent(manifest_file)
    keys = [tuple(str(row[name]).strip() for name in key_fields) for row in source]
    assert manifest["rows"] == len(set(keys)) and manifest["extracted"] == len(source)
    assert manifest["window_start"] == "2023-02-28T00:00:00+07:00" and manifest["pages"] == 1
    assert manifest["source_url"] == emulator.url + path
    assert {json.dumps(row, sort_keys=True) for row in rows} <= {
        json.dumps(expected_pseudonymized(row), sort_keys=True) for row in source
    }


def test_an_empty_window_lands_a_manifest_without_files(emulator, settings_for):
    settings = settings_for(emulator)
    manifest = landing.read_manifest(landing.land_window(settings, "dossier", date(2031, 1, 1)))
    assert (manifest["extracted"], manifest["rows"], manifest["duplicates"], manifest["files"]) == (0, 0, 0, [])


def test_relanding_unchanged_data_gives_the_same_file(emulator, settings_for):
    settings = settings_for(emulator)
    first = landing.read_manifest(landing.land_window(settings, "payment", DAY))
    second_path = landing.land_window(settings, "payment", DAY)
    second = landing.read_manifest(second_path)
    assert first["files"] == second["files"]
    assert len(list(second_path.parent.glob("data-*"))) == 1


def test_a_window_landed_as_gzip_before_is_read_and_replaced(emulator, settings_for):
    """Landing zones from before zstd hold .jsonl.gz files: they are read as they are, by the
    landing's reader and by validation (DuckDB), and the next landing of the window removes them."""
    import gzip

    from etl import validation

    settings = settings_for(emulator)
    path = landing.land_window(settings, "payment", DAY)
    manifest = landing.read_manifest(path)
    (entry,) = manifest["files"]
    lines = decompress(path.parent / entry["path"])
    legacy = gzip.compress(lines, mtime=0)
    digest = hashlib.sha256(legacy).hexdigest()
    legacy_name = f"data-{digest[:16]}.jsonl.gz"
    (path.parent / legacy_name).write_bytes(legacy)
    (path.parent / entry["path"]).unlink()
    manifest["files"] = [dict(entry, path=legacy_name, sha256=digest)]
    path.write_text(json.dumps(manifest), encoding="utf-8")

    records = [json.loads(line) for line in lines.decode("utf-8").splitlines()]
    assert list(landing.iter_landed_records(path)) == records
    staged = validation.validate(settings, [path])
    with duckdb.connect() as con:
        keys = con.execute(f"SELECT record_key FROM '{staged / 'payment.parquet'}'").fetchall()
    assert sorted(key for (key,) in keys) == sorted(r["MaGiaoDich"] for r in records)

    landing.land_window(settings, "payment", DAY)
    assert [p.name for p in path.parent.glob("data-*")] == [entry["path"]]


def test_landing_the_same_spool_again_returns_its_window(emulator, settings_for):
    # An Airflow land task retried after it committed but before it reported success.
    settings = settings_for(emulator)
    spool = landing.extract(settings, "payment", DAY)
    first = landing.land(settings, spool)
    before = first.read_bytes()
    assert landing.land(settings, str(spool)) == first and first.read_bytes() == before
    later = landing.extract(settings, "payment", DAY)
    landing.land(settings, later)
    with pytest.raises(FileNotFoundError, match="no landed window"):
        landing.land(settings, spool)  # its window has since been replaced by another landing


def test_a_wrong_token_lands_nothing(emulator, settings_for):
    settings = replace(settings_for(emulator), api_token="wrong-token-5e2a")
    with pytest.raises(SourceError) as failure:
        landing.land_window(settings, "dossier", DAY)
    assert "wrong-token-5e2a" not in str(failure.value) and "TTHC_API_TOKEN" in str(failure.value)
    assert not landing.manifest_path(settings, "dossier", DAY).exists()
    assert not [p for p in settings.raw_dir.rglob("*") if p.is_file()]


def test_extract_refuses_without_a_pii_key(emulator, settings_for):
    from etl.config import ConfigError

    settings = replace(settings_for(emulator), pii_key=None, demo=False)
    with pytest.raises(ConfigError, match="TTHC_PII_KEY"):
        landing.extract(settings, "dossier", DAY)
    assert not settings.raw_dir.exists() or not [p for p in settings.raw_dir.rglob("*") if p.is_file()]


def test_land_refuses_an_unfinished_or_altered_spool(emulator, settings_for):
    settings = settings_for(emulator)
    spool = landing.extract(settings, "dossier", DAY)
    lines = spool.read_bytes().splitlines(keepends=True)
    spool.write_bytes(b"".join(lines[:-1]))  # a truncated spool
    with pytest.raises(RuntimeError, match="truncated"):
        landing.land(settings, spool)
    assert not landing.manifest_path(settings, "dossier", DAY).exists()
    landing.spool_meta_path(spool).unlink()  # an extract that never finished
    with pytest.raises(RuntimeError, match="did not finish"):
        landing.land(settings, spool)


# -- personal data --------------------------------------------------------------------------------


def test_no_personal_data_or_token_reaches_the_landing_zone(emulator, settings_for):
    settings = settings_for(emulator)
    days = [date(2023, 1, 10), date(2023, 1, 11)]
    secrets: set[str] = {TEST_TOKEN}
    ids: set[str] = set()
    for day in days:
        for record in api_window(emulator, "dossier", day):
            for name in PERSONAL_FIELDS:
                value = str(record.get(name) or "").strip()
                # IDs (12 digits), phones (10) and full names are long; a 2-letter fragment would
                # match landed text by chance and prove nothing.
                if len(value) >= 6:
                    secrets.add(value)
            ids.add(str(record.get("SoGiayToChuHoSo") or "").strip())
    ids.discard("")
    assert len(secrets) > 20 and ids
    for day in days:
        for entity in ("dossier", "payment"):
            landing.land_window(settings, entity, day)
    for entity in ("agency", "procedure"):
        landing.land_window(settings, entity, days[-1])

    text = "\n".join(
        (decompress(p) if p.suffix == ".zst" else p.read_bytes()).decode("utf-8")
        for p in settings.raw_dir.rglob("*") if p.is_file()
    )
    leaked = sorted(secret for secret in secrets if secret in text)
    assert not leaked, f"{len(leaked)} personal values or the token found in the landing zone"
    some_id = sorted(ids)[0]
    assert hmac.new(TEST_PII_KEY.encode(), some_id.encode(), "sha256").hexdigest() in text


# -- crash safety ---------------------------------------------------------------------------------


def test_a_failed_manifest_replace_keeps_the_previous_window(emulator, settings_for, monkeypatch):
    settings = settings_for(emulator)
    first_path = landing.land_window(settings, "dossier", DAY)
    before = assert_window_consistent(first_path)
    before_manifest = first_path.read_bytes()

    real_replace = os.replace

    def failing_replace(source, target, *args, **kwargs):
        if str(target).endswith("manifest.json"):
            raise OSError(28, "No space left on device")
        return real_replace(source, target, *args, **kwargs)

    # A different key changes every hash, so the new landing differs from the old one.
    rekeyed = replace(settings, pii_key="another-key-for-this-test")
    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="No space"):
        landing.land_window(rekeyed, "dossier", DAY)
    monkeypatch.undo()

    assert first_path.read_bytes() == before_manifest
    assert assert_window_consistent(first_path) == before
    assert not list(first_path.parent.glob(".*.tmp")), "no half-written manifest is left behind"

    after_path = landing.land_window(rekeyed, "dossier", DAY)
    after = assert_window_consistent(after_path)
    assert after != before and len(after) == len(before)
    assert len(list(after_path.parent.glob("data-*.jsonl.zst"))) == 1, "superseded data files are removed"


CRASH_LOOP = """
import sys
from dataclasses import replace
from pathlib import Path
from etl.config import Settings
from etl import landing
settings = Settings(api_url=sys.argv[1], api_token=sys.argv[2], raw_dir=Path(sys.argv[3]),
                    warehouse=Path(sys.argv[3]) / "unused.duckdb", pii_key="a")
keys = ["a", "b"]
for n in range(10**6):
    landing.land_window(replace(settings, pii_key=keys[n % 2]), "dossier", "2023-01-16")
    print(n, flush=True)
"""


def test_sigkill_at_any_point_leaves_a_readable_window(emulator, settings_for, tmp_path):
    settings = settings_for(emulator)
    manifest_file = landing.land_window(settings, "dossier", DAY)
    readable_states = set()
    rng = random.Random(5)
    for _ in range(4):
        process = subprocess.Popen(
            [sys.executable, "-c", CRASH_LOOP, emulator.url, emulator.token, str(settings.raw_dir)],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            process.stdout.readline()  # at least one full landing happened: now kill it mid-way
            time.sleep(rng.uniform(0.0, 0.3))
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
            process.stdout.close()
            process.stderr.close()
        rows = assert_window_consistent(manifest_file)
        readable_states.add(rows[0]["SoGiayToChuHoSoHash"])
    assert readable_states, "the window was readable after every kill"
    # A killed extract leaves at most an unlanded spool; the next landing cleans the window.
    landing.land_window(settings, "dossier", DAY)
    assert len(list(manifest_file.parent.glob("data-*.jsonl.zst"))) == 1


# -- de-duplication rules -------------------------------------------------------------------------

def landed_by_key(manifest_file, entity: str) -> dict[str, dict]:
    rows = assert_window_consistent(manifest_file)
    keyed = {row[KEYS[entity]]: row for row in rows if row.get(KEYS[entity])}
    assert len(keyed) == len([row for row in rows if row.get(KEYS[entity])]), "each key lands once"
    return keyed


def local_date_of(stamp: str) -> date:
    return datetime.strptime(landing.parse_source_timestamp(stamp), "%Y%m%d%H%M%S").date()


def test_a_record_changed_after_its_window_moves_to_the_later_window(emulator_factory, settings_for):
    emu = emulator_factory(seed=21, start="2023-01-01", end="2023-01-20", dossiers_per_day=30,
                           extra=["--now", "2023-01-06T00:00:00+07:00"])
    day, later_days = date(2023, 1, 5), [date(2023, 1, 5) + timedelta(days=n) for n in range(1, 15)]
    settings = settings_for(emu)
    early = landed_by_key(landing.land_window(settings, "dossier", day), "dossier")
    assert early

    emu.control("clock", {"now": "2023-01-20T00:00:00+07:00"})
    now = landed_by_key(landing.land_window(settings, "dossier", day), "dossier")
    later: dict[str, dict] = {}
    for later_day in later_days:
        window = landed_by_key(landing.land_window(settings, "dossier", later_day), "dossier")
        for key, row in window.items():
            assert local_date_of(row["NgayCapNhat"]) == later_day, "a window holds its day's changes"
            assert key not in later, "a record is in the window of its latest change only"
            later[key] = row

    moved = set(early) - set(now)
    assert moved, "some dossiers of the day changed after it"
    assert set(now) <= set(early)
    for key in moved:
        assert key in later, f"{key} changed after {day} and lands in a later window"
        assert local_date_of(later[key]["NgayCapNhat"]) > day
    for key, row in now.items():
        assert local_date_of(row["NgayCapNhat"]) == day


FAULTS = ["--faults", "0.2", "--fault-kinds", "429,500,502,503,drop,truncated", "--fault-seed", "3"]
MOVING = ["--faults", "0.5", "--fault-kinds", "mutate,repeat", "--fault-seed", "4"]


@pytest.mark.parametrize("faults", [FAULTS, MOVING], ids=["transient", "data-moving"])
def test_faults_and_moving_pages_land_the_same_content_as_a_clean_run(
    emulator_factory, settings_for, tmp_path, faults
):
    options = dict(seed=13, start="2023-01-01", end="2023-01-15", dossiers_per_day=60)
    clean_emu = emulator_factory(**options)
    faulty_emu = emulator_factory(**options, extra=faults)
    clean = settings_for(clean_emu, tmp_path / "clean")
    faulty = settings_for(faulty_emu, tmp_path / "faulty")
    days = [date(2023, 1, 9), date(2023, 1, 10)]
    # Small pages: many requests, so many faults and page boundaries to repeat across.
    page_size = 15
    duplicates = 0
    with fast_client(clean_emu) as clean_client, fast_client(faulty_emu) as faulty_client:
        for entity in ("dossier", "payment"):
            for day in days:
                expected = landed_rows(landing.land_window(clean, entity, day, clean_client, page_size=page_size))
                path = landing.land_window(faulty, entity, day, faulty_client, page_size=page_size)
                manifest = landing.read_manifest(path)
                duplicates += manifest["duplicates"]
                assert assert_window_consistent(path) == expected
                landed_by_key(path, entity)  # each non-empty key once
        assert faulty_client.retries > 0 or duplicates > 0
    served = requests.get(
        f"{faulty_emu.url}/_emulator/state", headers={"Authorization": f"Bearer {faulty_emu.token}"},
        timeout=10,
    ).json()["faults_served"]
    assert sum(served.values()) >= 5, served
    if faults is MOVING:
        assert duplicates > 0, "repeated and stale copies were collapsed and counted"
    else:
        assert faulty_client.retries >= 5
