"""The mart documents itself: every table, view and column of schema mart carries a comment,
Vietnamese then English (`<tiếng Việt> | <English>`, sql/marts/comments.sql), in the warehouse,
the published copy and the DuckDB 1.x copy; keeping them costs no DDL on a rebuild that changes
nothing (decisions 0031, 0051)."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from support import settings_under
from etl import kpi, pipeline
from etl.warehouse import connect, open_warehouse, transaction

MART_OBJECTS = """
    SELECT table_name AS name, NULL AS column_name, comment FROM duckdb_tables()
    WHERE database_name = current_database() AND schema_name = 'mart'
    UNION ALL
    SELECT view_name, NULL, comment FROM duckdb_views()
    WHERE database_name = current_database() AND schema_name = 'mart'
    UNION ALL
    SELECT table_name, column_name, comment FROM duckdb_columns()
    WHERE database_name = current_database() AND schema_name = 'mart'
"""


@pytest.fixture(scope="module")
def run(emulator, tmp_path_factory):
    """A warehouse the real pipeline built and published (two weeks of the shared emulator)."""
    settings = settings_under(tmp_path_factory.mktemp("mart-comments"), emulator)
    pipeline.run(settings, date(2023, 1, 1), date(2023, 1, 15), progress=False)
    return settings


def comments_of(path: Path) -> dict[tuple[str, str | None], str | None]:
    con = connect(path, read_only=True)
    try:
        return {(name, column): comment for name, column, comment in con.execute(MART_OBJECTS).fetchall()}
    finally:
        con.close()


def undocumented(comments: dict) -> list:
    """The objects whose comment is not `<Vietnamese> | <English>`, both sides non-empty."""
    bad = []
    for key, comment in comments.items():
        parts = (comment or "").split(" | ")
        if len(parts) != 2 or not all(part.strip() for part in parts) or "sha256:" in comment:
            bad.append((key, comment))
    return bad


def test_every_mart_table_view_and_column_is_documented_in_both_languages(run):
    comments = comments_of(run.warehouse)
    objects = {name for name, column in comments if column is None}
    assert {"kpi_value", "kpi_target", *kpi.PUBLISHED_VIEWS} <= objects
    assert len(comments) > 150
    assert undocumented(comments) == []
    # Vietnamese on the left: the KPI vocabulary of etl/contract.py and kpis.md.
    assert comments[("kpi_wide_month", "online_rate")].startswith(
        "Tỷ lệ hồ sơ TTHC được người dân, doanh nghiệp thực hiện trực tuyến — ONLINE_RATE")
    assert comments[("kpi_value", "value")].endswith("a ratio 0–1, or average days for AVG_DAYS_*")


def test_the_published_copy_carries_them(run):
    assert comments_of(run.published) == comments_of(run.warehouse)


def test_the_duckdb1_copy_carries_them_on_its_tables(run):
    main = comments_of(run.warehouse)
    copy = comments_of(run.published_duckdb1)
    published = {"kpi_value", "kpi_target", *kpi.PUBLISHED_VIEWS}
    assert {name for name, _ in copy} == published
    assert copy == {key: comment for key, comment in main.items() if key[0] in published}


def test_a_rebuild_that_changes_nothing_issues_no_ddl_and_a_changed_comments_file_does(run):
    wal = Path(f"{run.warehouse}.wal")
    with open_warehouse(run.warehouse) as con:
        stamps = con.execute("SELECT * FROM audit.view_stamp ORDER BY name").fetchall()
        with transaction(con):
            assert kpi.rebuild_pending(con) == 0
        with transaction(con):
            kpi.ensure_views(con)
        # Still open, so nothing was checkpointed away: the commits wrote no WAL.
        assert not wal.exists() or wal.stat().st_size == 0
        assert con.execute("SELECT * FROM audit.view_stamp ORDER BY name").fetchall() == stamps
        assert {name for name, _ in stamps} >= {"marts/comments.sql", *kpi.PUBLISHED_VIEWS}

        # The comments file changed (its stamp differs): the comments are written again, the views
        # are not re-created (one replaced by hand under its current stamp stays as it is).
        with transaction(con):
            con.execute("UPDATE audit.view_stamp SET stamp = 'an earlier file' "
                        "WHERE name = 'marts/comments.sql'")
            con.execute("COMMENT ON COLUMN mart.kpi_value.value IS NULL")
            con.execute("CREATE OR REPLACE VIEW mart.kpi_gap_unit AS "
                        "SELECT * FROM (VALUES ('X', 'a', 'b')) AS t(kpi_code, unit_vi, unit_en)")
        with transaction(con):
            kpi.ensure_views(con)
        assert wal.stat().st_size > 0
        assert con.execute("SELECT * FROM audit.view_stamp ORDER BY name").fetchall() == stamps
        assert con.execute("SELECT kpi_code FROM mart.kpi_gap_unit").fetchall() == [("X",)]
        assert con.execute(
            "SELECT comment FROM duckdb_columns() WHERE schema_name = 'mart' "
            "AND table_name = 'kpi_value' AND column_name = 'value'").fetchall()[0][0].startswith("Giá trị")

        # A view gone (or another stamp): its file runs again, and the views re-created are
        # documented again (CREATE OR REPLACE VIEW dropped their comments).
        with transaction(con):
            con.execute("DELETE FROM audit.view_stamp WHERE name = 'kpi_gap_unit'")
            kpi.ensure_views(con)
        assert con.execute("SELECT count(*) FROM mart.kpi_gap_unit").fetchall()[0][0] > 1
        assert con.execute("SELECT * FROM audit.view_stamp ORDER BY name").fetchall() == stamps
    assert undocumented(comments_of(run.warehouse)) == []
