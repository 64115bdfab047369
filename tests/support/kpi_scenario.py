"""A small hand-built star schema in a real DuckDB file for the KPI tests: agencies, procedures,
dossiers and payments whose KPIs are worked out by hand in tests/integration/test_kpi*.py, and
readers of mart.kpi_value."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime


from etl.warehouse import connect, ensure_schema, transaction


TARGETS = {
    "ONLINE_REMOTE_RATE": 0.5, "ONLINE_RATE": 1.0, "DIGITIZED_RATE": 0.8, "DVCTT_COVERAGE": 0.8,
    "FEE_PROC_ONLINE_PAYABLE_RATE": 0.6, "FEE_PROC_WITH_ONLINE_TX_RATE": 0.5,
    "ONLINE_PAYMENT_TX_RATE": 0.3, "DOSSIER_ONLINE_PAYMENT_RATE": 0.3,
}

AGENCIES = [
    # code, level, parent, valid_from, valid_to, successor, inferred
    ("T1", "TINH", None, date(2020, 1, 1), None, None, False),
    ("H1", "HUYEN", None, date(2020, 1, 1), date(2025, 6, 30), "X8", False),
    ("X8", "XA", "H9", date(2025, 7, 1), date(2025, 12, 31), "X9", False),
    ("X9", "XA", "H9", date(2026, 1, 1), None, None, False),
    ("H9", "HUYEN", None, date(2020, 1, 1), None, None, False),
    ("ZZ", None, None, None, None, None, True),  # inferred: seen only on a fact
]

PROCEDURES = [
    # code, from, to, levels, service level, fee, online payment, inferred
    ("P1", date(2020, 1, 1), date(2023, 1, 31), ["TINH"], "KHONG", True, False, False),
    ("P1", date(2023, 2, 1), None, ["TINH", "HUYEN"], "TOAN_TRINH", True, True, False),
    ("P2", date(2020, 1, 1), None, ["HUYEN", "XA"], "MOT_PHAN", False, False, False),
    ("P3", date(1900, 1, 1), None, None, None, None, None, True),
]

T = datetime.fromisoformat

DOSSIERS = [
    # id, procedure, agency, channel, remote, received, due, finished, returned, status, return, digitized
    ("d1", "P1", "T1", 2, True, T("2023-01-31 23:59:59"), T("2023-02-01 00:00:00"),
     T("2023-02-01 00:00:00"), T("2023-02-02 10:00:00"), 10, 1, True),
    ("d2", "P1", "T1", 1, None, T("2023-02-01 08:00:00"), T("2023-02-03 08:00:00"),
     T("2023-02-03 08:00:01"), None, 9, 0, False),
    ("d3", "P2", "H1", 2, False, T("2023-02-10 09:00:00"), None, None, None, 4, None, False),
    ("d4", "P1", "H1", 3, None, T("2023-02-11 09:00:00"), None, None, None, 3, None, True),
    ("d5", "P3", "T1", 2, True, T("2023-02-15 10:00:00"), None,
     T("2023-02-16 10:00:00"), None, 9, None, False),
    ("d6", "P2", "H1", 1, None, None, None, T("2023-02-20 10:00:00"), T("2023-02-21 10:00:00"), 10, 0, False),
    ("d7", "P2", "ZZ", 1, None, T("2023-02-25 10:00:00"), None, None, None, 2, None, False),
]

PAYMENTS = [
    # id, dossier, procedure, agency, method, status, time
    ("t1", "d1", "P1", "T1", "truc-tuyen", "thanh-cong", T("2023-02-05 10:00:00")),
    ("t2", "d2", "P1", "T1", "tien-mat", "thanh-cong", T("2023-02-02 10:00:00")),
    ("t3", "d2", "P1", "T1", "truc-tuyen", "hoan-phi", T("2023-02-02 11:00:00")),
    ("t4", None, "P2", None, "truc-tuyen", "thanh-cong", T("2023-03-01 00:00:00")),
]


def _date_key(ts: datetime | None) -> int | None:
    return None if ts is None else int(ts.strftime("%Y%m%d"))


def insert_dossier(con, row, run_id="test") -> None:
    (dossier_id, procedure, agency, channel, remote, received, due, finished, returned,
     status, return_method, digitized) = row
    # Delete, then insert: the facts need not carry a primary key (the load keeps them unique).
    con.execute("DELETE FROM core.fact_dossier WHERE dossier_id = ?", [dossier_id])
    con.execute(
        """
        INSERT INTO core.fact_dossier BY NAME
        SELECT ? AS dossier_id, ? AS procedure_code, ? AS agency_code,
               (SELECT agency_sk FROM core.dim_agency WHERE agency_code = ?) AS agency_sk,
               ? AS channel_code, ? AS remote_submission, ?::TIMESTAMP AS received_at,
               ?::TIMESTAMP AS due_at, ?::TIMESTAMP AS finished_at, ?::TIMESTAMP AS returned_at,
               ? AS received_date_key, ? AS finished_date_key, ? AS returned_date_key,
               ? AS status, ? AS return_method, ? AS has_digitized,
               TIMESTAMP '2023-03-01 00:00:00' AS updated_at, ? AS run_id
        """,
        [dossier_id, procedure, agency, agency, channel, remote, received, due, finished, returned,
         _date_key(received), _date_key(finished), _date_key(returned), status, return_method,
         digitized, run_id],
    )


def insert_payment(con, row, run_id="test") -> None:
    transaction_id, dossier_id, procedure, agency, method, status, at = row
    con.execute("DELETE FROM core.fact_payment WHERE transaction_id = ?", [transaction_id])
    con.execute(
        """
        INSERT INTO core.fact_payment BY NAME
        SELECT ? AS transaction_id, ? AS dossier_id, ? AS procedure_code, ? AS agency_code,
               100000 AS amount_vnd, ? AS payment_method_code, ? AS status,
               ?::TIMESTAMP AS transacted_at, ? AS transacted_date_key,
               TIMESTAMP '2023-03-01 00:00:00' AS updated_at, ? AS run_id
        """,
        [transaction_id, dossier_id, procedure, agency, method, status, at, _date_key(at), run_id],
    )


def ensure_calendar(con) -> None:
    """A calendar for 2023 if the seed did not bring one (Tết 2023 off: 20–26 January)."""
    if con.execute("SELECT count(*) FROM core.dim_date WHERE year = 2023").fetchall()[0][0]:
        return
    con.execute(
        """
        INSERT INTO core.dim_date BY NAME
        SELECT
            (year(d) * 10000 + month(d) * 100 + day(d))::INTEGER AS date_key,
            d::DATE AS date, year(d) AS year, quarter(d) AS quarter, month(d) AS month,
            day(d) AS day, isodow(d) AS iso_day_of_week,
            date_trunc('month', d)::DATE AS month_start,
            date_trunc('quarter', d)::DATE AS quarter_start,
            date_trunc('year', d)::DATE AS year_start,
            isodow(d) >= 6 AS is_weekend,
            CASE WHEN d BETWEEN DATE '2023-01-20' AND DATE '2023-01-26' THEN 'Tết Nguyên đán' END
                AS holiday_name,
            isodow(d) < 6 AND NOT d BETWEEN DATE '2023-01-20' AND DATE '2023-01-26' AS is_working_day
        FROM range(DATE '2023-01-01', DATE '2024-01-01', INTERVAL 1 DAY) AS r(d)
        """
    )


def build_scenario(path):
    con = connect(path)
    ensure_schema(con)
    con.execute("DELETE FROM mart.kpi_target")
    con.executemany("INSERT INTO mart.kpi_target VALUES (?, ?, 'test')", list(TARGETS.items()))
    for code, level, parent, start, end, successor, inferred in AGENCIES:
        con.execute(
            "INSERT INTO core.dim_agency (agency_code, agency_name, agency_level, parent_code, "
            "valid_from, valid_to, successor_code, is_inferred) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [code, f"Agency {code}", level, parent, start, end, successor, inferred],
        )
    for code, start, end, levels, service, fee, online, inferred in PROCEDURES:
        con.execute(
            "INSERT INTO core.dim_procedure (procedure_code, valid_from, valid_to, agency_levels, "
            "service_level, has_fee, online_payment, is_inferred) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [code, start, end, levels, service, fee, online, inferred],
        )
    for row in DOSSIERS:
        insert_dossier(con, row)
    for row in PAYMENTS:
        insert_payment(con, row)
    ensure_calendar(con)
    return con


@contextmanager
def rebuilt_scenario(path) -> Iterator:
    """The scenario's warehouse at `path` with every KPI rebuilt; closed on leaving."""
    from etl import kpi

    con = build_scenario(path)
    with transaction(con):
        kpi.rebuild_all(con)
    try:
        yield con
    finally:
        con.close()


def kpi_rows(con, period_type=None, period_start=None) -> dict:
    sql = "SELECT period_type, period_start, agency_code, kpi_code, numerator, denominator, value, target, met FROM mart.kpi_value"
    rows = con.execute(sql).fetchall()
    by_key = {
        (r[0], r[1], r[2], r[3]): r[4:]
        for r in rows
        if (period_type is None or r[0] == period_type) and (period_start is None or r[1] == period_start)
    }
    # mart.kpi_value has no key index: the grain is checked here, on every read of it.
    assert len({tuple(r[:4]) for r in rows}) == len(rows), "a kpi_value key appears twice"
    return by_key


def fraction(rows, agency, kpi_code):
    found = rows.get(next(iter(rows))[:2] + (agency, kpi_code)) if rows else None
    return None if found is None else (found[0], found[1])


JAN, FEB, MAR = date(2023, 1, 1), date(2023, 2, 1), date(2023, 3, 1)
