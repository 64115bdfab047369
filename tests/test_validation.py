"""validate(): landed windows → staged batch, with the GX suites, quarantine reasons, superseded
states, blocking failures, and one run through the real emulator and landing."""
from __future__ import annotations

import gzip
import hashlib
import json
import unicodedata
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from etl import validation
from etl.config import Settings
from etl.standardize import ENTITIES, STAGED_COLUMNS, STAGING_COLUMNS
from etl.validation import BlockingValidationError
from etl.warehouse import ensure_schema


# --------------------------------------------------------------------------- landing helper

def land(raw_dir: Path, entity: str, day: str, records: list[dict], *, fields=None,
         duplicates: int = 0) -> Path:
    """Write a landed window exactly as docs/ARCHITECTURE.md "Landing zone" describes."""
    start = datetime.fromisoformat(f"{day}T00:00:00+07:00")
    directory = raw_dir / entity / day
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    if records:
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        data = gzip.compress(body.encode("utf-8"), mtime=0)
        digest = hashlib.sha256(data).hexdigest()
        name = f"data-{digest[:16]}.jsonl.gz"
        (directory / name).write_bytes(data)
        files.append({"path": name, "rows": len(records), "sha256": digest})
    manifest = {
        "entity": entity, "day": day,
        "window_start": start.isoformat(), "window_end": (start + timedelta(days=1)).isoformat(),
        "source_url": "http://127.0.0.1:1/api/v1/x", "extracted_at": "2026-11-27T02:00:00Z",
        "pages": 1, "extracted": len(records) + duplicates, "duplicates": duplicates,
        "rows": len(records),
        "fields": sorted({k for r in records for k in r}) if fields is None else fields,
        "files": files, "pseudonymization": "hmac-sha256",
    }
    path = directory / "manifest.json"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    return path


def settings_in(root: Path) -> Settings:
    return Settings(warehouse=root / "warehouse" / "tthc.duckdb", raw_dir=root / "raw")


def read_parquet(path: Path) -> list[dict]:
    con = duckdb.connect()
    try:
        cursor = con.execute(f"SELECT * FROM read_parquet('{path}')")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        con.close()


def by_key(rows: list[dict], column: str) -> dict:
    return {row[column]: row for row in rows}


def dossier(key: str, **fields) -> dict:
    """A well-formed dossier as the source sends it (minus the PII landing removes)."""
    record = {
        "MaHoSo": key, "MaTTHC": "1.005129", "MaDonVi": "000.00.04.G18", "KenhThucHien": 2,
        "NopTuXa": "1", "LoaiDoiTuong": "CONG_DAN", "SoGiayToChuHoSoHash": "ab" * 32,
        "NgayNopHoSo": "20230201080000", "NgayTiepNhan": "20230201090000",
        "NgayHenTra": "20230210170000", "NgayKetThucXuLy": None, "NgayTra": None,
        "TrangThaiHoSo": 4, "HinhThucTra": 0, "HoSoCoThanhPhanSoHoa": "1",
        "NgayCapNhat": "20230201100000",
    }
    record.update(fields)
    return {k: v for k, v in record.items() if v is not ABSENT}


def payment(key: str, **fields) -> dict:
    record = {
        "MaGiaoDich": key, "MaHoSo": "H-1", "MaTTHC": "1.005129", "MaDonVi": "000.00.04.G18",
        "SoTien": 200000, "LoaiPhiLePhi": "LE_PHI", "HinhThucThanhToan": "truc-tuyen",
        "KenhThanhToan": "DVCQG", "TrangThai": "thanh-cong", "ThoiGianGD": "20230201093000",
        "NgayCapNhat": "20230201093000",
    }
    record.update(fields)
    return {k: v for k, v in record.items() if v is not ABSENT}


def agency(key, **fields) -> dict:
    record = {"MaDonVi": key, "TenDonVi": "Sở Tư pháp", "CapDonVi": "TINH", "MaDonViCha": None,
              "HieuLucTu": "2020-01-01", "HieuLucDen": None, "MaDonViKeThua": None}
    record.update(fields)
    return {k: v for k, v in record.items() if v is not ABSENT}


def procedure(key, **fields) -> dict:
    record = {"MaTTHC": key, "TenTTHC": "Cấp phiếu lý lịch tư pháp", "MaLinhVuc": "LLTP",
              "TenLinhVuc": "Lý lịch tư pháp", "CapThucHien": ["TINH"], "MucDoDVC": "TOAN_TRINH",
              "CoPhiLePhi": True, "ThanhToanTrucTuyen": True, "ThoiHanGiaiQuyet": 10,
              "HieuLucTu": "2020-01-01", "HieuLucDen": None}
    record.update(fields)
    return {k: v for k, v in record.items() if v is not ABSENT}


ABSENT = object()
NFD = lambda text: unicodedata.normalize("NFD", text)  # noqa: E731
TS_REASON = "is not a timestamp"

# Every invalid kind of source-api.md "Some records are broken": key → (record, reason part).
INVALID_DOSSIERS = {
    "bad-procedure-absent": (dossier("bad-procedure-absent", MaTTHC=ABSENT), "MaTTHC is empty"),
    "bad-procedure-spaces": (dossier("bad-procedure-spaces", MaTTHC="   "), "MaTTHC is empty"),
    "bad-agency-null": (dossier("bad-agency-null", MaDonVi=None), "MaDonVi is empty"),
    "bad-agency-empty": (dossier("bad-agency-empty", MaDonVi=""), "MaDonVi is empty"),
    "bad-status-0": (dossier("bad-status-0", TrangThaiHoSo=0), "TrangThaiHoSo is not an integer 1…10"),
    "bad-status-11": (dossier("bad-status-11", TrangThaiHoSo="11"), "TrangThaiHoSo is not an integer 1…10"),
    "bad-status-decimal": (dossier("bad-status-decimal", TrangThaiHoSo="4.5"), "TrangThaiHoSo is not an integer 1…10"),
    "bad-status-float": (dossier("bad-status-float", TrangThaiHoSo=4.5), "TrangThaiHoSo is not an integer 1…10"),
    "bad-status-empty": (dossier("bad-status-empty", TrangThaiHoSo=None), "TrangThaiHoSo is not an integer 1…10"),
    "bad-channel-4": (dossier("bad-channel-4", KenhThucHien=4), "KenhThucHien is not one of the channels"),
    "bad-channel-label": (dossier("bad-channel-label", KenhThucHien="Online"), "KenhThucHien is not one of the channels"),
    "bad-channel-empty": (dossier("bad-channel-empty", KenhThucHien=""), "KenhThucHien is not one of the channels"),
    "bad-submitted": (dossier("bad-submitted", NgayNopHoSo="31/02/2023 10:00:00"), f"NgayNopHoSo {TS_REASON}"),
    "bad-received": (dossier("bad-received", NgayTiepNhan="2023031510"), f"NgayTiepNhan {TS_REASON}"),
    "bad-due": (dossier("bad-due", NgayHenTra="10/02/2023 25:00:00"), f"NgayHenTra {TS_REASON}"),
    "bad-finished": (dossier("bad-finished", NgayKetThucXuLy="1/3/2023 1:02:03"), f"NgayKetThucXuLy {TS_REASON}"),
    "bad-returned": (dossier("bad-returned", NgayTra="2023-03-01T10:00:00"), f"NgayTra {TS_REASON}"),
    "bad-updated": (dossier("bad-updated", NgayCapNhat="20230230100000"), f"NgayCapNhat {TS_REASON}"),
}
VALID_MESSY_DOSSIERS = {
    "ok-string-codes": dossier("ok-string-codes", KenhThucHien="2", TrangThaiHoSo="10",
                               HinhThucTra="1", MaTTHC=" 1.005129 ", MaDonVi="000.00.04.G18 "),
    "ok-label-nfd": dossier("ok-label-nfd", KenhThucHien=NFD("Bưu chính công ích"),
                            NgayTiepNhan="01/02/2023 09:00:00"),
    "ok-label-nfc": dossier("ok-label-nfc", KenhThucHien="Trực tiếp", NopTuXa=None),
    "ok-spaced-channel": dossier("ok-spaced-channel", KenhThucHien=" 3 ",
                                 NgayHenTra=" ", NgayNopHoSo=ABSENT),
    "ok-no-updated": dossier("ok-no-updated", NgayCapNhat=""),
    "ok-odd-optional": dossier("ok-odd-optional", HinhThucTra="x"),  # reported, not invalid
}
INVALID_PAYMENTS = {
    "p-amount-empty": (payment("p-amount-empty", SoTien=" "), "SoTien is empty"),
    "p-amount-absent": (payment("p-amount-absent", SoTien=ABSENT), "SoTien is empty"),
    "p-amount-junk": (payment("p-amount-junk", SoTien="1,5 triệu"), "SoTien is not an amount"),
    "p-amount-negative": (payment("p-amount-negative", SoTien=-50000), "SoTien is negative"),
    "p-amount-negative-text": (payment("p-amount-negative-text", SoTien="-50.000"), "SoTien is negative"),
    "p-method": (payment("p-method", HinhThucThanhToan="the-tin-dung"), "HinhThucThanhToan is not one of"),
    "p-method-empty": (payment("p-method-empty", HinhThucThanhToan=None), "HinhThucThanhToan is not one of"),
    "p-status": (payment("p-status", TrangThai="xong"), "TrangThai is not one of"),
    "p-time-empty": (payment("p-time-empty", ThoiGianGD=""), "ThoiGianGD is empty"),
    "p-time-bad": (payment("p-time-bad", ThoiGianGD="32/01/2023 10:00:00"), f"ThoiGianGD {TS_REASON}"),
}
VALID_MESSY_PAYMENTS = {
    "p-ok-dotted": (payment("p-ok-dotted", SoTien="1.500.000"), 1_500_000),
    "p-ok-dong": (payment("p-ok-dong", SoTien="1.500.000 đ"), 1_500_000),
    "p-ok-string": (payment("p-ok-string", SoTien="1500000", TrangThai=" hoan-phi "), 1_500_000),
    "p-ok-no-dossier": (payment("p-ok-no-dossier", MaHoSo=""), 200_000),
    "p-ok-unknown-dossier": (payment("p-ok-unknown-dossier", MaHoSo="NOPE"), 200_000),
    "p-ok-zero": (payment("p-ok-zero", SoTien=0, HinhThucThanhToan=" tien-mat"), 0),
}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """One batch holding every case, validated once (GX costs seconds per run)."""
    root = tmp_path_factory.mktemp("batch")
    raw = root / "raw"
    dossiers = [r for r, _ in INVALID_DOSSIERS.values()] + list(VALID_MESSY_DOSSIERS.values())
    dossiers += [dossier("", MaHoSo=""), dossier("", MaHoSo=ABSENT, TrangThaiHoSo=99)]
    # Superseding: the same dossier in two windows; the later NgayCapNhat wins.
    dossiers += [dossier("twice", NgayCapNhat="20230201100000", TrangThaiHoSo=4),
                 dossier("later-invalid", TrangThaiHoSo=9),
                 dossier("tie", NgayCapNhat="20230201235900", TrangThaiHoSo=4),
                 dossier("newer-in-earlier-window", NgayCapNhat="20230203120000", TrangThaiHoSo=10)]
    second_day = [dossier("twice", NgayCapNhat="02/02/2023 08:00:00", TrangThaiHoSo=9),
                  dossier("later-invalid", NgayCapNhat="20230202080000", TrangThaiHoSo="x"),
                  dossier("tie", NgayCapNhat="20230201235900", TrangThaiHoSo=5),
                  dossier("newer-in-earlier-window", NgayCapNhat="20230202090000", TrangThaiHoSo=9)]
    payments = [r for r, _ in INVALID_PAYMENTS.values()] + [r for r, _ in VALID_MESSY_PAYMENTS.values()]
    agencies = [agency("000.00.04.G18"), agency(" 000.00.05.G18 ", CapDonVi=" xa ",
                                               TenDonVi=NFD("Xã Tân Hòa")),
                agency("A-level", CapDonVi="PHUONG"), agency("A-date", HieuLucTu="01/01/2020"),
                agency(" ", TenDonVi="no code")]
    procedures = [procedure("1.005129"), procedure("1.005129", HieuLucTu="2024-01-01",
                                                   MucDoDVC=" MOT_PHAN "),
                  procedure("P-level", MucDoDVC="FULL"), procedure("P-date", HieuLucTu="2024-02-30"),
                  procedure(None)]
    later_agencies = [agency("000.00.04.G18", TenDonVi="Sở Tư pháp (mới)")]
    manifests = [
        land(raw, "dossier", "2023-02-01", dossiers, duplicates=3),
        land(raw, "dossier", "2023-02-02", second_day),
        land(raw, "payment", "2023-02-01", payments),
        land(raw, "agency", "2023-02-01", agencies),
        land(raw, "agency", "2023-02-02", later_agencies),
        land(raw, "procedure", "2023-02-01", procedures),
    ]
    settings = settings_in(root)
    out = validation.validate(settings, manifests)
    return {"dir": out, "settings": settings, "manifests": manifests,
            **{e: read_parquet(out / f"{e}.parquet") for e in ENTITIES}}


# --------------------------------------------------------------------------- row-level rules

@pytest.mark.parametrize("key", sorted(INVALID_DOSSIERS))
def test_every_invalid_dossier_kind_is_quarantined_with_its_reason(batch, key):
    row = by_key(batch["dossier"], "dossier_id")[key]
    assert row["is_valid"] is False and row["superseded"] is False
    assert INVALID_DOSSIERS[key][1] in row["reasons"]


def test_empty_keys_are_quarantined_not_dropped(batch):
    keyless = [r for r in batch["dossier"] if r["record_key"] is None]
    assert len(keyless) == 2
    assert all(not r["is_valid"] and "MaHoSo is empty" in r["reasons"] for r in keyless)
    both = next(r for r in keyless if "TrangThaiHoSo" in r["reasons"])
    assert both["reasons"] == "MaHoSo is empty or not a scalar code; TrangThaiHoSo is not an integer 1…10"


@pytest.mark.parametrize("key", sorted(VALID_MESSY_DOSSIERS))
def test_messy_but_valid_dossiers_stay_valid(batch, key):
    row = by_key(batch["dossier"], "dossier_id")[key]
    assert row["is_valid"] is True, row["reasons"]
    assert row["reasons"] is None


def test_messy_dossier_values_are_standardized(batch):
    rows = by_key(batch["dossier"], "dossier_id")
    assert rows["ok-string-codes"]["procedure_code"] == "1.005129"
    assert rows["ok-string-codes"]["agency_code"] == "000.00.04.G18"
    assert (rows["ok-string-codes"]["status"], rows["ok-string-codes"]["return_method"]) == (10, 1)
    assert rows["ok-label-nfd"]["channel_code"] == 3
    assert rows["ok-label-nfd"]["received_at"] == datetime(2023, 2, 1, 9, 0, 0)
    assert rows["ok-label-nfc"]["channel_code"] == 1
    assert rows["ok-label-nfc"]["remote_submission"] is None
    assert rows["ok-spaced-channel"]["channel_code"] == 3
    assert rows["ok-spaced-channel"]["due_at"] is None
    assert rows["ok-spaced-channel"]["submitted_at"] is None
    assert rows["ok-string-codes"]["remote_submission"] is True
    assert rows["ok-string-codes"]["has_digitized"] is True
    assert rows["ok-odd-optional"]["return_method"] is None


def test_missing_update_time_falls_back_to_the_window_start(batch):
    row = by_key(batch["dossier"], "dossier_id")["ok-no-updated"]
    assert row["updated_at"] == row["window_start"] == datetime(2023, 2, 1)


@pytest.mark.parametrize("key", sorted(INVALID_PAYMENTS))
def test_every_invalid_payment_kind_is_quarantined_with_its_reason(batch, key):
    row = by_key(batch["payment"], "transaction_id")[key]
    assert row["is_valid"] is False
    assert INVALID_PAYMENTS[key][1] in row["reasons"]


@pytest.mark.parametrize("key", sorted(VALID_MESSY_PAYMENTS))
def test_messy_but_valid_payments_parse(batch, key):
    row = by_key(batch["payment"], "transaction_id")[key]
    assert row["is_valid"] is True, row["reasons"]
    assert row["amount_vnd"] == VALID_MESSY_PAYMENTS[key][1]
    assert row["status"] in {"thanh-cong", "hoan-phi"}
    assert row["payment_method_code"] in {"truc-tuyen", "tien-mat"}


def test_reference_lists(batch):
    agencies = [r for r in batch["agency"] if r["window_start"] == datetime(2023, 2, 1)]
    rows = by_key(agencies, "record_key")
    spaced = rows["000.00.05.G18"]
    assert spaced["is_valid"] and spaced["agency_level"] == "XA"
    assert spaced["agency_name"] == "Xã Tân Hòa"
    assert "CapDonVi is not one of TINH, HUYEN, XA" in rows["A-level"]["reasons"]
    assert "HieuLucTu is not a date" in rows["A-date"]["reasons"]
    assert "MaDonVi is empty" in rows[None]["reasons"]
    procedures = by_key(batch["procedure"], "record_key")
    assert procedures["1.005129@2020-01-01"]["is_valid"]
    assert procedures["1.005129@2024-01-01"]["service_level"] == "MOT_PHAN"
    assert "MucDoDVC is not one of" in procedures["P-level@2020-01-01"]["reasons"]
    assert "HieuLucTu is not a date" in procedures["P-date@2024-02-30"]["reasons"]
    assert "MaTTHC is empty" in procedures[None]["reasons"]


# --------------------------------------------------------------------------- superseded

def states(batch, key):
    return sorted((r for r in batch["dossier"] if r["dossier_id"] == key),
                  key=lambda r: r["window_start"])


def test_the_later_state_supersedes_the_earlier(batch):
    first, second = states(batch, "twice")
    assert (first["superseded"], second["superseded"]) == (True, False)
    assert second["status"] == 9 and second["updated_at"] == datetime(2023, 2, 2, 8, 0, 0)


def test_an_invalid_later_state_does_not_supersede_the_last_valid_one(batch):
    valid, invalid = states(batch, "later-invalid")
    assert valid["is_valid"] and not valid["superseded"]
    assert not invalid["is_valid"] and not invalid["superseded"]


def test_a_tie_on_update_time_goes_to_the_later_window(batch):
    first, second = states(batch, "tie")
    assert (first["superseded"], second["superseded"]) == (True, False)


def test_update_time_wins_over_window_order(batch):
    earlier_window, later_window = states(batch, "newer-in-earlier-window")
    assert (earlier_window["superseded"], later_window["superseded"]) == (False, True)


def test_reference_list_of_a_later_window_supersedes(batch):
    copies = sorted((r for r in batch["agency"] if r["record_key"] == "000.00.04.G18"),
                    key=lambda r: r["window_start"])
    assert [c["superseded"] for c in copies] == [True, False]
    assert copies[1]["agency_name"] == "Sở Tư pháp (mới)"


# --------------------------------------------------------------------------- batch outputs

def test_every_landed_record_is_staged_once(batch):
    for entity in ENTITIES:
        landed = sum(
            json.loads(m.read_text())["rows"] for m in batch["manifests"]
            if json.loads(m.read_text())["entity"] == entity
        )
        assert len(batch[entity]) == landed, entity
        invalid = [r for r in batch[entity] if not r["is_valid"]]
        assert len({r["record_hash"] for r in invalid}) == len(invalid)
        assert all(r["record"] and r["record_hash"] for r in invalid)
        assert all(r["record"] is None for r in batch[entity] if r["is_valid"])


@pytest.mark.parametrize("entity", ENTITIES)
def test_parquet_has_the_staged_columns_in_order(batch, entity):
    assert list(batch[entity][0]) == list(STAGED_COLUMNS[entity] + STAGING_COLUMNS)


def test_windows_json_carries_the_manifest_counts(batch):
    windows = json.loads((batch["dir"] / "windows.json").read_text())
    first = next(w for w in windows if w["entity"] == "dossier" and w["day"] == "2023-02-01")
    landed = sum(1 for r in batch["dossier"] if r["window_start"] == datetime(2023, 2, 1))
    assert first["duplicates"] == 3 and first["extracted"] == landed + 3
    assert first["window_start"] == "2023-02-01 00:00:00"
    assert first["window_end"] == "2023-02-02 00:00:00"
    assert len(windows) == len(batch["manifests"])


def test_validation_results_fit_the_audit_table(batch):
    results = json.loads((batch["dir"] / "validation.json").read_text())
    con = duckdb.connect()
    try:
        ensure_schema(con)
        for row in results:
            con.execute(
                "INSERT INTO audit.validation_result BY NAME SELECT * FROM (SELECT "
                "?::VARCHAR AS run_id, ?::VARCHAR AS entity, ?::VARCHAR AS expectation, "
                "?::VARCHAR AS column_name, ?::BOOLEAN AS blocking, ?::BOOLEAN AS success, "
                "?::BIGINT AS element_count, ?::BIGINT AS unexpected_count, ?::VARCHAR AS reason)",
                [row[k] for k in ("run_id", "entity", "expectation", "column_name", "blocking",
                                  "success", "element_count", "unexpected_count", "reason")],
            )
    finally:
        con.close()
    status = {(r["entity"], r["column_name"]): r for r in results}
    assert status[("dossier", "TrangThaiHoSo_valid")]["success"] is False
    assert status[("dossier", "TrangThaiHoSo_valid")]["unexpected_count"] == 7  # 6 + the keyless one
    assert status[("dossier", "MaHoSo_present")]["unexpected_count"] == 2
    assert status[("dossier", "HinhThucTra_valid")]["success"] is False  # a warning, no quarantine
    assert status[("dossier", "window_start+record_key")]["blocking"] is True
    assert status[("dossier", "window_start+record_key")]["success"] is True
    assert status[("payment", "SoTien_not_negative")]["unexpected_count"] == 2
    assert all(r["run_id"] == batch["dir"].name for r in results)


def test_data_docs_are_written_for_a_person(batch):
    index = batch["settings"].data_docs_dir / "index.html"
    assert index.is_file()
    pages = list((batch["settings"].data_docs_dir / "validations").rglob("*.html"))
    assert {p.parts[-4] for p in pages} >= set(ENTITIES) - {"none"}
    assert "TrangThaiHoSo_valid" in "".join(p.read_text(encoding="utf-8") for p in pages)


def test_same_input_gives_the_same_run_id_and_rows(batch, tmp_path):
    again = validation.validate(settings_in(tmp_path), batch["manifests"])
    assert again.name == batch["dir"].name
    content = lambda rows: sorted(rows, key=repr)  # noqa: E731
    for entity in ENTITIES:
        assert content(read_parquet(again / f"{entity}.parquet")) == content(batch[entity])
    assert json.loads((again / "batch.json").read_text())["run_id"] == again.name


def test_empty_entity_gets_an_empty_parquet_with_its_schema(tmp_path):
    manifest = land(tmp_path / "raw", "agency", "2023-02-01", [agency("G1")])
    empty = land(tmp_path / "raw", "payment", "2023-02-01", [])
    out = validation.validate(settings_in(tmp_path), [manifest, empty])
    con = duckdb.connect()
    try:
        for entity in ("dossier", "payment", "procedure"):
            described = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{out / f'{entity}.parquet'}')").fetchall()
            assert [d[0] for d in described] == list(STAGED_COLUMNS[entity] + STAGING_COLUMNS)
            assert con.execute(f"SELECT count(*) FROM read_parquet('{out / f'{entity}.parquet'}')").fetchall() == [(0,)]
    finally:
        con.close()
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{e}.parquet" for e in ENTITIES] + ["batch.json", "validation.json", "windows.json"])


# --------------------------------------------------------------------------- blocking failures

def assert_nothing_staged(settings: Settings) -> None:
    staged = settings.staged_dir
    assert not staged.exists() or list(staged.iterdir()) == []


def test_missing_required_column_blocks(tmp_path):
    records = [dossier("H1", TrangThaiHoSo=ABSENT), dossier("H2", TrangThaiHoSo=ABSENT)]
    manifest = land(tmp_path / "raw", "dossier", "2023-02-01", records)
    settings = settings_in(tmp_path)
    with pytest.raises(BlockingValidationError, match=r"dossier window 2023-02-01: required column.*TrangThaiHoSo"):
        validation.validate(settings, [manifest])
    assert_nothing_staged(settings)


def test_row_count_mismatch_blocks(tmp_path):
    manifest = land(tmp_path / "raw", "payment", "2023-02-01", [payment("T1"), payment("T2")])
    document = json.loads(manifest.read_text())
    document["rows"] = document["files"][0]["rows"] = document["extracted"] = 3
    manifest.write_text(json.dumps(document))
    settings = settings_in(tmp_path)
    with pytest.raises(BlockingValidationError, match=r"payment window 2023-02-01: 2 landed rows in data-\w+\.jsonl\.gz, manifest says 3"):
        validation.validate(settings, [manifest])
    assert_nothing_staged(settings)


def test_checksum_mismatch_blocks(tmp_path):
    manifest = land(tmp_path / "raw", "dossier", "2023-02-01", [dossier("H1")])
    data = next(manifest.parent.glob("data-*.jsonl.gz"))
    data.write_bytes(gzip.compress(b'{"MaHoSo": "H1", "tampered": true}\n'))
    settings = settings_in(tmp_path)
    with pytest.raises(BlockingValidationError, match="checksum mismatch"):
        validation.validate(settings, [manifest])
    assert_nothing_staged(settings)


def test_duplicate_keys_within_a_window_block(tmp_path):
    records = [dossier("H1"), dossier("H2"), dossier("H1", TrangThaiHoSo=9)]
    manifest = land(tmp_path / "raw", "dossier", "2023-02-01", records)
    other = land(tmp_path / "raw", "agency", "2023-02-01", [agency("G1")])
    settings = settings_in(tmp_path)
    with pytest.raises(BlockingValidationError, match=r"dossier: key is not unique within a window.*H1"):
        validation.validate(settings, [other, manifest])
    assert_nothing_staged(settings)


def test_a_failed_run_keeps_the_previous_batch(tmp_path):
    settings = settings_in(tmp_path)
    good = land(tmp_path / "raw", "agency", "2023-02-01", [agency("G1")])
    first = validation.validate(settings, [good])
    bad = land(tmp_path / "raw", "agency", "2023-02-02", [agency("G1")], fields=["TenDonVi"])
    with pytest.raises(BlockingValidationError, match="required column"):
        validation.validate(settings, [good, bad])
    assert [p.name for p in settings.staged_dir.iterdir()] == [first.name]
    assert (first / "batch.json").is_file()


# --------------------------------------------------------------------------- end to end

def test_end_to_end_through_the_emulator_and_landing(emulator, settings_for, tmp_path):
    from etl import landing

    settings = settings_for(emulator)
    manifests = [landing.land_window(settings, entity, day)
                 for entity in ("dossier", "payment") for day in ("2023-02-06", "2023-02-07")]
    manifests += [landing.land_window(settings, entity, "2023-02-07") for entity in ("agency", "procedure")]
    out = validation.validate(settings, manifests)

    windows = json.loads((out / "windows.json").read_text())
    con = duckdb.connect()
    try:
        for entity in ENTITIES:
            counts = con.execute(
                f"SELECT window_start::VARCHAR, count(*) FILTER (is_valid AND NOT superseded), "
                f"count(*) FILTER (NOT is_valid), count(*) FILTER (superseded), count(*) "
                f"FROM read_parquet('{out / f'{entity}.parquet'}') GROUP BY ALL").fetchall()
            by_window = {c[0]: c[1:] for c in counts}
            for window in (w for w in windows if w["entity"] == entity):
                loaded, quarantined, superseded, staged = by_window.get(window["window_start"], (0, 0, 0, 0))
                assert staged == window["rows"]
                assert window["extracted"] == loaded + quarantined + superseded + window["duplicates"]
        stats = con.execute(
            f"SELECT count(*), count(*) FILTER (NOT is_valid), count(DISTINCT channel_code), "
            f"min(updated_at), max(updated_at) FROM read_parquet('{out / 'dossier.parquet'}')"
        ).fetchall()[0]
        total, invalid, channels, first_update, last_update = stats
        assert total > 40 and invalid < total * 0.1 and channels == 3
        assert datetime(2023, 2, 6) <= first_update and last_update < datetime(2023, 2, 8)
        text = con.execute(
            f"SELECT string_agg(record, '') FROM read_parquet('{out / 'dossier.parquet'}')").fetchall()[0][0]
        assert "ChuHoSo\"" not in text and "SoDienThoai" not in text and "SoGiayToChuHoSo\"" not in text
        levels = con.execute(
            f"SELECT count(*) FILTER (agency_levels IS NOT NULL), count(*) "
            f"FROM read_parquet('{out / 'procedure.parquet'}') WHERE is_valid").fetchall()[0]
        assert levels[1] > 0 and levels[0] == levels[1]
    finally:
        con.close()


def test_blocking_in_a_later_entity_discards_the_earlier_entities(tmp_path):
    """dossier is staged before procedure fails: its parquet must not survive anywhere."""
    good = land(tmp_path / "raw", "dossier", "2023-02-01", [dossier("H1")])
    duplicated = land(tmp_path / "raw", "procedure", "2023-02-01",
                      [procedure("1.001"), procedure(" 1.001 ")])
    settings = settings_in(tmp_path)
    with pytest.raises(BlockingValidationError, match=r"procedure: key is not unique.*1\.001@2020-01-01"):
        validation.validate(settings, [good, duplicated])
    assert_nothing_staged(settings)


def test_explicit_run_id_names_the_batch_and_must_be_a_plain_name(tmp_path):
    manifest = land(tmp_path / "raw", "agency", "2023-02-01", [agency("G1")])
    settings = settings_in(tmp_path)
    out = validation.validate(settings, [manifest], run_id="manual__2023-02-01T00:00:00+07:00")
    assert out == settings.staged_dir / "manual__2023-02-01T00:00:00+07:00"
    assert json.loads((out / "validation.json").read_text())[0]["run_id"] == out.name
    for bad in ("../escape", ".hidden", "a/b", "x" * 300):
        with pytest.raises(ValueError, match="cannot name a batch directory"):
            validation.validate(settings, [manifest], run_id=bad)


def test_a_killed_validate_leaves_no_batch(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    records = [dossier(f"H{i}") for i in range(2000)]
    manifest = land(tmp_path / "raw", "dossier", "2023-02-01", records)
    settings = settings_in(tmp_path)
    script = (
        "import sys; from pathlib import Path; from etl import validation; "
        "from etl.config import Settings; "
        "validation.validate(Settings(warehouse=Path(sys.argv[1]), raw_dir=Path(sys.argv[2])), [Path(sys.argv[3])])"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(settings.warehouse), str(settings.raw_dir), str(manifest)],
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if settings.staged_dir.is_dir() and any(settings.staged_dir.glob(".tmp-*")):
                break
            time.sleep(0.01)
        assert process.poll() is None, "validate finished before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    assert [p for p in settings.staged_dir.iterdir() if not p.name.startswith(".")] == []
    # The next run is not confused by the leftovers, and sweeps them once they are stale.
    leftover = next(settings.staged_dir.glob(".tmp-*"))
    os.utime(leftover, (time.time() - 2 * validation.STALE_TEMP_SECONDS,) * 2)
    out = validation.validate(settings, [manifest])
    assert len(read_parquet(out / "dossier.parquet")) == 2000
    assert not leftover.exists()


def test_importing_validation_loads_no_heavy_library():
    """The DAG files import etl modules at parse time; GX, pandas and duckdb load on use."""
    import subprocess
    import sys

    probe = ("import sys, etl.validation, etl.standardize; "
             "print(sorted(m for m in ('duckdb', 'pandas', 'great_expectations') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parent.parent, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


def test_manifest_counts_that_do_not_balance_block(tmp_path):
    manifest = land(tmp_path / "raw", "payment", "2023-02-01", [payment("T1")], duplicates=2)
    document = json.loads(manifest.read_text())
    document["extracted"] = 2
    manifest.write_text(json.dumps(document))
    settings = settings_in(tmp_path)
    with pytest.raises(BlockingValidationError, match=r"extracted=2 is not rows=1 \+ duplicates=2"):
        validation.validate(settings, [manifest])
    assert_nothing_staged(settings)
