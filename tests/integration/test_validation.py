"""validate(): landed windows → staged batch, with the GX suites, quarantine reasons, superseded
states, blocking failures, and one run through the real emulator and landing."""
from __future__ import annotations

import json
from datetime import datetime

import duckdb
import pytest

from etl import validation
from etl.standardize import ENTITIES, STAGED_COLUMNS, STAGING_COLUMNS
from etl.warehouse import ensure_schema
from support.validation_data import (
    ABSENT, NFD, TS_REASON, agency, by_key, dossier, land, payment, procedure, read_parquet, settings_in,
)


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
    status = {(r["entity"], r["column_name"], r["expectation"]): r for r in results}
    not_null, between = "expect_column_values_to_not_be_null", "expect_column_values_to_be_between"
    # TrangThaiHoSo: not an integer (4.5 twice, empty, "x") and outside 1…10 (0, 11, 99).
    assert status[("dossier", "status_code", not_null)]["success"] is False
    assert status[("dossier", "status_code", not_null)]["unexpected_count"] == 4
    assert status[("dossier", "status_code", between)]["unexpected_count"] == 3
    assert status[("dossier", "record_key", not_null)]["unexpected_count"] == 2
    # A warning, no quarantine:
    assert status[("dossier", "return_code if HinhThucTra_sent = true", not_null)]["success"] is False
    unique = "expect_compound_columns_to_be_unique"
    assert status[("dossier", "window_start+record_key", unique)]["blocking"] is True
    assert status[("dossier", "window_start+record_key", unique)]["success"] is True
    assert status[("payment", "amount_vnd", between)]["unexpected_count"] == 2
    assert all(r["run_id"] == batch["dir"].name for r in results)


def test_data_docs_are_written_for_a_person(batch):
    index = batch["settings"].data_docs_dir / "index.html"
    assert index.is_file()
    pages = list((batch["settings"].data_docs_dir / "validations").rglob("*.html"))
    assert {p.parts[-4] for p in pages} >= set(ENTITIES) - {"none"}
    assert "status_code" in "".join(p.read_text(encoding="utf-8") for p in pages)


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
