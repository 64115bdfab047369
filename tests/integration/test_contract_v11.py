"""Source contract v1.1: NoiBo and KetQuaSoHoa are optional, read as false / 0 when empty or
unreadable (a warning, never an invalid record), and a warehouse made before v1.1 upgrades in
place."""
from __future__ import annotations

import json

import duckdb
import pytest

from etl import kpi, load, validation, warehouse
from support import FIXTURES_DIR
from support.validation_data import ABSENT, dossier, land, procedure, read_parquet, settings_in

# A frozen copy of the DDL before v1.1 (commit 628bf60): the shape of warehouses in the field.
DDL_V1_0 = FIXTURES_DIR / "ddl_v1_0"

KET_QUA = {"kq-1": ("1", True), "kq-int": (1, True), "kq-0": ("0", False), "kq-absent": (ABSENT, False),
           "kq-null": (None, False), "kq-blank": (" ", False), "kq-2": ("2", False), "kq-text": ("có", False)}
NOI_BO = {"1.000001": (True, True), "1.000002": (False, False), "1.000003": (None, False),
          "1.000004": (ABSENT, False), "1.000005": ("x", False), "1.000006": ("true", False), "1.000007": (" ", False)}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("v11")
    raw = root / "raw"
    dossiers = [dossier(key, KetQuaSoHoa=value, TrangThaiHoSo=10, NgayTra="20230205100000",
                        NgayKetThucXuLy="20230204100000") for key, (value, _) in KET_QUA.items()]
    procedures = [procedure(code, NoiBo=value) for code, (value, _) in NOI_BO.items()]
    manifests = [land(raw, "dossier", "2023-02-01", dossiers),
                 land(raw, "procedure", "2023-02-01", procedures)]
    settings = settings_in(root)
    out = validation.validate(settings, manifests)
    return {"dir": out, "settings": settings,
            "dossier": {r["dossier_id"]: r for r in read_parquet(out / "dossier.parquet")},
            "procedure": {r["procedure_code"]: r for r in read_parquet(out / "procedure.parquet")},
            "results": json.loads((out / "validation.json").read_text(encoding="utf-8"))}


def test_ket_qua_so_hoa_reads_as_a_flag_and_never_invalidates(batch):
    for key, (_, expected) in KET_QUA.items():
        row = batch["dossier"][key]
        assert row["is_valid"] and row["result_digitized"] is expected, key
    checks = [r for r in batch["results"] if r["column_name"].startswith("result_digitized_code")]
    assert sum(c["unexpected_count"] for c in checks) == 2  # "2" and "có" only
    assert checks and not any(c["blocking"] for c in checks)


def test_noi_bo_reads_as_a_flag_and_never_invalidates(batch):
    for code, (_, expected) in NOI_BO.items():
        row = batch["procedure"][code]
        assert row["is_valid"] and row["is_internal"] is expected, code
    (check,) = [r for r in batch["results"] if r["column_name"] == "NoiBo_json_type"]
    assert check["unexpected_count"] == 2 and not check["blocking"]  # "x" and the string "true"


def test_the_new_fields_are_not_required(batch):
    meta = validation.load_suite_document("dossier")["meta"]["required_fields"]
    assert "KetQuaSoHoa" not in meta
    assert "NoiBo" not in validation.load_suite_document("procedure")["meta"]["required_fields"]


def test_a_warehouse_made_before_v11_upgrades_in_place_and_keeps_its_rows(batch, tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    for name in sorted(DDL_V1_0.glob("*.sql")):
        con.execute(name.read_text(encoding="utf-8"))
    con.execute("INSERT INTO core.dim_agency (agency_code, agency_name) VALUES ('000.00.04.G18', 'Sở')")
    con.execute("""INSERT INTO core.fact_dossier (dossier_id, procedure_code, agency_code, agency_sk,
                   channel_code, received_at, status, updated_at, run_id)
                   VALUES ('old-1', '1.000001', '000.00.04.G18', 1, 2, TIMESTAMP '2023-01-10 09:00',
                           4, TIMESTAMP '2023-01-10 10:00', 'old-run')""")
    con.execute("CREATE TABLE intermediate.kpi_month_term AS SELECT DATE '2023-01-01' AS month_start")
    con.execute("CREATE TABLE intermediate.kpi_month_paid_dossier (month_start DATE, dossier_id VARCHAR)")
    con.close()

    with warehouse.open_warehouse(path) as con, warehouse.transaction(con):
        assert warehouse.schema_version(con) == warehouse.latest_version()
        load.load_batch(con, batch["dir"])
        kpi.rebuild_pending(con)
        kept = con.execute("SELECT dossier_id, result_digitized FROM core.fact_dossier "
                           "WHERE dossier_id = 'old-1'").fetchall()
        assert kept == [("old-1", None)]
        internal = dict(con.execute("SELECT procedure_code, is_internal FROM core.dim_procedure "
                                    "WHERE NOT is_inferred").fetchall())
        assert internal == {code: expected for code, (_, expected) in NOI_BO.items()}
        # The terms table of the old shape was dropped by a migration that marked every period
        # dirty: January (the old dossier) is there.
        codes = {row[0] for row in con.execute(
            "SELECT DISTINCT kpi_code FROM mart.kpi_value WHERE period_start = DATE '2023-01-01'"
        ).fetchall()}
        assert {"ONLINE_RATE", "INTERNAL_ONLINE_RATE"} <= codes
        returned = con.execute(
            "SELECT numerator, denominator FROM mart.kpi_value WHERE kpi_code = 'DIGITIZED_RESULT_RATE' "
            "AND period_type = 'month' AND agency_code = '*'").fetchall()
        assert returned == [(2.0, len(KET_QUA))]
