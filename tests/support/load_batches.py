"""Staged batches written by hand as the validation stage writes them (parquet + JSON in the
documented format), and readers of the warehouse files the load tests compare."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from etl import warehouse


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


def clear_dirty(db: Path) -> None:
    with warehouse.open_warehouse(db) as con:
        con.execute("DELETE FROM audit.kpi_dirty_period").fetchall()


def dirty_periods(db: Path) -> set[tuple[str, str]]:
    return {(kind, start.isoformat()) for kind, start in
            query(db, "SELECT period_type, period_start FROM audit.kpi_dirty_period")}


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
