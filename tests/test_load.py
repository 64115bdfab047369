"""The star-schema load: real DuckDB files, staged batches written as the validation stage does.

Most tests build small staged batches by hand (parquet + JSON in the documented format), which is
this stage's real input; the end-to-end test produces one from the emulator through landing and
validation.
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl import load, warehouse
from etl.config import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent

BOOKKEEPING = [
    ("record_key", pa.string()), ("window_start", pa.timestamp("us")), ("is_valid", pa.bool_()),
    ("reasons", pa.string()), ("superseded", pa.bool_()), ("record", pa.string()),
    ("record_hash", pa.string()),
]
SCHEMAS = {
    "dossier": pa.schema([
        ("dossier_id", pa.string()), ("procedure_code", pa.string()), ("agency_code", pa.string()),
        ("channel_code", pa.int16()), ("remote_submission", pa.bool_()),
        ("applicant_type", pa.string()), ("applicant_key", pa.string()),
        ("submitted_at", pa.timestamp("us")), ("received_at", pa.timestamp("us")),
        ("due_at", pa.timestamp("us")), ("finished_at", pa.timestamp("us")),
        ("returned_at", pa.timestamp("us")), ("updated_at", pa.timestamp("us")),
        ("status", pa.int16()), ("return_method", pa.int16()), ("has_digitized", pa.bool_()),
        ("result_digitized", pa.bool_()), *BOOKKEEPING,
    ]),
    "payment": pa.schema([
        ("transaction_id", pa.string()), ("dossier_id", pa.string()),
        ("procedure_code", pa.string()), ("agency_code", pa.string()), ("amount_vnd", pa.int64()),
        ("fee_type", pa.string()), ("payment_method_code", pa.string()),
        ("payment_portal", pa.string()), ("status", pa.string()),
        ("transacted_at", pa.timestamp("us")), ("updated_at", pa.timestamp("us")),
        *BOOKKEEPING,
    ]),
    "agency": pa.schema([
        ("agency_code", pa.string()), ("agency_name", pa.string()), ("agency_level", pa.string()),
        ("parent_code", pa.string()), ("valid_from", pa.date32()), ("valid_to", pa.date32()),
        ("successor_code", pa.string()), *BOOKKEEPING,
    ]),
    "procedure": pa.schema([
        ("procedure_code", pa.string()), ("valid_from", pa.date32()), ("valid_to", pa.date32()),
        ("procedure_name", pa.string()), ("sector_code", pa.string()), ("sector_name", pa.string()),
        ("agency_levels", pa.list_(pa.string())), ("service_level", pa.string()),
        ("has_fee", pa.bool_()), ("online_payment", pa.bool_()), ("legal_days", pa.int32()),
        ("is_internal", pa.bool_()), *BOOKKEEPING,
    ]),
}
KEY_FIELD = {"dossier": "dossier_id", "payment": "transaction_id", "agency": "agency_code",
             "procedure": "procedure_code"}


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass
class Batch:
    """A staged batch as etl.validation writes it, built row by row for a test."""

    run_id: str
    rows: dict[str, list[dict]] = field(default_factory=lambda: {e: [] for e in SCHEMAS})
    manifest_duplicates: dict[tuple[str, str], int] = field(default_factory=dict)
    validation: list[dict] = field(default_factory=list)

    def add(self, entity: str, day: str, *, valid: bool = True, reasons: str | None = None,
            superseded: bool = False, **columns) -> "Batch":
        record = {"entity": entity, **{k: str(v) for k, v in sorted(columns.items())}}
        if not valid:
            record["broken"] = reasons
        text = json.dumps(record, ensure_ascii=False, sort_keys=True)
        key = columns.get(KEY_FIELD[entity])
        self.rows[entity].append({
            **columns,
            "record_key": key if entity != "procedure" else f"{key}|{columns.get('valid_from')}",
            "window_start": ts(f"{day}T00:00:00"),
            "is_valid": valid,
            "reasons": None if valid else reasons,
            "superseded": superseded,
            "record": text,
            "record_hash": hashlib.sha256(text.encode()).hexdigest(),
        })
        return self

    def dossier(self, dossier_id: str, day: str, **columns) -> "Batch":
        defaults = dict(procedure_code="1.001", agency_code="A1", channel_code=2,
                        remote_submission=True, status=4, has_digitized=False,
                        received_at=ts(f"{day}T09:00:00"), updated_at=ts(f"{day}T10:00:00"))
        meta = {k: columns.pop(k) for k in ("valid", "reasons", "superseded") if k in columns}
        return self.add("dossier", day, dossier_id=dossier_id, **{**defaults, **columns}, **meta)

    def payment(self, transaction_id: str, day: str, **columns) -> "Batch":
        defaults = dict(dossier_id="D1", procedure_code="1.001", agency_code="A1",
                        amount_vnd=50_000, fee_type="LE_PHI", payment_method_code="truc-tuyen",
                        payment_portal="DVCQG", status="thanh-cong",
                        transacted_at=ts(f"{day}T11:00:00"), updated_at=ts(f"{day}T11:00:00"))
        meta = {k: columns.pop(k) for k in ("valid", "reasons", "superseded") if k in columns}
        return self.add("payment", day, transaction_id=transaction_id, **{**defaults, **columns}, **meta)

    def agency(self, code: str, day: str, **columns) -> "Batch":
        defaults = dict(agency_name=f"Agency {code}", agency_level="HUYEN",
                        valid_from=date(2020, 1, 1))
        return self.add("agency", day, agency_code=code, **{**defaults, **columns})

    def procedure(self, code: str, day: str, **columns) -> "Batch":
        defaults = dict(procedure_name=f"Procedure {code}", sector_code="S1", sector_name="Sector",
                        agency_levels=["HUYEN", "XA"], service_level="TOAN_TRINH", has_fee=True,
                        online_payment=True, legal_days=5, valid_from=date(2020, 1, 1))
        return self.add("procedure", day, procedure_code=code, **{**defaults, **columns})

    def windows(self) -> list[dict]:
        landed: dict[tuple[str, str], int] = {}
        for entity, rows in self.rows.items():
            for row in rows:
                day = row["window_start"].date().isoformat()
                landed[(entity, day)] = landed.get((entity, day), 0) + 1
        for key in self.manifest_duplicates:
            landed.setdefault(key, 0)
        result = []
        for (entity, day), count in sorted(landed.items()):
            duplicates = self.manifest_duplicates.get((entity, day), 0)
            end = date.fromisoformat(day) + timedelta(days=1)
            result.append({"entity": entity, "window_start": f"{day}T00:00:00+07:00",
                           "window_end": f"{end.isoformat()}T00:00:00+07:00",
                           "extracted": count + duplicates, "duplicates": duplicates})
        return result

    def write(self, root: Path) -> Path:
        batch_dir = root / "staged" / self.run_id
        batch_dir.mkdir(parents=True, exist_ok=True)
        for entity, schema in SCHEMAS.items():
            rows = [{name: row.get(name) for name in schema.names} for row in self.rows[entity]]
            pq.write_table(pa.Table.from_pylist(rows, schema=schema), batch_dir / f"{entity}.parquet")
        (batch_dir / "windows.json").write_text(json.dumps(self.windows()))
        (batch_dir / "validation.json").write_text(json.dumps(self.validation))
        (batch_dir / "batch.json").write_text(json.dumps({"run_id": self.run_id, "manifests": []}))
        return batch_dir


def reference_batch(run_id: str = "run-ref", day: str = "2023-02-01") -> Batch:
    batch = Batch(run_id)
    batch.agency("A1", day).agency("A2", day, agency_level="XA", parent_code="A1")
    batch.procedure("1.001", day).procedure("1.002", day, has_fee=False, service_level="KHONG")
    return batch


WAREHOUSE_TABLES = (
    "core.dim_date", "core.dim_agency", "core.dim_procedure", "core.dim_channel",
    "core.dim_payment_method", "core.fact_dossier", "core.fact_payment", "audit.run_counts",
    "audit.quarantine", "audit.validation_result", "audit.kpi_dirty_period", "mart.kpi_target",
    "mart.kpi_value",
)


def snapshot(db: Path) -> dict[str, list[tuple]]:
    """Full content of every table, in a canonical order."""
    con = warehouse.connect(db, read_only=True)
    try:
        tables = [f"{schema}.{name}" for schema, name in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() ORDER BY ALL").fetchall()]
        assert set(WAREHOUSE_TABLES) <= set(tables)
        return {table: con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall() for table in tables}
    finally:
        con.close()


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = warehouse.connect(db, read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(warehouse=tmp_path / "warehouse" / "tthc.duckdb",
                    raw_dir=tmp_path / "warehouse" / "raw",
                    published=tmp_path / "warehouse" / "published" / "tthc.duckdb")


def clear_dirty(db: Path) -> None:
    with warehouse.open_warehouse(db) as con:
        con.execute("DELETE FROM audit.kpi_dirty_period").fetchall()


def dirty_periods(db: Path) -> set[tuple[str, str]]:
    return {(kind, start.isoformat()) for kind, start in
            query(db, "SELECT period_type, period_start FROM audit.kpi_dirty_period")}


# ---------------------------------------------------------------------------------------------


def test_seed_calendar_and_targets(settings):
    with warehouse.open_warehouse(settings.warehouse):
        pass
    first = snapshot(settings.warehouse)
    with warehouse.open_warehouse(settings.warehouse):
        pass
    assert snapshot(settings.warehouse) == first, "re-running the seed must change nothing"
    db = settings.warehouse
    assert query(db, "SELECT count(*), min(date), max(date) FROM core.dim_date") == [
        (13149, date(2000, 1, 1), date(2035, 12, 31))]
    # Tết 2024 (lunar new year: 10 Feb 2024) and Giỗ Tổ Hùng Vương 2024 (18 Apr 2024).
    rows = dict(query(db, "SELECT date, is_working_day FROM core.dim_date WHERE date IN "
                          "('2024-02-12', '2024-04-18', '2024-04-17', '2024-04-20')"))
    assert rows == {date(2024, 2, 12): False, date(2024, 4, 18): False,
                    date(2024, 4, 17): True, date(2024, 4, 20): False}
    assert query(db, "SELECT holiday_name FROM core.dim_date WHERE date = '2024-02-10'") == [
        ("Tết Nguyên Đán",)]
    assert query(db, "SELECT date_key, quarter_start, iso_day_of_week FROM core.dim_date "
                     "WHERE date = '2023-08-15'") == [(20230815, date(2023, 7, 1), 2)]
    targets = dict(query(db, "SELECT kpi_code, target FROM mart.kpi_target"))
    assert targets == {"ONLINE_REMOTE_RATE": 0.5, "ONLINE_RATE": 1.0, "DIGITIZED_RATE": 0.8,
                       "DVCTT_COVERAGE": 0.8, "FEE_PROC_ONLINE_PAYABLE_RATE": 0.6,
                       "FEE_PROC_WITH_ONLINE_TX_RATE": 0.5, "ONLINE_PAYMENT_TX_RATE": 0.3,
                       "DOSSIER_ONLINE_PAYMENT_RATE": 0.3, "INTERNAL_ONLINE_RATE": 1.0,
                       "PILOT_PAPER_FREE_RATE": 1.0}
    assert query(db, "SELECT channel_code, is_online FROM core.dim_channel ORDER BY 1") == [
        (1, False), (2, True), (3, False)]
    assert query(db, "SELECT payment_method_code FROM core.dim_payment_method WHERE is_online") == [
        ("truc-tuyen",)]


def mixed_batch(run_id: str = "run-1") -> Batch:
    """Reference lists, valid and invalid feed records, superseded states, unknown codes."""
    batch = reference_batch(run_id)
    batch.dossier("D1", "2023-02-01", status=9, finished_at=ts("2023-02-01T16:00:00"))
    batch.dossier("D2", "2023-02-01", channel_code=1, remote_submission=None,
                  updated_at=ts("2023-02-01T08:00:00"), superseded=True)
    batch.dossier("D2", "2023-02-02", channel_code=1, remote_submission=None, status=10,
                  received_at=ts("2023-02-01T09:00:00"), finished_at=ts("2023-02-02T09:00:00"),
                  returned_at=ts("2023-02-02T15:00:00"), return_method=1)
    batch.dossier("D3", "2023-02-02", agency_code="A9", procedure_code="9.999")
    batch.dossier("D4", "2023-02-02", valid=False, reasons="TrangThaiHoSo is not an integer 1…10",
                  status=None)
    batch.dossier(None, "2023-02-02", valid=False, reasons="MaHoSo is empty")
    batch.payment("P1", "2023-02-01", dossier_id="D1")
    batch.payment("P2", "2023-02-02", dossier_id=None, payment_method_code="tien-mat", agency_code=None)
    batch.payment("P3", "2023-02-02", valid=False, reasons="SoTien is negative", amount_vnd=None)
    batch.manifest_duplicates[("dossier", "2023-02-02")] = 2
    batch.validation = [
        {"entity": "dossier", "expectation": "expect_column_values_to_not_be_null",
         "column_name": "dossier_id", "blocking": False, "success": False, "element_count": 6,
         "unexpected_count": 1, "reason": "MaHoSo is empty"},
        {"entity": "payment", "expectation": "expect_table_columns_to_match_set",
         "column_name": "", "blocking": True, "success": True, "element_count": 3,
         "unexpected_count": 0, "reason": None},
    ]
    return batch


def test_load_mixed_batch_counts_quarantine_and_facts(settings, tmp_path):
    batch_dir = mixed_batch().write(tmp_path)
    result = load.load(settings, batch_dir)
    db = settings.warehouse

    assert result.run_id == "run-1"
    assert result.loaded == {"dossier": 3, "payment": 2, "agency": 2, "procedure": 2, "pilot": 0}
    assert result.quarantined == {"dossier": 2, "payment": 1, "agency": 0, "procedure": 0, "pilot": 0}
    assert result.duplicates == {"dossier": 3, "payment": 0, "agency": 0, "procedure": 0, "pilot": 0}
    assert result.applied == {"dossier": 3, "payment": 2}

    counts = query(db, "SELECT entity, window_start, window_end, extracted, loaded, quarantined, "
                       "duplicates FROM audit.run_counts WHERE run_id = 'run-1' ORDER BY 1, 2")
    assert counts == [
        ("agency", ts("2023-02-01T00:00"), ts("2023-02-02T00:00"), 2, 2, 0, 0),
        ("dossier", ts("2023-02-01T00:00"), ts("2023-02-02T00:00"), 2, 1, 0, 1),
        ("dossier", ts("2023-02-02T00:00"), ts("2023-02-03T00:00"), 6, 2, 2, 2),
        ("payment", ts("2023-02-01T00:00"), ts("2023-02-02T00:00"), 1, 1, 0, 0),
        ("payment", ts("2023-02-02T00:00"), ts("2023-02-03T00:00"), 2, 1, 1, 0),
        ("procedure", ts("2023-02-01T00:00"), ts("2023-02-02T00:00"), 2, 2, 0, 0),
    ]
    quarantine = query(db, "SELECT entity, record_key, reasons FROM audit.quarantine ORDER BY ALL")
    assert quarantine == [("dossier", "D4", "TrangThaiHoSo is not an integer 1…10"),
                          ("dossier", None, "MaHoSo is empty"),
                          ("payment", "P3", "SoTien is negative")]
    assert query(db, "SELECT dossier_id, status, received_date_key, finished_date_key, "
                     "returned_date_key FROM core.fact_dossier ORDER BY 1") == [
        ("D1", 9, 20230201, 20230201, None),
        ("D2", 10, 20230201, 20230202, 20230202),
        ("D3", 4, 20230202, None, None)]
    # Unknown codes became inferred members and the fact points at them.
    assert query(db, "SELECT agency_code, is_inferred, agency_name FROM core.dim_agency ORDER BY 1") == [
        ("A1", False, "Agency A1"), ("A2", False, "Agency A2"), ("A9", True, None)]
    assert query(db, "SELECT f.procedure_code, p.is_inferred, a.agency_code FROM core.fact_dossier f "
                     "JOIN core.dim_procedure p USING (procedure_sk) "
                     "JOIN core.dim_agency a USING (agency_sk) WHERE dossier_id = 'D3'") == [
        ("9.999", True, "A9")]
    assert query(db, "SELECT transaction_id, dossier_id, agency_sk, transacted_date_key "
                     "FROM core.fact_payment ORDER BY 1")[1] == ("P2", None, None, 20230202)
    assert query(db, "SELECT count(*), count(*) FILTER (WHERE blocking) FROM audit.validation_result") == [(2, 1)]


def test_reloading_the_same_batch_leaves_every_table_identical(settings, tmp_path):
    batch_dir = mixed_batch().write(tmp_path)
    load.load(settings, batch_dir)
    first = snapshot(settings.warehouse)
    assert first["core.fact_dossier"] and first["audit.quarantine"] and first["audit.kpi_dirty_period"]
    again = load.load(settings, batch_dir)
    assert snapshot(settings.warehouse) == first
    assert again.reference_changed is False


def test_older_batch_replayed_after_newer_keeps_newer_state(settings, tmp_path):
    old = reference_batch("run-old").dossier("D1", "2023-02-01", status=4)
    old.payment("P1", "2023-02-01", dossier_id="D1", status="khoi-tao")
    new = Batch("run-new").dossier("D1", "2023-02-05", status=9, received_at=ts("2023-02-01T09:00:00"),
                                   finished_at=ts("2023-02-05T08:00:00"))
    new.payment("P1", "2023-02-05", dossier_id="D1", status="thanh-cong",
                transacted_at=ts("2023-02-01T11:00:00"))
    load.load(settings, old.write(tmp_path))
    load.load(settings, new.write(tmp_path))
    replay = load.load(settings, old.write(tmp_path))

    assert replay.applied == {"dossier": 0, "payment": 0}
    assert query(settings.warehouse, "SELECT status, finished_date_key, run_id FROM core.fact_dossier") == [
        (9, 20230205, "run-new")]
    assert query(settings.warehouse, "SELECT status, run_id FROM core.fact_payment") == [
        ("thanh-cong", "run-new")]


def test_invalid_later_state_keeps_last_valid_fact_and_is_quarantined(settings, tmp_path):
    first = reference_batch("run-1").dossier("D1", "2023-02-01", status=4)
    later = Batch("run-2").dossier("D1", "2023-02-03", valid=False, status=None,
                                   reasons="NgayKetThucXuLy cannot be parsed: '31/02/2023 10:00:00'",
                                   updated_at=ts("2023-02-03T10:00:00"))
    load.load(settings, first.write(tmp_path))
    result = load.load(settings, later.write(tmp_path))
    assert result.quarantined == {"dossier": 1, "payment": 0, "agency": 0, "procedure": 0, "pilot": 0}
    assert result.loaded == {"dossier": 0, "payment": 0, "agency": 0, "procedure": 0, "pilot": 0}
    assert query(settings.warehouse, "SELECT status, updated_at, run_id FROM core.fact_dossier") == [
        (4, ts("2023-02-01T10:00:00"), "run-1")]
    assert query(settings.warehouse, "SELECT run_id, record_key, reasons FROM audit.quarantine") == [
        ("run-2", "D1", "NgayKetThucXuLy cannot be parsed: '31/02/2023 10:00:00'")]


def test_inferred_members_completed_in_place_and_facts_re_resolved(settings, tmp_path):
    feeds = Batch("run-feeds")
    feeds.dossier("D-old", "2023-02-01", agency_code="NEW.AG", procedure_code="2.000",
                  received_at=ts("2022-06-01T09:00:00"))
    feeds.dossier("D-new", "2023-02-01", agency_code="NEW.AG", procedure_code="2.000",
                  received_at=ts("2023-02-01T09:00:00"))
    load.load(settings, feeds.write(tmp_path))
    db = settings.warehouse
    (agency_sk,), = query(db, "SELECT agency_sk FROM core.dim_agency WHERE agency_code = 'NEW.AG'")
    (inferred_sk,), = query(db, "SELECT procedure_sk FROM core.dim_procedure WHERE procedure_code = '2.000'")
    assert query(db, "SELECT DISTINCT procedure_sk FROM core.fact_dossier") == [(inferred_sk,)]

    # The catalogue arrives: two versions, the upgrade to full-process online on 2023-01-01.
    refs = Batch("run-refs")
    refs.agency("NEW.AG", "2023-02-02", agency_name="Phường Mới", agency_level="XA")
    refs.procedure("2.000", "2023-02-02", valid_from=date(2020, 1, 1), valid_to=date(2022, 12, 31),
                   service_level="MOT_PHAN")
    refs.procedure("2.000", "2023-02-02", valid_from=date(2023, 1, 1), service_level="TOAN_TRINH")
    result = load.load(settings, refs.write(tmp_path))
    assert result.reference_changed

    assert query(db, "SELECT agency_sk, agency_name, is_inferred FROM core.dim_agency "
                     "WHERE agency_code = 'NEW.AG'") == [(agency_sk, "Phường Mới", False)]
    versions = query(db, "SELECT procedure_sk, valid_from, service_level, is_inferred "
                         "FROM core.dim_procedure WHERE procedure_code = '2.000' ORDER BY valid_from")
    assert len(versions) == 2 and not any(v[3] for v in versions)
    assert versions[0][:3] == (inferred_sk, date(2020, 1, 1), "MOT_PHAN"), "completed in place"
    by_dossier = dict(query(db, "SELECT dossier_id, procedure_sk FROM core.fact_dossier"))
    assert by_dossier == {"D-old": versions[0][0], "D-new": versions[1][0]}


def test_procedure_resolution_by_received_date_and_gaps(settings, tmp_path):
    batch = Batch("run-1")
    batch.procedure("3.000", "2023-02-01", valid_from=date(2021, 1, 1), valid_to=date(2021, 12, 31))
    batch.procedure("3.000", "2023-02-01", valid_from=date(2023, 1, 1))
    batch.dossier("in-v1", "2023-02-01", procedure_code="3.000", received_at=ts("2021-12-31T23:59:00"))
    batch.dossier("in-gap", "2023-02-01", procedure_code="3.000", received_at=ts("2022-07-01T09:00:00"))
    batch.dossier("in-v2", "2023-02-01", procedure_code="3.000", received_at=ts("2023-01-01T00:00:00"))
    batch.dossier("not-received", "2023-02-01", procedure_code="3.000", received_at=None, status=1)
    load.load(settings, batch.write(tmp_path))
    rows = query(settings.warehouse,
                 "SELECT f.dossier_id, p.valid_from FROM core.fact_dossier f "
                 "LEFT JOIN core.dim_procedure p USING (procedure_sk) ORDER BY 1")
    assert rows == [("in-gap", None), ("in-v1", date(2021, 1, 1)), ("in-v2", date(2023, 1, 1)),
                    ("not-received", None)]


def test_overlapping_versions_after_a_re_keyed_version_are_reported(settings, tmp_path, caplog):
    first = Batch("run-1").procedure("4.000", "2023-02-01", valid_from=date(2021, 1, 1))
    assert load.load(settings, first.write(tmp_path)).overlapping_procedures == ()
    rekeyed = Batch("run-2").procedure("4.000", "2023-02-02", valid_from=date(2021, 3, 1))
    result = load.load(settings, rekeyed.write(tmp_path))
    assert result.overlapping_procedures == ("4.000",)
    assert "overlapping versions" in caplog.text and "4.000" in caplog.text
    assert query(settings.warehouse, "SELECT count(*) FROM core.dim_procedure "
                                     "WHERE procedure_code = '4.000'") == [(2,)], "history is kept"


def unbalanced_batch(tmp_path: Path) -> Path:
    """The mixed batch with one record lost: its counts do not balance."""
    batch_dir = mixed_batch("run-bad").write(tmp_path)
    windows = json.loads((batch_dir / "windows.json").read_text())
    windows[1]["extracted"] += 1
    (batch_dir / "windows.json").write_text(json.dumps(windows))
    return batch_dir


def test_unbalanced_counts_raise_and_leave_the_warehouse_unchanged(settings, tmp_path):
    load.load(settings, reference_batch("run-0").write(tmp_path))
    before = snapshot(settings.warehouse)
    batch_dir = unbalanced_batch(tmp_path)
    with pytest.raises(load.LoadError, match=r"counts do not balance for dossier window 2023-02-01.*extracted 3"):
        load.load(settings, batch_dir)
    assert snapshot(settings.warehouse) == before


class SettingRecorder:
    """A DuckDB connection that notes the `threads` setting each statement ran with."""

    def __init__(self, con):
        self.con, self.ran = con, []

    def execute(self, sql, *args):
        threads = self.con.execute("SELECT current_setting('threads')").fetchall()[0][0]
        self.ran.append((threads, " ".join(sql.split())))
        return self.con.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self.con, name)


def test_a_load_runs_on_one_thread_and_gives_the_connection_its_threads_back(settings, tmp_path):
    # One thread keeps DuckDB writing the facts' row groups as they fill (etl/load.py _one_thread).
    with warehouse.open_warehouse(settings.warehouse) as con:
        con.execute("SET threads = 3")
        recorder = SettingRecorder(con)
        with warehouse.transaction(con):
            load.load_batch(recorder, mixed_batch().write(tmp_path))
        assert con.execute("SELECT current_setting('threads')").fetchall() == [(3,)]
        sql_files = [(threads, sql) for threads, sql in recorder.ran
                     if "current_setting('threads')" not in sql and not sql.startswith("SET threads")]
        assert len(sql_files) > 10 and {threads for threads, _ in sql_files} == {1}
        assert con.execute("SELECT count(*) FROM core.fact_dossier").fetchall() == [(3,)]

        # A failing load keeps its own error: the SET that gives the threads back is refused in
        # the aborted transaction and must not replace it.
        with pytest.raises(load.LoadError, match="counts do not balance"):
            with warehouse.transaction(con):
                load.load_batch(con, unbalanced_batch(tmp_path))


def test_batch_contract_violations_are_clear_errors(settings, tmp_path):
    twice = Batch("run-twice").dossier("D1", "2023-02-01").dossier("D1", "2023-02-02")
    with pytest.raises(load.LoadError, match="dossier D1 has 2 valid rows not marked superseded"):
        load.load(settings, twice.write(tmp_path))
    unlisted = Batch("run-unlisted").dossier("D1", "2023-02-01")
    batch_dir = unlisted.write(tmp_path)
    (batch_dir / "windows.json").write_text("[]")
    with pytest.raises(load.LoadError, match="window 2023-02-01 00:00:00 which windows.json does not list"):
        load.load(settings, batch_dir)
    (batch_dir / "dossier.parquet").unlink()
    (batch_dir / "windows.json").write_text(json.dumps(unlisted.windows()))
    with pytest.raises(load.LoadError, match="dossier.parquet is missing"):
        load.load(settings, batch_dir)


def test_dirty_periods_cover_old_and_new_states(settings, tmp_path):
    db = settings.warehouse
    first = reference_batch("run-1")
    first.dossier("D1", "2023-03-30", received_at=ts("2023-03-30T09:00:00"))
    first.dossier("D2", "2022-12-20", received_at=ts("2022-12-20T09:00:00"))
    load.load(settings, first.write(tmp_path))
    assert dirty_periods(db) == {("month", "2023-03-01"), ("quarter", "2023-01-01"),
                                 ("month", "2022-12-01"), ("quarter", "2022-10-01"),
                                 ("year", "2023-01-01"), ("year", "2022-01-01")}
    clear_dirty(db)

    # D1's reception date is corrected to April: March (old state) must be rebuilt as well.
    moved = Batch("run-2").dossier("D1", "2023-04-02", received_at=ts("2023-04-01T09:00:00"))
    result = load.load(settings, moved.write(tmp_path))
    assert dirty_periods(db) == {("month", "2023-03-01"), ("month", "2023-04-01"),
                                 ("quarter", "2023-01-01"), ("quarter", "2023-04-01"),
                                 ("year", "2023-01-01")}
    assert result.dirty_periods == 5
    clear_dirty(db)

    # A refund in May of a payment for D2 (received December 2022): May, and December through
    # the dossier, and the payment's old state (transacted in January).
    pay = Batch("run-3").payment("P1", "2023-01-10", dossier_id="D2", status="thanh-cong",
                                 transacted_at=ts("2023-01-10T10:00:00"))
    load.load(settings, pay.write(tmp_path))
    clear_dirty(db)
    refund = Batch("run-4").payment("P1", "2023-05-02", dossier_id="D2", status="hoan-phi",
                                    transacted_at=ts("2023-05-02T10:00:00"))
    load.load(settings, refund.write(tmp_path))
    assert dirty_periods(db) == {("month", "2023-05-01"), ("month", "2023-01-01"),
                                 ("month", "2022-12-01"), ("quarter", "2023-04-01"),
                                 ("quarter", "2023-01-01"), ("quarter", "2022-10-01"),
                                 ("year", "2023-01-01"), ("year", "2022-01-01")}
    clear_dirty(db)

    # An unchanged reference list touches nothing; a changed one marks every period with data.
    load.load(settings, reference_batch("run-5", day="2023-06-01").write(tmp_path))
    assert dirty_periods(db) == set()
    changed = reference_batch("run-6", day="2023-06-02")
    changed.rows["agency"][0]["valid_to"] = date(2025, 6, 30)
    assert load.load(settings, changed.write(tmp_path)).reference_changed
    assert {p for p in dirty_periods(db) if p[0] == "month"} == {
        ("month", "2022-12-01"), ("month", "2023-04-01"), ("month", "2023-05-01")}


KILL_SCRIPT = """
import sys, time
from pathlib import Path
from etl import load, warehouse
with warehouse.open_warehouse(Path(sys.argv[1])) as con:
    with warehouse.transaction(con):
        print("loading", flush=True)
        load.load_batch(con, Path(sys.argv[2]))
        print("loaded, not committed", flush=True)
        time.sleep(120)
"""


@pytest.mark.parametrize("kill_at", ["mid-load", "before-commit"])
def test_sigkill_during_load_leaves_the_warehouse_as_before(settings, tmp_path, kill_at):
    load.load(settings, reference_batch("run-0").write(tmp_path))
    before = snapshot(settings.warehouse)
    dossiers = 100_000 if kill_at == "mid-load" else 10_000  # ~0.5 s of loading to kill in
    batch_dir = synthetic_batch(tmp_path, "run-big", dossiers=dossiers, payments=dossiers // 3)
    process = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(settings.warehouse), str(batch_dir)],
                               cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "loading"
        if kill_at == "mid-load":
            time.sleep(0.1)  # 0.5 s came after the load had ended on a fast machine
        else:
            assert process.stdout.readline().strip() == "loaded, not committed"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        remaining = process.stdout.read()
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    if kill_at == "mid-load":
        assert "loaded" not in remaining, "the load finished before the kill: make the batch bigger"
    assert snapshot(settings.warehouse) == before
    result = load.load(settings, batch_dir)
    valid = sum(1 for i in range(dossiers) if i % 200 != 7)
    assert result.applied["dossier"] == valid
    assert query(settings.warehouse, "SELECT count(*) FROM core.fact_dossier") == [(valid,)]


# ---------------------------------------------------------------------------------------------
# Synthetic staged batches of any size, generated in DuckDB (also used for the load benchmark).

SYNTHETIC_SQL = {
    "dossier": """
        SELECT 'D' || i AS dossier_id, '1.' || lpad(CAST(i % 400 AS VARCHAR), 3, '0') AS procedure_code,
               'AG' || (i % 120) AS agency_code, CAST(1 + i % 3 AS SMALLINT) AS channel_code,
               i % 2 = 0 AS remote_submission, 'CONG_DAN' AS applicant_type,
               md5(CAST(i AS VARCHAR)) AS applicant_key,
               day + INTERVAL 8 HOUR AS submitted_at, day + INTERVAL 9 HOUR AS received_at,
               day + INTERVAL 10 DAY AS due_at,
               CASE WHEN i % 4 > 0 THEN day + INTERVAL 3 DAY END AS finished_at,
               CASE WHEN i % 4 = 3 THEN day + INTERVAL 4 DAY END AS returned_at,
               day + INTERVAL 20 HOUR AS updated_at,
               CAST(CASE i % 4 WHEN 0 THEN 4 WHEN 3 THEN 10 ELSE 9 END AS SMALLINT) AS status,
               CAST(i % 2 AS SMALLINT) AS return_method, i % 5 > 0 AS has_digitized,
               i % 3 = 0 AS result_digitized,
               'D' || i AS record_key, day AS window_start, i % 200 <> 7 AS is_valid,
               CASE WHEN i % 200 = 7 THEN 'TrangThaiHoSo is not an integer 1…10' END AS reasons,
               FALSE AS superseded, '{"MaHoSo": "D' || i || '"}' AS record,
               sha256('D' || i) AS record_hash
        FROM (SELECT i, TIMESTAMP '{start}' + to_days(CAST(i % {days} AS INTEGER)) AS day
              FROM range({n}) AS t(i))""",
    "payment": """
        SELECT 'P' || i AS transaction_id, 'D' || (i * 2) AS dossier_id,
               '1.' || lpad(CAST((i * 2) % 400 AS VARCHAR), 3, '0') AS procedure_code,
               'AG' || ((i * 2) % 120) AS agency_code, CAST(10000 + i % 90 * 1000 AS BIGINT) AS amount_vnd,
               'LE_PHI' AS fee_type,
               ['truc-tuyen', 'tien-mat', 'chuyen-khoan'][1 + i % 3] AS payment_method_code,
               CASE WHEN i % 3 = 0 THEN 'DVCQG' END AS payment_portal, 'thanh-cong' AS status,
               day + INTERVAL 11 HOUR AS transacted_at, day + INTERVAL 21 HOUR AS updated_at,
               'P' || i AS record_key, day AS window_start, TRUE AS is_valid, NULL AS reasons,
               FALSE AS superseded, '{"MaGiaoDich": "P' || i || '"}' AS record,
               sha256('P' || i) AS record_hash
        FROM (SELECT i, TIMESTAMP '{start}' + to_days(CAST((i * 2) % {days} AS INTEGER)) AS day
              FROM range({n}) AS t(i))""",
    "agency": """
        SELECT 'AG' || i AS agency_code, 'Đơn vị ' || i AS agency_name,
               CASE WHEN i < 20 THEN 'TINH' WHEN i < 40 THEN 'HUYEN' ELSE 'XA' END AS agency_level,
               NULL AS parent_code, DATE '2015-01-01' AS valid_from, NULL::DATE AS valid_to,
               NULL AS successor_code, 'AG' || i AS record_key, TIMESTAMP '{start}' AS window_start,
               TRUE AS is_valid, NULL AS reasons, FALSE AS superseded,
               '{"MaDonVi": "AG' || i || '"}' AS record, sha256('AG' || i) AS record_hash
        FROM range(120) AS t(i)""",
    "procedure": """
        SELECT '1.' || lpad(CAST(i AS VARCHAR), 3, '0') AS procedure_code,
               DATE '2015-01-01' AS valid_from, NULL::DATE AS valid_to, 'Thủ tục ' || i AS procedure_name,
               'S' || (i % 12) AS sector_code, 'Lĩnh vực ' || (i % 12) AS sector_name,
               ['HUYEN', 'XA'] AS agency_levels,
               ['TOAN_TRINH', 'MOT_PHAN', 'KHONG'][1 + i % 3] AS service_level,
               i % 2 = 0 AS has_fee, i % 4 = 0 AS online_payment, CAST(5 + i % 10 AS INTEGER) AS legal_days,
               i % 10 = 0 AS is_internal,
               '1.' || i AS record_key, TIMESTAMP '{start}' AS window_start, TRUE AS is_valid,
               NULL AS reasons, FALSE AS superseded, '{"MaTTHC": "' || i || '"}' AS record,
               sha256('1.' || i) AS record_hash
        FROM range(380) AS t(i)""",
}


def synthetic_batch(root: Path, run_id: str, *, dossiers: int, payments: int,
                    start: str = "2023-01-01", days: int = 31) -> Path:
    """A staged batch of `days` daily windows; ~0.5 % invalid dossiers; 20 procedure codes and
    no agencies are missing from the reference lists (inferred members)."""
    import duckdb

    batch_dir = root / "staged" / run_id
    batch_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        sizes = {"dossier": dossiers, "payment": payments, "agency": 120, "procedure": 380}
        windows = []
        for entity, sql in SYNTHETIC_SQL.items():
            select = sql.replace("{start}", start).replace("{days}", str(days)).replace("{n}", str(sizes[entity]))
            con.execute(f"COPY ({select}) TO '{batch_dir / (entity + '.parquet')}' (FORMAT parquet)")
            for (window_start, count) in con.execute(
                    f"SELECT window_start, count(*) FROM '{batch_dir / (entity + '.parquet')}' "
                    "GROUP BY 1 ORDER BY 1").fetchall():
                windows.append({"entity": entity, "window_start": window_start.isoformat() + "+07:00",
                                "window_end": (window_start + timedelta(days=1)).isoformat() + "+07:00",
                                "extracted": count, "duplicates": 0})
    finally:
        con.close()
    (batch_dir / "windows.json").write_text(json.dumps(windows))
    (batch_dir / "validation.json").write_text("[]")
    (batch_dir / "batch.json").write_text(json.dumps({"run_id": run_id, "manifests": []}))
    return batch_dir


def test_synthetic_month_loads_and_balances(settings, tmp_path):
    batch_dir = synthetic_batch(tmp_path, "run-synthetic", dossiers=5_000, payments=2_000)
    started = time.perf_counter()
    result = load.load(settings, batch_dir)
    elapsed = time.perf_counter() - started
    invalid = sum(1 for i in range(5_000) if i % 200 == 7)
    assert result.quarantined["dossier"] == invalid
    assert result.loaded["dossier"] == 5_000 - invalid
    assert query(settings.warehouse, "SELECT count(*) FROM core.dim_procedure WHERE is_inferred") == [(20,)]
    assert query(settings.warehouse, "SELECT count(*) FROM audit.run_counts "
                                     "WHERE extracted <> loaded + quarantined + duplicates") == [(0,)]
    # Received in January, finished or returned up to 4 days later: January and February,
    # the first quarter, the year.
    assert dirty_periods(settings.warehouse) == {("month", "2023-01-01"), ("month", "2023-02-01"),
                                                 ("quarter", "2023-01-01"), ("year", "2023-01-01")}
    assert elapsed < 30


# ---------------------------------------------------------------------------------------------
# End to end: the emulator over HTTP → landing → validation → load.


def land_and_validate(settings: Settings, days: list[str], reference_day: str) -> Path:
    from etl import landing, validation

    manifests = [landing.land_window(settings, entity, day)
                 for entity in ("dossier", "payment") for day in days]
    manifests += [landing.land_window(settings, entity, reference_day) for entity in ("agency", "procedure")]
    return validation.validate(settings, manifests)


def test_end_to_end_from_the_emulator(emulator, settings_for):
    import requests

    settings = settings_for(emulator)
    batch_dir = land_and_validate(settings, ["2023-02-13", "2023-02-14"], "2023-02-14")
    result = load.load(settings, batch_dir)
    db = settings.warehouse

    windows = json.loads((batch_dir / "windows.json").read_text())
    counts = query(db, "SELECT entity, window_start, extracted, loaded, quarantined, duplicates "
                       "FROM audit.run_counts WHERE run_id = ?", [result.run_id])
    assert len(counts) == len(windows) == 6
    assert sorted((c[0], c[2]) for c in counts) == sorted((w["entity"], w["extracted"]) for w in windows)
    assert all(extracted == loaded + quarantined + duplicates
               for _, _, extracted, loaded, quarantined, duplicates in counts)
    assert result.loaded["dossier"] > 40 and result.quarantined["dossier"] < result.loaded["dossier"]
    assert query(db, "SELECT count(*) FROM core.fact_dossier") == [(result.loaded["dossier"],)]
    assert query(db, "SELECT count(*) FROM core.fact_payment") == [(result.loaded["payment"],)]
    assert query(db, "SELECT count(*) FROM audit.quarantine") == [(sum(result.quarantined.values()),)]

    # The agency dimension is the API's list (codes trimmed) plus inferred members for exactly
    # the codes the facts use that the list lacks.
    listed = {a["MaDonVi"].strip() for a in requests.get(
        f"{emulator.url}/api/v1/donvi", headers={"Authorization": f"Bearer {emulator.token}"},
        timeout=30).json()["duLieu"]}
    dims = dict(query(db, "SELECT agency_code, is_inferred FROM core.dim_agency"))
    assert {code for code, inferred in dims.items() if not inferred} == listed
    used = {code for code, in query(db, "SELECT agency_code FROM core.fact_dossier UNION "
                                        "SELECT agency_code FROM core.fact_payment")} - {None}
    assert {code for code, inferred in dims.items() if inferred} == used - listed
    assert query(db, "SELECT count(*) FROM core.fact_dossier f JOIN core.dim_agency a "
                     "USING (agency_sk) WHERE a.agency_code <> f.agency_code") == [(0,)]
    assert query(db, "SELECT count(*) FROM audit.validation_result WHERE run_id = ?",
                 [result.run_id])[0][0] > 10

    first = snapshot(db)
    load.load(settings, batch_dir)
    assert snapshot(db) == first


def test_end_to_end_nightly_updates_and_replay(emulator_factory, settings_for):
    emu = emulator_factory(seed=11, start="2023-01-01", end="2023-03-01", dossiers_per_day=25,
                           extra=["--now", "2023-01-08"])
    settings = settings_for(emu)
    db = settings.warehouse
    early = land_and_validate(settings, ["2023-01-05", "2023-01-06", "2023-01-07"], "2023-01-07")
    load.load(settings, early)
    states_before = dict(query(db, "SELECT dossier_id, updated_at FROM core.fact_dossier"))

    emu.control("clock", {"now": "2023-01-15T00:00:00+07:00"})
    late = land_and_validate(settings, [f"2023-01-{day:02d}" for day in range(8, 15)], "2023-01-14")
    result = load.load(settings, late)
    states_after = dict(query(db, "SELECT dossier_id, updated_at FROM core.fact_dossier"))
    progressed = [key for key, at in states_before.items() if states_after[key] > at]
    assert progressed, "dossiers received early must have moved on (processed, returned) later"
    assert result.applied["dossier"] == result.loaded["dossier"]
    assert set(states_before) <= set(states_after)

    # Replaying the early batch (e.g. a backfill re-run) must not take any dossier back.
    facts = "SELECT * EXCLUDE (run_id) FROM core.fact_{} ORDER BY ALL"
    newest = [query(db, facts.format(entity)) for entity in ("dossier", "payment")]
    replay = load.load(settings, early)
    assert [query(db, facts.format(entity)) for entity in ("dossier", "payment")] == newest
    assert replay.applied["dossier"] < replay.loaded["dossier"]
