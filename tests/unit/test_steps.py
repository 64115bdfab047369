"""etl/steps.py: SQL files run in name order with parameters as literals; no session variables."""
from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from etl import steps

SQL = Path(steps.SQL_DIR)


def test_parameters_become_literals():
    assert steps.render("SELECT $a, $b, $c, $d, $e, $f", {
        "a": "it's", "b": 3, "c": None, "d": date(2023, 2, 1),
        "e": datetime(2023, 2, 1, 7, 30), "f": Path("/x/y")}) == (
        "SELECT 'it''s', 3, NULL, DATE '2023-02-01', TIMESTAMP '2023-02-01 07:30:00', '/x/y'")
    con = duckdb.connect()
    assert con.execute(steps.render("SELECT $a", {"a": "it's"})).fetchall() == [("it's",)]


def test_a_parameter_not_given_is_an_error():
    with pytest.raises(steps.StepError, match=r"reads \$missing"):
        steps.render("SELECT $given, $missing", {"given": 1})


def test_a_folder_runs_in_name_order_between_bounds(tmp_path, monkeypatch):
    folder = tmp_path / "stage"
    folder.mkdir()
    for name in ("020_b.sql", "010_a.sql", "090_z.sql"):
        (folder / name).write_text(f"INSERT INTO ran VALUES ('{name}', $tag);\n")
    monkeypatch.setattr(steps, "SQL_DIR", tmp_path)
    con = duckdb.connect()
    con.execute("CREATE TABLE ran (name VARCHAR, tag VARCHAR)")
    assert steps.run_folder(con, "stage", {"tag": "t"}, stop="090") == ["stage/010_a.sql", "stage/020_b.sql"]
    assert steps.run_folder(con, "stage", {"tag": "u"}, start="090") == ["stage/090_z.sql"]
    assert con.execute("SELECT * FROM ran").fetchall() == [
        ("010_a.sql", "t"), ("020_b.sql", "t"), ("090_z.sql", "u")]
    (folder / "stray.sql").write_text("SELECT 1")
    with pytest.raises(steps.StepError, match="stray.sql"):
        steps.run_folder(con, "stage")


def test_the_load_steps_are_named_in_order():
    assert [Path(f).name for f in steps.folder_files("load")] == sorted(
        path.name for path in (SQL / "load").glob("*.sql"))


def test_no_sql_file_hands_data_over_in_session_variables():
    offenders = [str(path.relative_to(SQL)) for path in SQL.rglob("*.sql")
                 if re.search(r"getvariable|SET\s+VARIABLE", path.read_text(encoding="utf-8"), re.I)]
    assert offenders == []


@pytest.mark.parametrize("folder", ["staging", "load", "marts", "report", "migrations"])
def test_every_sql_file_says_what_it_reads_and_writes(folder):
    for path in sorted((SQL / folder).rglob("*.sql")):
        head = path.read_text(encoding="utf-8").splitlines()[:6]
        assert head[0].startswith("-- reads: "), path
        assert any(line.startswith("-- writes: ") for line in head), path
