"""The star-schema load: real DuckDB files, staged batches written as the validation stage does.

Most tests build small staged batches by hand (parquet + JSON in the documented format), which is
this stage's real input; the end-to-end test produces one from the emulator through landing and
validation.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from etl import load, pipeline, warehouse
from etl.config import Settings
from support import REPO_ROOT
from support.load_batches import (
    Batch, clear_dirty, dirty_periods, query, reference_batch, snapshot, synthetic_batch, ts,
)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(warehouse=tmp_path / "warehouse" / "tthc.duckdb",
                    raw_dir=tmp_path / "warehouse" / "raw",
                    published=tmp_path / "warehouse" / "published" / "tthc.duckdb")

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
    result = pipeline.load(settings, batch_dir)
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
    pipeline.load(settings, batch_dir)
    first = snapshot(settings.warehouse)
    assert first["core.fact_dossier"] and first["audit.quarantine"] and first["audit.kpi_dirty_period"]
    again = pipeline.load(settings, batch_dir)
    assert snapshot(settings.warehouse) == first
    assert again.reference_changed is False


def test_older_batch_replayed_after_newer_keeps_newer_state(settings, tmp_path):
    old = reference_batch("run-old").dossier("D1", "2023-02-01", status=4)
    old.payment("P1", "2023-02-01", dossier_id="D1", status="khoi-tao")
    new = Batch("run-new").dossier("D1", "2023-02-05", status=9, received_at=ts("2023-02-01T09:00:00"),
                                   finished_at=ts("2023-02-05T08:00:00"))
    new.payment("P1", "2023-02-05", dossier_id="D1", status="thanh-cong",
                transacted_at=ts("2023-02-01T11:00:00"))
    pipeline.load(settings, old.write(tmp_path))
    pipeline.load(settings, new.write(tmp_path))
    replay = pipeline.load(settings, old.write(tmp_path))

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
    pipeline.load(settings, first.write(tmp_path))
    result = pipeline.load(settings, later.write(tmp_path))
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
    pipeline.load(settings, feeds.write(tmp_path))
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
    result = pipeline.load(settings, refs.write(tmp_path))
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
    pipeline.load(settings, batch.write(tmp_path))
    rows = query(settings.warehouse,
                 "SELECT f.dossier_id, p.valid_from FROM core.fact_dossier f "
                 "LEFT JOIN core.dim_procedure p USING (procedure_sk) ORDER BY 1")
    assert rows == [("in-gap", None), ("in-v1", date(2021, 1, 1)), ("in-v2", date(2023, 1, 1)),
                    ("not-received", None)]


def test_overlapping_versions_after_a_re_keyed_version_are_reported(settings, tmp_path, caplog):
    first = Batch("run-1").procedure("4.000", "2023-02-01", valid_from=date(2021, 1, 1))
    assert pipeline.load(settings, first.write(tmp_path)).overlapping_procedures == ()
    rekeyed = Batch("run-2").procedure("4.000", "2023-02-02", valid_from=date(2021, 3, 1))
    result = pipeline.load(settings, rekeyed.write(tmp_path))
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
    pipeline.load(settings, reference_batch("run-0").write(tmp_path))
    before = snapshot(settings.warehouse)
    batch_dir = unbalanced_batch(tmp_path)
    with pytest.raises(load.LoadError, match=r"counts do not balance for dossier window 2023-02-01.*extracted 3"):
        pipeline.load(settings, batch_dir)
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
        pipeline.load(settings, twice.write(tmp_path))
    unlisted = Batch("run-unlisted").dossier("D1", "2023-02-01")
    batch_dir = unlisted.write(tmp_path)
    (batch_dir / "windows.json").write_text("[]")
    with pytest.raises(load.LoadError, match="window 2023-02-01 00:00:00 which windows.json does not list"):
        pipeline.load(settings, batch_dir)
    (batch_dir / "dossier.parquet").unlink()
    (batch_dir / "windows.json").write_text(json.dumps(unlisted.windows()))
    with pytest.raises(load.LoadError, match="dossier.parquet is missing"):
        pipeline.load(settings, batch_dir)


def test_dirty_periods_cover_old_and_new_states(settings, tmp_path):
    db = settings.warehouse
    first = reference_batch("run-1")
    first.dossier("D1", "2023-03-30", received_at=ts("2023-03-30T09:00:00"))
    first.dossier("D2", "2022-12-20", received_at=ts("2022-12-20T09:00:00"))
    pipeline.load(settings, first.write(tmp_path))
    assert dirty_periods(db) == {("month", "2023-03-01"), ("quarter", "2023-01-01"),
                                 ("month", "2022-12-01"), ("quarter", "2022-10-01"),
                                 ("year", "2023-01-01"), ("year", "2022-01-01")}
    clear_dirty(db)

    # D1's reception date is corrected to April: March (old state) must be rebuilt as well.
    moved = Batch("run-2").dossier("D1", "2023-04-02", received_at=ts("2023-04-01T09:00:00"))
    result = pipeline.load(settings, moved.write(tmp_path))
    assert dirty_periods(db) == {("month", "2023-03-01"), ("month", "2023-04-01"),
                                 ("quarter", "2023-01-01"), ("quarter", "2023-04-01"),
                                 ("year", "2023-01-01")}
    assert result.dirty_periods == 5
    clear_dirty(db)

    # A refund in May of a payment for D2 (received December 2022): May, and December through
    # the dossier, and the payment's old state (transacted in January).
    pay = Batch("run-3").payment("P1", "2023-01-10", dossier_id="D2", status="thanh-cong",
                                 transacted_at=ts("2023-01-10T10:00:00"))
    pipeline.load(settings, pay.write(tmp_path))
    clear_dirty(db)
    refund = Batch("run-4").payment("P1", "2023-05-02", dossier_id="D2", status="hoan-phi",
                                    transacted_at=ts("2023-05-02T10:00:00"))
    pipeline.load(settings, refund.write(tmp_path))
    assert dirty_periods(db) == {("month", "2023-05-01"), ("month", "2023-01-01"),
                                 ("month", "2022-12-01"), ("quarter", "2023-04-01"),
                                 ("quarter", "2023-01-01"), ("quarter", "2022-10-01"),
                                 ("year", "2023-01-01"), ("year", "2022-01-01")}
    clear_dirty(db)

    # An unchanged reference list touches nothing; a changed one marks every period with data.
    pipeline.load(settings, reference_batch("run-5", day="2023-06-01").write(tmp_path))
    assert dirty_periods(db) == set()
    changed = reference_batch("run-6", day="2023-06-02")
    changed.rows["agency"][0]["valid_to"] = date(2025, 6, 30)
    assert pipeline.load(settings, changed.write(tmp_path)).reference_changed
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
    pipeline.load(settings, reference_batch("run-0").write(tmp_path))
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
    result = pipeline.load(settings, batch_dir)
    valid = sum(1 for i in range(dossiers) if i % 200 != 7)
    assert result.applied["dossier"] == valid
    assert query(settings.warehouse, "SELECT count(*) FROM core.fact_dossier") == [(valid,)]
