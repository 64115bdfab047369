"""bench/profile_kpi.py: clocking a KPI rebuild statement by statement must not change it.

The profiler hands `etl.kpi` a connection that runs each SQL text one statement at a time. The
rebuilds it clocks must leave exactly what the same rebuilds leave on a plain connection, and
every statement of a SQL file must be clocked under that file's name.
"""
from __future__ import annotations

import duckdb

from bench import profile_kpi
from bench.bench_kpi import MARK_MONTH_DIRTY, build_star
from etl import kpi
from etl.warehouse import connect, read_sql, transaction

DOSSIERS = 3_000
KEPT_TABLES = ("mart.kpi_value", "intermediate.kpi_month_term", "intermediate.kpi_month_paid_dossier",
               "audit.kpi_dirty_period")


def _contents(path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {table: sorted(con.execute(f"FROM {table}").fetchall(), key=repr) for table in KEPT_TABLES}
    finally:
        con.close()


def test_a_clocked_rebuild_leaves_what_a_plain_one_leaves_and_names_each_statement(tmp_path):
    clocked, plain = tmp_path / "clocked.duckdb", tmp_path / "plain.duckdb"
    build_star(clocked, DOSSIERS)
    build_star(plain, DOSSIERS)

    full, refresh = profile_kpi.profile(clocked, samples=1)

    # The same sequence without the clock: a full rebuild, another, then the month's refresh.
    con = connect(plain)
    try:
        for _ in range(2):
            with transaction(con):
                kpi.rebuild_all(con)
        with transaction(con):
            con.execute(MARK_MONTH_DIRTY)
            assert kpi.rebuild_pending(con) > 0
    finally:
        con.close()
    assert _contents(clocked) == _contents(plain)
    assert _contents(plain)["mart.kpi_value"], "the star gave no KPI rows: nothing was compared"

    parser = duckdb.connect()
    try:
        month_terms = parser.extract_statements(read_sql("marts/month_terms.sql"))
    finally:
        parser.close()
    for sample in (full[0], refresh[0]):
        labels = set(sample)
        for index in range(len(month_terms)):
            assert any(label.startswith(f"marts/month_terms.sql #{index + 1}: ") for label in labels)
        assert {profile_kpi.UNION_LABEL, "marts/period_terms.sql", profile_kpi.COMMIT_LABEL} <= labels

    text = profile_kpi.report("refresh", refresh)
    assert text.startswith("refresh: ")
    assert profile_kpi.UNION_LABEL in text  # ~30 % of a refresh: always above the 1 % floor
