"""The KPI marts on a small hand-built star schema in a real DuckDB file.

Each expected figure below is worked out by hand from the scenario and kpis.md (the comments show
the reasoning), not read back from the SQL. The end-to-end comparison against an independent
oracle over the emulator is tests/test_kpi_oracle.py.
"""
from __future__ import annotations

import shutil
from datetime import date, datetime

import duckdb
import pytest

from etl import kpi
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


@pytest.fixture
def warehouse(tmp_path):
    con = build_scenario(tmp_path / "w.duckdb")
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


def test_periods_are_exactly_those_with_an_event(warehouse):
    periods = set(
        warehouse.execute("SELECT DISTINCT period_type, period_start FROM mart.kpi_value").fetchall()
    )
    # Jan: d1 received; Feb: receipts, finishes, returns, payments; Mar: only payment t4.
    assert periods == {("month", JAN), ("month", FEB), ("month", MAR),
                       ("quarter", JAN), ("year", JAN)}


def test_reception_kpis_respect_local_day_and_status(warehouse):
    jan = kpi_rows(warehouse, "month", JAN)
    feb = kpi_rows(warehouse, "month", FEB)
    # d1 was received at 23:59:59 on 31 January: January, not February.
    assert fraction(jan, "T1", "ONLINE_REMOTE_RATE") == (1, 1)
    assert fraction(jan, "*", "DIGITIZED_RATE") == (1, 1)
    # February: d2 (T1, in person), d3 (H1, online at the counter), d5 (T1, online remote),
    # d7 (inferred agency ZZ, in person); d4 was rejected (3), d6 has no NgayTiepNhan.
    assert fraction(feb, "T1", "ONLINE_REMOTE_RATE") == (1, 2)
    assert fraction(feb, "H1", "ONLINE_REMOTE_RATE") == (0, 1)
    assert fraction(feb, "H1", "ONLINE_RATE") == (1, 1)
    assert fraction(feb, "ZZ", "ONLINE_RATE") == (0, 1)
    assert fraction(feb, "*", "ONLINE_RATE") == (2, 4)
    assert fraction(feb, "*", "POSTAL_RECEIPT_RATE") == (0, 4)
    assert fraction(feb, "*", "DIGITIZED_RATE") == (0, 4)
    value, target, met = feb[("month", FEB, "*", "ONLINE_RATE")][2:]
    assert (value, target, met) == (0.5, 1.0, False)
    value, target, met = feb[("month", FEB, "*", "POSTAL_RECEIPT_RATE")][2:]
    assert (value, target, met) == (0.0, None, None)
    # The quarter adds January and February up.
    q1 = kpi_rows(warehouse, "quarter", JAN)
    assert fraction(q1, "T1", "ONLINE_REMOTE_RATE") == (2, 3)


def test_finishing_kpis(warehouse):
    feb = kpi_rows(warehouse, "month", FEB)
    # With a due date and finished in Feb: d1 exactly at its due second (on time), d2 one second late.
    assert fraction(feb, "T1", "ON_TIME_RATE") == (1, 2)
    # Online finished: d1 took 1 s, d5 took 86 400 s.
    assert fraction(feb, "T1", "AVG_DAYS_ONLINE") == (pytest.approx(86401 / 86400, abs=1e-12), 2)
    # Offline finished: d2 took 2 days and 1 s; d6 has no NgayTiepNhan and is left out.
    assert fraction(feb, "T1", "AVG_DAYS_OFFLINE") == (pytest.approx(172801 / 86400, abs=1e-12), 1)
    assert ("month", FEB, "H1", "AVG_DAYS_OFFLINE") not in feb
    # Returned in Feb with status 10: d1 by post, d6 at the counter.
    assert fraction(feb, "*", "POSTAL_RETURN_RATE") == (1, 2)
    assert fraction(feb, "H1", "POSTAL_RETURN_RATE") == (0, 1)
    dq = warehouse.execute("SELECT dossier_id FROM mart.dq_finished_without_received").fetchall()
    assert dq == [("d6",)]


def test_payment_kpis(warehouse):
    jan = kpi_rows(warehouse, "month", JAN)
    feb = kpi_rows(warehouse, "month", FEB)
    mar = kpi_rows(warehouse, "month", MAR)
    # Feb successful: t1 online and t2 cash, both at T1; t3 was refunded.
    assert fraction(feb, "T1", "ONLINE_PAYMENT_TX_RATE") == (1, 2)
    # t4 names no agency: it counts for `*` only.
    assert fraction(mar, "*", "ONLINE_PAYMENT_TX_RATE") == (1, 1)
    assert [k for k in mar if k[3] == "ONLINE_PAYMENT_TX_RATE"] == [("month", MAR, "*", "ONLINE_PAYMENT_TX_RATE")]
    # d1 (received Jan, P1 version of January has a fee) was paid online in February: counted in January.
    assert fraction(jan, "T1", "DOSSIER_ONLINE_PAYMENT_RATE") == (1, 1)
    # Feb: d2 has a fee and only a refunded online payment; d5's procedure is only inferred.
    assert fraction(feb, "*", "DOSSIER_ONLINE_PAYMENT_RATE") == (0, 1)
    dq = warehouse.execute(
        "SELECT dossier_id FROM mart.dq_dossier_without_procedure_version ORDER BY 1").fetchall()
    assert dq == [("d5",)]


def test_catalogue_kpis_on_the_last_day_of_the_period(warehouse):
    jan = kpi_rows(warehouse, "month", JAN)
    feb = kpi_rows(warehouse, "month", FEB)
    mar = kpi_rows(warehouse, "month", MAR)
    # 31 Jan: P1 v1 (TINH, not online, fee) and P2 (HUYEN/XA, partial online, no fee).
    assert fraction(jan, "T1", "DVCTT_COVERAGE") == (0, 1)
    assert fraction(jan, "H1", "DVCTT_COVERAGE") == (1, 1)
    assert fraction(jan, "*", "DVCTT_COVERAGE") == (1, 2)
    assert fraction(jan, "*", "FEE_PROC_ONLINE_PAYABLE_RATE") == (0, 1)
    assert ("month", JAN, "H1", "FEE_PROC_ONLINE_PAYABLE_RATE") not in jan  # no fee procedure
    # 28 Feb: P1 v2 (TINH and HUYEN, full online, payable online) and P2.
    assert fraction(feb, "H1", "DVCTT_COVERAGE") == (2, 2)
    assert fraction(feb, "H1", "FEE_PROC_ONLINE_PAYABLE_RATE") == (1, 1)
    # P1 was paid online at T1 in Feb (t1); H1 collected nothing.
    assert fraction(feb, "T1", "FEE_PROC_WITH_ONLINE_TX_RATE") == (1, 1)
    assert fraction(feb, "H1", "FEE_PROC_WITH_ONLINE_TX_RATE") == (0, 1)
    assert fraction(feb, "*", "FEE_PROC_WITH_ONLINE_TX_RATE") == (1, 1)
    # March: the only online payment is for P2, which has no fee.
    assert fraction(mar, "*", "FEE_PROC_WITH_ONLINE_TX_RATE") == (0, 1)
    # Agencies valid on d only (X8/X9 do not exist yet), the inferred ZZ never.
    catalogue_agencies = {k[2] for k in feb if k[3] == "DVCTT_COVERAGE"}
    assert catalogue_agencies == {"T1", "H1", "H9", "*"}
    # Year 2023 is taken on 31 Dec 2023: same catalogue as February.
    year = kpi_rows(warehouse, "year", JAN)
    assert fraction(year, "H9", "DVCTT_COVERAGE") == (2, 2)


def full_rebuild_of_a_copy(con, tmp_path) -> dict:
    """kpi_rows of a copy of the warehouse after rebuild_all (the copy, not `con`, is rebuilt)."""
    con.execute("CHECKPOINT")
    copy = tmp_path / "copy.duckdb"
    shutil.copy(con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()[0][0], copy)
    other = connect(copy)
    try:
        with transaction(other):
            kpi.rebuild_all(other)
        return kpi_rows(other)
    finally:
        other.close()


def test_incremental_rebuilds_equal_a_full_rebuild(warehouse, tmp_path):
    con = warehouse
    # d3 becomes rejected, a new March dossier arrives, t4 is refunded (March then only has the
    # new dossier), t2 moves to January. load marks old and new periods dirty; here by hand.
    changes = [
        ("d3", "P2", "H1", 2, False, T("2023-02-10 09:00:00"), None, None, None, 3, None, False),
        ("d8", "P1", "H1", 2, True, T("2023-03-03 09:00:00"), None, None, None, 2, None, True),
    ]
    with transaction(con):
        for row in changes:
            insert_dossier(con, row)
        insert_payment(con, ("t4", None, "P2", None, "truc-tuyen", "hoan-phi", T("2023-03-01 00:00:00")))
        insert_payment(con, ("t2", "d2", "P1", "T1", "tien-mat", "thanh-cong", T("2023-01-30 10:00:00")))
        con.execute(
            "INSERT OR IGNORE INTO audit.kpi_dirty_period VALUES "
            "('month', ?), ('month', ?), ('month', ?), ('quarter', ?), ('year', ?)",
            [JAN, FEB, MAR, JAN, JAN],
        )
        kpi.rebuild_pending(con)
    assert con.execute("SELECT count(*) FROM audit.kpi_dirty_period").fetchall() == [(0,)]
    incremental = kpi_rows(con)

    assert incremental == full_rebuild_of_a_copy(con, tmp_path)
    mar = kpi_rows(con, "month", MAR)
    assert fraction(mar, "*", "ONLINE_PAYMENT_TX_RATE") is None
    assert fraction(mar, "H1", "ONLINE_REMOTE_RATE") == (1, 1)


def test_a_quarter_adds_its_rebuilt_month_to_the_stored_ones(warehouse, tmp_path):
    con = warehouse
    # d2 (all its dates in February) is now online: load marks February, Q1 and 2023 dirty. Q1
    # and 2023 are rebuilt from February's new terms and January's and March's stored ones.
    with transaction(con):
        insert_dossier(con, ("d2", "P1", "T1", 2, True, T("2023-02-01 08:00:00"), T("2023-02-03 08:00:00"),
                             T("2023-02-03 08:00:01"), None, 9, 0, False))
        con.execute("INSERT INTO audit.kpi_dirty_period VALUES ('month', ?), ('quarter', ?), ('year', ?)",
                    [FEB, JAN, JAN])
        kpi.rebuild_pending(con)
    # Q1 at T1: d1 (Jan), d2 and d5 (Feb) received, all three online and remote now.
    assert fraction(kpi_rows(con, "quarter", JAN), "T1", "ONLINE_REMOTE_RATE") == (3, 3)
    assert kpi_rows(con) == full_rebuild_of_a_copy(con, tmp_path)


def test_months_without_stored_terms_are_read_from_the_facts(warehouse, tmp_path):
    # A warehouse whose KPIs were built before intermediate.kpi_month_term existed: a quarter asked
    # for alone is computed from all its months' facts.
    con = warehouse
    expected = kpi_rows(con)
    with transaction(con):
        con.execute("DROP TABLE intermediate.kpi_month_term")
        con.execute("DELETE FROM mart.kpi_value WHERE period_type = 'quarter'")
        con.execute("INSERT INTO audit.kpi_dirty_period VALUES ('quarter', ?)", [JAN])
        kpi.rebuild_pending(con)
    assert kpi_rows(con) == expected


def test_a_payment_counts_in_the_month_its_dossier_was_received(warehouse, tmp_path):
    # t1 (February) paid January's d1 online and is now refunded; t5 (March) pays February's d2
    # online. A load marks dirty the payments' months and their dossiers' months; here by hand.
    con = warehouse
    with transaction(con):
        insert_payment(con, ("t1", "d1", "P1", "T1", "truc-tuyen", "hoan-phi",
                             T("2023-02-05 10:00:00")))
        insert_payment(con, ("t5", "d2", "P1", "T1", "truc-tuyen", "thanh-cong",
                             T("2023-03-02 10:00:00")))
        con.execute("INSERT OR IGNORE INTO audit.kpi_dirty_period VALUES "
                    "('month', ?), ('month', ?), ('month', ?), ('quarter', ?), ('year', ?)",
                    [JAN, FEB, MAR, JAN, JAN])
        kpi.rebuild_pending(con)
    # T1's fee-bearing dossiers: d1 in January (no successful online payment left), d2 in February.
    assert fraction(kpi_rows(con, "month", JAN), "T1", "DOSSIER_ONLINE_PAYMENT_RATE") == (0, 1)
    assert fraction(kpi_rows(con, "month", FEB), "T1", "DOSSIER_ONLINE_PAYMENT_RATE") == (1, 1)
    assert kpi_rows(con) == full_rebuild_of_a_copy(con, tmp_path)


def test_a_dossier_rebuilt_alone_finds_its_payment_of_a_month_kept(warehouse, tmp_path):
    # d1 (January) changes; its online payment t1 (February) does not: only January is dirty, and
    # February's paid dossiers, kept from the last rebuild, still count d1 as paid online.
    con = warehouse
    with transaction(con):
        insert_dossier(con, ("d1", "P1", "T1", 2, True, T("2023-01-31 23:59:59"),
                             T("2023-02-01 00:00:00"), T("2023-02-01 00:00:00"),
                             T("2023-02-02 10:00:00"), 10, 1, False))
        con.execute("INSERT INTO audit.kpi_dirty_period VALUES "
                    "('month', ?), ('quarter', ?), ('year', ?)", [JAN, JAN, JAN])
        kpi.rebuild_pending(con)
    jan = kpi_rows(con, "month", JAN)
    assert fraction(jan, "T1", "DOSSIER_ONLINE_PAYMENT_RATE") == (1, 1)
    assert fraction(jan, "T1", "DIGITIZED_RATE") == (0, 1)
    assert kpi_rows(con) == full_rebuild_of_a_copy(con, tmp_path)


def test_a_period_without_events_loses_its_rows(warehouse):
    con = warehouse
    with transaction(con):
        con.execute("DELETE FROM core.fact_payment WHERE transaction_id = 't4'")
        con.execute("INSERT INTO audit.kpi_dirty_period VALUES ('month', ?)", [MAR])
        kpi.rebuild_pending(con)
    assert kpi_rows(con, "month", MAR) == {}


def test_rebuild_rolls_back_with_the_callers_transaction(warehouse):
    con = warehouse
    before = kpi_rows(con)
    with pytest.raises(RuntimeError):
        with transaction(con):
            con.execute("DELETE FROM core.fact_dossier")
            con.execute("INSERT INTO audit.kpi_dirty_period VALUES ('month', ?)", [FEB])
            kpi.rebuild_pending(con)
            raise RuntimeError("load failed later in the run")
    assert kpi_rows(con) == before


def test_extra_views(warehouse):
    con = warehouse
    wide = con.execute(
        "SELECT online_rate, on_time_rate, targets_met, targets_measured FROM mart.kpi_wide_month "
        "WHERE month_start = ? AND agency_code = 'T1'", [FEB]).fetchall()
    # T1 in Feb: online 1/2; on time 1/2; of its KPIs with a target (remote 1/2 ≥ .5, online .5 < 1,
    # digitized 0 < .8, coverage 1 ≥ .8, payable 1 ≥ .6, with tx 1 ≥ .5, payment tx .5 ≥ .3,
    # dossier online payment 0/1 < .3) five are met.
    assert wide == [(0.5, 0.5, 5, 8)]
    # H1 rolls up into nothing, but X8 and X9 sit under H9: H9's roll-up is H9's own rows only here.
    rollup = con.execute(
        "SELECT numerator, denominator FROM mart.kpi_rollup WHERE period_type = 'month' "
        "AND period_start = ? AND agency_code = 'H1' AND kpi_code = 'ONLINE_RATE'", [FEB]).fetchall()
    assert rollup == [(1.0, 1)]
    # H1 merged into X8, which merged into X9: H1's history is restated onto X9.
    restated = con.execute(
        "SELECT agency_code, numerator, denominator FROM mart.kpi_restated WHERE period_type = 'month' "
        "AND period_start = ? AND kpi_code = 'ONLINE_RATE' ORDER BY agency_code", [FEB]).fetchall()
    assert restated == [("T1", 1.0, 2), ("X9", 1.0, 1), ("ZZ", 0.0, 1)]
    ranking = con.execute(
        "SELECT agency_code, rank FROM mart.kpi_ranking WHERE period_type = 'month' AND period_start = ? "
        "AND kpi_code = 'DVCTT_COVERAGE' ORDER BY rank, agency_code", [JAN]).fetchall()
    assert ranking == [("H1", 1), ("H9", 1), ("T1", 3)]


def test_working_days_skip_weekends_and_tet(tmp_path):
    con = build_scenario(tmp_path / "w.duckdb")
    try:
        with transaction(con):
            # Received Thu 19 Jan 2023, finished Mon 30 Jan: 20 and 23–26 Jan are Tết, 21/22 and
            # 28/29 weekends, so the working days after reception are 27 and 30 January.
            insert_dossier(con, ("w1", "P2", "H9", 1, None, T("2023-01-19 09:00:00"), None,
                                 T("2023-01-30 16:00:00"), None, 9, 0, False))
            kpi.rebuild_all(con)
        rows = con.execute(
            "SELECT dossiers, avg_working_days FROM mart.processing_time_working_days "
            "WHERE month_start = ? AND agency_code = 'H9' AND channel_group = 'offline'",
            [JAN]).fetchall()
        assert rows == [(1, 2.0)]
    finally:
        con.close()


def test_scorecard_reads_the_latest_month_and_quarter(warehouse, tmp_path):
    text = kpi.scorecard(warehouse, top=2)
    assert "Month 03/2023" in text and "Q1/2023" in text
    quarter = text.split("Quarter")[1]
    assert "ONLINE_REMOTE_RATE" in quarter
    # Q1 at `*`: remote 2/5 (d1, d5 of d1, d2, d3, d5, d7) → 40.0 % against 50.0 %: not met.
    line = next(l for l in quarter.splitlines() if l.startswith("ONLINE_REMOTE_RATE"))
    assert "40.0%" in line and "50.0%" in line and "NO" in line
    ranking = quarter.split("Best")[1]
    # H1 is ranked; ZZ (an inferred member, not in /donvi) has target KPIs but is not ranked.
    assert " 1 agencies" in quarter and "H1 " in ranking
    assert "ZZ" in {row[2] for row in warehouse.execute(
        "SELECT * FROM mart.kpi_value WHERE period_type = 'quarter' AND target IS NOT NULL").fetchall()}
    assert "ZZ" not in ranking

    warehouse.execute("CHECKPOINT")
    path = warehouse.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()[0][0]
    copy = tmp_path / "read-only.duckdb"
    shutil.copy(path, copy)
    assert kpi.scorecard_from_file(copy, top=2) == text


def test_a_changed_target_reaches_every_row_without_dirty_periods(warehouse):
    con = warehouse
    with transaction(con):
        con.execute("UPDATE mart.kpi_target SET target = 0.4 WHERE kpi_code = 'ONLINE_RATE'")
        assert kpi.rebuild_pending(con) == 0
    feb = kpi_rows(con, "month", FEB)
    # `*` in Feb: 2 of 4 received online = 0.5, now above the lowered target.
    assert feb[("month", FEB, "*", "ONLINE_RATE")][2:] == (0.5, 0.4, True)
    # ZZ received 0 of 1 online: 0.0 stays below it.
    assert feb[("month", FEB, "ZZ", "ONLINE_RATE")][2:] == (0.0, 0.4, False)


def test_a_removed_target_leaves_every_row_without_target_or_met(warehouse):
    con = warehouse
    with transaction(con):
        con.execute("DELETE FROM mart.kpi_target WHERE kpi_code = 'ONLINE_RATE'")
        assert kpi.rebuild_pending(con) == 0
    rows = con.execute(
        "SELECT count(*), count(target), count(met) FROM mart.kpi_value WHERE kpi_code = 'ONLINE_RATE'"
    ).fetchall()
    assert rows[0][0] > 0 and rows[0][1:] == (0, 0)


def test_a_warehouse_without_applied_targets_takes_them_from_its_rows(warehouse):
    # A warehouse from before intermediate.kpi_target_applied, whose target then changed.
    con = warehouse
    with transaction(con):
        con.execute("DROP TABLE intermediate.kpi_target_applied")
        con.execute("UPDATE mart.kpi_target SET target = 0.4 WHERE kpi_code = 'ONLINE_RATE'")
        assert kpi.rebuild_pending(con) == 0
    feb = kpi_rows(con, "month", FEB)
    assert feb[("month", FEB, "*", "ONLINE_RATE")][2:] == (0.5, 0.4, True)
    assert con.execute(
        "SELECT target FROM intermediate.kpi_target_applied WHERE kpi_code = 'ONLINE_RATE'"
    ).fetchall() == [(0.4,)]


def test_views_are_recreated_only_from_a_changed_definition_on(warehouse):
    con = warehouse
    stamp = dict(con.execute(
        "SELECT view_name, comment FROM duckdb_views() WHERE schema_name = 'mart'").fetchall())
    assert stamp["kpi_rollup"].startswith("marts/views/kpi_rollup.sql sha256:")
    with transaction(con):
        # kpi_wide_month (the 2nd file) replaced by hand under its current stamp: left as it is.
        con.execute("CREATE OR REPLACE VIEW mart.kpi_wide_month AS SELECT 1 AS by_hand")
        con.execute(f"COMMENT ON VIEW mart.kpi_wide_month IS '{stamp['kpi_wide_month']}'")
        # kpi_rollup (the 3rd) from an earlier definition: re-created, and kpi_ranking (the 4th,
        # current stamp, replaced by hand) after it, since later files read earlier ones.
        con.execute("COMMENT ON VIEW mart.kpi_rollup IS 'an earlier definition'")
        con.execute("CREATE OR REPLACE VIEW mart.kpi_ranking AS SELECT 1 AS by_hand")
        con.execute(f"COMMENT ON VIEW mart.kpi_ranking IS '{stamp['kpi_ranking']}'")
        kpi.ensure_views(con)
    after = dict(con.execute(
        "SELECT view_name, comment FROM duckdb_views() WHERE schema_name = 'mart'").fetchall())
    assert after == stamp
    assert con.execute("SELECT * FROM mart.kpi_wide_month").fetchall() == [(1,)]
    columns = [row[0] for row in con.execute("DESCRIBE mart.kpi_ranking").fetchall()]
    assert "rank" in columns


def test_a_failing_kpi_query_surfaces_its_own_error(warehouse):
    con = warehouse
    before = kpi_rows(con)
    with pytest.raises(Exception, match="fact_payment"):
        with transaction(con):
            con.execute("INSERT INTO audit.kpi_dirty_period VALUES ('month', ?)", [FEB])
            con.execute("ALTER TABLE core.fact_payment RENAME TO fact_payment_gone")
            kpi.rebuild_pending(con)
    assert kpi_rows(con) == before
    assert con.execute("SELECT count(*) FROM audit.kpi_dirty_period").fetchall() == [(0,)]


def test_an_error_in_one_kpi_file_names_that_file(warehouse):
    # The KPI files run as one INSERT: an error DuckDB places on a line names the file it is in.
    con = warehouse
    with pytest.raises(duckdb.BinderException, match='"online_payment" not found') as raised:
        with transaction(con):
            con.execute("INSERT INTO audit.kpi_dirty_period VALUES ('month', ?)", [FEB])
            con.execute("ALTER TABLE core.dim_procedure RENAME COLUMN online_payment TO gone")
            kpi.rebuild_pending(con)
    assert raised.value.__notes__ == ["in sql/marts/kpi_fee_proc_online_payable_rate.sql"]


def test_a_kpi_computed_twice_fails_the_rebuild(warehouse, monkeypatch):
    # mart.kpi_value has no key index: replace_values.sql refuses duplicate rows itself.
    con = warehouse
    before = kpi_rows(con)
    monkeypatch.setitem(kpi.KPI_FILES, "ONLINE_RATE_AGAIN", kpi.KPI_FILES["ONLINE_RATE"])
    with pytest.raises(duckdb.Error, match="KPI ONLINE_RATE gives 2 rows for month 2023-02-01"):
        with transaction(con):
            con.execute("INSERT INTO audit.kpi_dirty_period VALUES ('month', ?)", [FEB])
            kpi.rebuild_pending(con)
    assert kpi_rows(con) == before
