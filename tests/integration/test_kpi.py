"""The KPI marts on a small hand-built star schema in a real DuckDB file.

Each expected figure below is worked out by hand from the scenario and kpis.md (the comments show
the reasoning), not read back from the SQL. The end-to-end comparison against an independent
oracle over the emulator is tests/integration/test_kpi_oracle.py; the scenario is support.kpi_scenario.
"""
from __future__ import annotations

import shutil

import pytest

from etl import kpi
from etl.warehouse import connect, transaction
from support.kpi_scenario import (
    FEB, JAN, MAR, T, fraction, insert_dossier, insert_payment, kpi_rows, rebuilt_scenario,
)


@pytest.fixture
def warehouse(tmp_path):
    """The scenario's warehouse with every KPI rebuilt."""
    with rebuilt_scenario(tmp_path / "w.duckdb") as con:
        yield con


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
