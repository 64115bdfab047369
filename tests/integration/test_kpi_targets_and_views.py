"""The KPI marts on the hand-built star schema of support.kpi_scenario: working days, the
scorecard, targets changed or removed after the fact, views recreated only when their definition
changes, and errors that name their KPI file."""
from __future__ import annotations

import shutil

import duckdb
import pytest

from etl import kpi
from etl.warehouse import transaction
from support.kpi_scenario import FEB, JAN, T, build_scenario, rebuilt_scenario, insert_dossier, kpi_rows


@pytest.fixture
def warehouse(tmp_path):
    """The scenario's warehouse with every KPI rebuilt."""
    with rebuilt_scenario(tmp_path / "w.duckdb") as con:
        yield con


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
    stamps = lambda: dict(con.execute("SELECT name, stamp FROM audit.view_stamp").fetchall())  # noqa: E731
    stamp = stamps()
    assert stamp["kpi_rollup"].startswith("marts/views/kpi_rollup.sql sha256:")
    # By hand: the same columns (the comments name them), one row of nulls.
    by_hand = ", ".join(f"NULL::{kind} AS {name}" for name, kind, *_
                        in con.execute("DESCRIBE mart.kpi_wide_month").fetchall())
    with transaction(con):
        # kpi_wide_month (the 2nd file) replaced by hand under its current stamp: left as it is.
        con.execute(f"CREATE OR REPLACE VIEW mart.kpi_wide_month AS SELECT {by_hand}")
        # kpi_rollup (the 3rd) from an earlier definition: re-created, and kpi_ranking (the 4th,
        # current stamp, replaced by hand) after it, since later files read earlier ones.
        con.execute("UPDATE audit.view_stamp SET stamp = 'an earlier definition' WHERE name = 'kpi_rollup'")
        con.execute("CREATE OR REPLACE VIEW mart.kpi_ranking AS SELECT 1 AS by_hand")
        kpi.ensure_views(con)
    assert stamps() == stamp
    assert con.execute("SELECT count(*), count(month_start) FROM mart.kpi_wide_month").fetchall() == [(1, 0)]
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
