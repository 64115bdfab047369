"""Where a KPI rebuild's time goes: `python -m bench.profile_kpi [--dossiers N] [--samples K]`.

Builds bench_kpi's synthetic star in a temporary file, rebuilds everything once, then runs K full
rebuilds and K refreshes of one month (with its quarter and year, as bench_kpi marks them) in
turn, each in its own committed transaction, and clocks them statement by statement: the
connection handed to `etl.kpi` runs every SQL text one statement at a time (split by DuckDB's own
parser) and records wall and CPU time per statement. Printed per rebuild: the median of each
statement over the samples, named by the SQL file it comes from, with its CPU time (more than the
wall time where DuckDB kept both cores busy) and its share of the rebuild; then the commit.

py-spy sees one call into DuckDB per statement, so it cannot tell the statements apart; this can.
Run it at `--dossiers 50000` too: what stays there is the part of a rebuild that does not grow
with the facts (planning, small operators on the dimensions, ~23,000 kpi_value rows per
month + quarter + year), which a full rebuild and a refresh both pay.
"""
from __future__ import annotations

import argparse
import collections
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from bench.bench_kpi import DIRTY_MONTH, FULL_DOSSIERS, MARK_MONTH_DIRTY, build_star
from etl import kpi
from etl.warehouse import SQL_DIR, connect, read_sql

UNION_LABEL = "the KPI files, one INSERT (kpi._insert_kpi_results)"
COMMIT_LABEL = "COMMIT"


def _sql_files() -> list[tuple[re.Pattern, str]]:
    """Each SQL file's text as a pattern of the text the rebuild runs (its `$name` parameters
    rendered as literals by etl.steps), with the file's name."""
    files = []
    for path in sorted(SQL_DIR.glob("marts/**/*.sql")):
        relative = path.relative_to(SQL_DIR).as_posix()
        text = read_sql(relative).strip()
        pattern = "".join(".*?" if part.startswith("$") else re.escape(part)
                          for part in re.split(r"(\$[A-Za-z_][A-Za-z0-9_]*)", text))
        files.append((re.compile(pattern, re.DOTALL), relative))
    return files


def _gist(statement: str, width: int = 56) -> str:
    """The statement's first words, comments left out."""
    code = " ".join(line for line in statement.splitlines() if not line.lstrip().startswith("--"))
    code = re.sub(r"\s+", " ", code).strip()
    return code if len(code) <= width else code[: width - 1] + "…"


class _Rows:
    """The drained result of a text's last statement, as the rebuild reads it."""

    def __init__(self, rows: list[tuple]):
        self._rows = rows

    def fetchall(self) -> list[tuple]:
        return self._rows


class StatementClock:
    """A DuckDB connection for `etl.kpi` that runs each SQL text one statement at a time and
    adds each statement's wall and CPU seconds to `times[label]`. Results are drained inside the
    clock (DuckDB 2.0 streams them), so a SELECT's time includes producing its rows; the last
    statement's rows are handed back, as `execute` of the whole text would give them."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._con = con
        self._files = _sql_files()
        self.times: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0])

    def _label(self, text: str, index: int, count: int, statement: str) -> str:
        name = next((relative for pattern, relative in self._files if pattern.fullmatch(text.strip())), None)
        if name is None and text.startswith("INSERT INTO kpi_result BY NAME"):
            return UNION_LABEL
        if name is None:
            return f"kpi.py: {_gist(statement)}"
        return name if count == 1 else f"{name} #{index + 1}: {_gist(statement, 40)}"

    def executemany(self, text: str, parameters) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self._con.executemany(text, parameters)
        spent = self.times[f"kpi.py: {_gist(text)}"]
        spent[0] += time.perf_counter() - wall
        spent[1] += time.process_time() - cpu

    def execute(self, text: str, parameters=None) -> _Rows:
        statements = [text] if parameters is not None else [
            statement.query for statement in self._con.extract_statements(text)
        ]
        rows: list[tuple] = []
        for index, statement in enumerate(statements):
            label = self._label(text, index, len(statements), statement)
            wall, cpu = time.perf_counter(), time.process_time()
            rows = self._con.execute(statement, parameters).fetchall()
            spent = self.times[label]
            spent[0] += time.perf_counter() - wall
            spent[1] += time.process_time() - cpu
        return _Rows(rows)


def clocked_rebuild(con: duckdb.DuckDBPyConnection, full: bool) -> dict[str, list[float]]:
    """One rebuild in its own transaction: {label: [wall s, CPU s]}, the commit included."""
    clock = StatementClock(con)
    con.execute("BEGIN TRANSACTION")
    try:
        if full:
            kpi.rebuild_all(clock)
        else:
            con.execute(MARK_MONTH_DIRTY)
            kpi.rebuild_pending(clock)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    wall, cpu = time.perf_counter(), time.process_time()
    con.execute("COMMIT")
    clock.times[COMMIT_LABEL] = [time.perf_counter() - wall, time.process_time() - cpu]
    return dict(clock.times)


def total_wall(sample: dict[str, list[float]]) -> float:
    """A rebuild's wall seconds: its statements and its commit."""
    return sum(wall for wall, _ in sample.values())


def median_profile(samples: list[dict[str, list[float]]]) -> list[tuple[str, float, float]]:
    """(label, median wall s, median CPU s) per statement, slowest first; a statement missing
    from a sample counts 0 there."""
    labels = {label for sample in samples for label in sample}
    rows = [
        (
            label,
            statistics.median(sample.get(label, [0.0, 0.0])[0] for sample in samples),
            statistics.median(sample.get(label, [0.0, 0.0])[1] for sample in samples),
        )
        for label in labels
    ]
    return sorted(rows, key=lambda row: (-row[1], row[0]))


def report(title: str, samples: list[dict[str, list[float]]], floor: float = 0.01) -> str:
    """The median profile as text: statements of at least `floor` of the total, then the rest."""
    totals = [total_wall(sample) for sample in samples]
    total = statistics.median(totals)
    rows = median_profile(samples)
    lines = [
        f"{title}: {total * 1000:,.1f} ms (median of {len(samples)}: "
        + " / ".join(f"{seconds * 1000:,.0f}" for seconds in totals) + " ms)",
        f"{'wall ms':>9} {'CPU ms':>8} {'share':>6}  statement",
    ]
    rest = [row for row in rows if row[1] < floor * total]
    for label, wall, cpu in rows:
        if wall >= floor * total:
            lines.append(f"{wall * 1000:9.1f} {cpu * 1000:8.1f} {wall / total:6.1%}  {label}")
    if rest:
        wall, cpu = sum(row[1] for row in rest), sum(row[2] for row in rest)
        lines.append(f"{wall * 1000:9.1f} {cpu * 1000:8.1f} {wall / total:6.1%}  "
                     f"{len(rest)} other statements, each under {floor:.0%}")
    return "\n".join(lines)


def profile(path: Path, samples: int) -> tuple[list[dict], list[dict]]:
    """(full rebuild samples, refresh samples) on the star at `path`, after one full rebuild
    that creates the stored month terms a refresh reads."""
    con = connect(path)
    try:
        clocked_rebuild(con, full=True)
        full, refresh = [], []
        for _ in range(samples):  # interleaved, so drift of the host reaches both alike
            full.append(clocked_rebuild(con, full=True))
            refresh.append(clocked_rebuild(con, full=False))
        return full, refresh
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_kpi", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dossiers", type=int, default=FULL_DOSSIERS)
    parser.add_argument("--samples", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-profile-kpi-") as tmp:
        path = Path(tmp) / "star.duckdb"
        built = build_star(path, args.dossiers)
        print(f"synthetic star: {args.dossiers:,} dossiers, built in {built:.1f}s")
        full, refresh = profile(path, args.samples)
    print(report("full rebuild", full))
    print()
    print(report(f"refresh of {DIRTY_MONTH} with its quarter and year", refresh))
    ratio = statistics.median(total_wall(r) / total_wall(f) for f, r in zip(full, refresh))
    print(f"\nrefresh / full rebuild, statement by statement: {ratio:.4f} (median of the paired samples)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
