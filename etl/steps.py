"""Running the SQL files of a stage (`sql/<stage>/NNN_<name>.sql`) in the order their names give.

A file reads its inputs from tables (the warehouse's, or temp tables an earlier file made) and
from parameters the caller passes: `$name` in the text is replaced by the value as a SQL literal
(a string quoted, a date as DATE '…', None as NULL) before the file runs. A literal, unlike a
subquery or a session variable read at run time, is a constant when DuckDB binds the query, so a
filter on it prunes row groups by their zonemaps. A `$name` the caller did not pass is an error,
so a file never runs with a value left from another.

Each file starts with `-- reads: …` and `-- writes: …` (what it takes and what it leaves).
"""
from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:  # the DAG files import etl modules; duckdb loads only where SQL runs
    import duckdb

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"

_PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_STEP_NAME = re.compile(r"^\d{3}_\w+\.sql$")


class StepError(ValueError):
    """A SQL file names a parameter it was not given, or a folder holds a misnamed step."""


def literal(value: Any) -> str:
    """`value` as a DuckDB literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, Path):
        value = value.as_posix()
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise StepError(f"no SQL literal for {type(value).__name__} {value!r}")


def render(sql: str, params: Mapping[str, Any] | None = None, *, source: str = "SQL") -> str:
    """`sql` with every `$name` replaced by `params[name]` as a literal."""
    params = params or {}

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name not in params:
            raise StepError(f"{source} reads ${name}, which it was not given")
        return literal(params[name])

    return _PARAMETER.sub(substitute, sql)


def run_file(con: duckdb.DuckDBPyConnection, relative: str,
             params: Mapping[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
    """Run `sql/<relative>` with `params`; returns the connection (the last statement's result)."""
    text = (SQL_DIR / relative).read_text(encoding="utf-8")
    return con.execute(render(text, params, source=f"sql/{relative}"))


def folder_files(folder: str) -> list[str]:
    """The steps of `sql/<folder>` (files named NNN_<name>.sql), in name order, as relative paths."""
    names = sorted(path.name for path in (SQL_DIR / folder).glob("*.sql"))
    misnamed = [name for name in names if not _STEP_NAME.match(name)]
    if misnamed:
        raise StepError(f"sql/{folder}: steps are named NNN_<name>.sql, not {', '.join(misnamed)}")
    return [f"{folder}/{name}" for name in names]


def run_folder(con: duckdb.DuckDBPyConnection, folder: str,
               params: Mapping[str, Any] | None = None, *,
               start: str | None = None, stop: str | None = None) -> list[str]:
    """Run the steps of `sql/<folder>` in name order, those whose names sort in [start, stop)
    (e.g. start="020", stop="090"); returns the files run."""
    ran = []
    for relative in folder_files(folder):
        name = relative.rsplit("/", 1)[1]
        if (start is not None and name < start) or (stop is not None and name >= stop):
            continue
        run_file(con, relative, params).fetchall()
        ran.append(relative)
    return ran
