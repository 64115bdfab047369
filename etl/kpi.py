"""The KPI marts: `mart.kpi_value` exactly as kpis.md defines it, its extra views, the scorecard.

All the arithmetic is in `sql/marts/`: the facts of the months to recompute are aggregated once
to (month, agency) terms kept in intermediate.kpi_month_term (month_terms.sql; beside them, per
month, the dossiers paid online: intermediate.kpi_month_paid_dossier), which period_terms.sql adds
up to the periods in the temp table `kpi_build_period`; then one file per KPI, each a SELECT of
(period_type, period_start, agency_code, kpi_code, numerator, denominator), picks its terms. This
module only decides which periods to build and runs the files.

Incremental and full rebuilds run the same SQL; they differ only in the periods requested, so
any sequence of `rebuild_pending` calls gives what `rebuild_all` gives on the same data, provided
(as kpis.md asks of every run) every month in which a changed record counts is requested: a
quarter or a year is the sum of its months' stored terms, and only requested months (and months
with no stored terms) are read from the facts again.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import duckdb

from etl import steps
from etl.contract import KPIS
from etl.warehouse import connect, migrations, read_sql

# The SQL file of each KPI, in kpis.md's order (tests add one to check the runner).
KPI_FILES: dict[str, str] = {kpi.code: kpi.sql_file for kpi in KPIS}

# The extra views of kpis.md "Beyond the table", brought up to date on every rebuild so the
# published copy always carries their current definition. Order matters: later ones read earlier.
VIEW_FILES: tuple[str, ...] = (
    "marts/views/agency_closure.sql",
    "marts/views/agency.sql",
    "marts/views/kpi_wide_month.sql",
    "marts/views/kpi_rollup.sql",
    "marts/views/kpi_ranking.sql",
    "marts/views/processing_time_working_days.sql",
    "marts/views/kpi_restated.sql",
    "marts/views/data_quality.sql",
    "marts/views/quarantine_by_reason.sql",
    "marts/views/focus_procedure.sql",
    "marts/views/pilot_compliance.sql",
    "marts/views/processing_time_by_procedure.sql",
    "marts/views/kpi_gap.sql",
)

# COMMENT ON every mart table, view and column, Vietnamese | English: what BI tools show.
COMMENTS_FILE = "marts/comments.sql"

_MART_VIEW = re.compile(r"CREATE\s+OR\s+REPLACE\s+VIEW\s+mart\.(\w+)", re.IGNORECASE)

# The views published as Parquet beside mart.kpi_value and mart.kpi_target.
PUBLISHED_VIEWS: tuple[str, ...] = (
    "kpi_wide_month",
    "kpi_rollup",
    "kpi_ranking",
    "kpi_agency_score",
    "processing_time_working_days",
    "kpi_restated",
    "focus_procedure",
    "pilot_compliance",
    "pilot_agency_registrations",
    "processing_time_by_procedure",
    "kpi_gap",
    "agency",
    "quarantine_by_reason",
)

_TEMP_OBJECTS = (
    ("VIEW", "kpi_catalogue_by_level"),
    ("VIEW", "kpi_agency_on_day"),
    ("VIEW", "kpi_catalogue"),
    ("TABLE", "kpi_result"),
    ("TABLE", "kpi_period_term"),
    ("TABLE", "kpi_period_month"),
    ("TABLE", "kpi_build_period"),
    ("TABLE", "kpi_fact_month"),
    ("TABLE", "kpi_requested_period"),
)


def _query(sql_file: str) -> str:
    """A KPI file as an embeddable query (no trailing semicolon)."""
    return read_sql(sql_file).strip().rstrip(";")


def _insert_kpi_results(con: duckdb.DuckDBPyConnection, params: dict) -> None:
    """Every KPI file's rows into kpi_result, in one INSERT: the KPIs are planned and scheduled
    once and their pipelines run side by side (decision 0031). An error DuckDB places on a line
    gets a note naming the file that line came from."""
    parts, first_lines, line = [], [], 2
    for sql_file in KPI_FILES.values():
        part = f"FROM (\n{steps.render(_query(sql_file), params, source=sql_file)}\n)"
        first_lines.append((line, sql_file))
        parts.append(part)
        line += part.count("\n") + 2
    try:
        con.execute("INSERT INTO kpi_result BY NAME\n" + "\nUNION ALL BY NAME\n".join(parts))
    except duckdb.Error as error:
        located = re.search(r"LINE (\d+):", str(error))
        files = [name for first, name in first_lines if located and first <= int(located.group(1))]
        if files:  # not for line 1, the INSERT's own
            error.add_note(f"in sql/{files[-1]}")
        raise


def _rebuild(con: duckdb.DuckDBPyConnection, requested_periods_sql: str) -> int:
    """Recompute mart.kpi_value for the periods `requested_periods_sql` creates as the temp table
    kpi_requested_period (period_type, period_start); returns the rows written."""
    con.execute(requested_periods_sql)
    steps.run_file(con, "marts/fact_months.sql")
    # The facts' and the payments' bounds, passed as literals so DuckDB prunes row groups.
    (fact_first, fact_end), = con.execute(
        "SELECT min(month_start), (max(month_start) + INTERVAL 1 MONTH)::DATE FROM kpi_fact_month"
    ).fetchall()
    steps.run_file(con, "marts/month_terms.sql", {"fact_first": fact_first, "fact_end": fact_end})
    steps.run_file(con, "marts/periods_build.sql")
    (period_first, period_end), = con.execute(
        "SELECT min(period_start), max(period_end) + 1 FROM kpi_build_period").fetchall()
    steps.run_file(con, "marts/period_terms.sql")
    steps.run_file(con, "marts/catalogue.sql")
    _insert_kpi_results(con, {"period_first": period_first, "period_end": period_end})
    steps.run_file(con, "marts/replace_values.sql")
    written = con.execute("SELECT count(*) FROM kpi_result WHERE denominator > 0").fetchall()[0][0]
    refresh_targets(con)
    ensure_views(con)
    # Only on success: after a failure the transaction is aborted (no statement would run) and
    # its rollback discards these temp objects anyway.
    _drop_temp_objects(con)
    return int(written)


def _drop_temp_objects(con: duckdb.DuckDBPyConnection) -> None:
    for kind, name in _TEMP_OBJECTS:
        con.execute(f"DROP {kind} IF EXISTS temp.{name}")


def _view_definitions() -> tuple[list[tuple[str, str]], str]:
    """(SQL, stamp) per view file, in order, and the stamp of the mart comments. A stamp names the
    file and fingerprints it with the migrations: DuckDB checks a view's column types against the
    ones it was created with, so a table change must re-create the views too, and a migration may
    add a column to document.
    """
    ddl = hashlib.sha256()
    for migration in migrations():
        ddl.update(migration.path.read_bytes())

    def stamp(sql_file: str, sql: str) -> str:
        digest = ddl.copy()
        digest.update(sql.encode("utf-8"))
        return f"{sql_file} sha256:{digest.hexdigest()[:16]}"

    definitions = []
    for sql_file in VIEW_FILES:
        sql = read_sql(sql_file)
        definitions.append((sql, stamp(sql_file, sql)))
    return definitions, stamp(COMMENTS_FILE, read_sql(COMMENTS_FILE))


def refresh_targets(con: duckdb.DuckDBPyConnection) -> None:
    """Bring kpi_value's target and met in step with mart.kpi_target where a target changed."""
    # The file ends with the CREATE of kpi_target_change, whose row count DuckDB returns: the
    # number of KPIs whose target changed (had the file a SELECT before it, that would come back).
    changed = con.execute(read_sql("marts/target_changes.sql")).fetchall()[0][0]
    if changed:
        con.execute(read_sql("marts/refresh_targets.sql"))
    con.execute("DROP TABLE temp.kpi_target_change")


def ensure_views(con: duckdb.DuckDBPyConnection) -> None:
    """Create or replace the extra mart views (kpis.md "Beyond the table") not current, and
    document the mart (sql/marts/comments.sql) when a view was (re)created or the comments changed.

    audit.view_stamp holds each view's stamp and the comments' (decision 0051: the views'
    comments are their documentation); a file runs again only when one of its views is missing or
    has another stamp, and the comments only then or when their own stamp differs, so a rebuild
    that changes no definition issues no DDL (decision 0031).
    """
    stamps = dict(con.execute("SELECT name, stamp FROM audit.view_stamp").fetchall())
    present = {name for name, in con.execute(
        "SELECT view_name FROM duckdb_views() "
        "WHERE schema_name = 'mart' AND database_name = current_database()"
    ).fetchall()}
    definitions, comments_stamp = _view_definitions()
    stale, restamped = False, []
    for sql, stamp in definitions:
        names = _MART_VIEW.findall(sql)
        # Once a file runs, the later ones run too: they read its views and keep their types.
        stale = stale or not names or any(
            name not in present or stamps.get(name) != stamp for name in names)
        if not stale:
            continue
        con.execute(sql)
        restamped += [(name, stamp) for name in names]
    # CREATE OR REPLACE VIEW drops the view's comments: a re-created view is documented again.
    if restamped or stamps.get(COMMENTS_FILE) != comments_stamp:
        con.execute(read_sql(COMMENTS_FILE))
        restamped.append((COMMENTS_FILE, comments_stamp))
    if restamped:
        names = [name for name, _ in restamped]
        con.execute("DELETE FROM audit.view_stamp WHERE list_contains(?, name)", [names])
        con.executemany("INSERT INTO audit.view_stamp VALUES (?, ?)", restamped)


def rebuild_pending(con: duckdb.DuckDBPyConnection) -> int:
    """Rebuild the periods in audit.kpi_dirty_period, then clear them.

    Runs inside the caller's transaction, so the dirty marks and the rows they stand for commit
    or roll back together. Returns the number of kpi_value rows written.
    """
    pending = con.execute("SELECT count(*) FROM audit.kpi_dirty_period").fetchall()[0][0]
    if not pending:
        # Nothing changed in the facts; targets and view definitions may have.
        refresh_targets(con)
        ensure_views(con)
        return 0
    written = _rebuild(
        con,
        "CREATE OR REPLACE TEMP TABLE kpi_requested_period AS "
        "SELECT DISTINCT period_type, period_start FROM audit.kpi_dirty_period",
    )
    con.execute("DELETE FROM audit.kpi_dirty_period")
    return written


def rebuild_all(con: duckdb.DuckDBPyConnection) -> int:
    """Rebuild mart.kpi_value from scratch (every period); clears the dirty periods too."""
    con.execute("DELETE FROM mart.kpi_value")
    # Every month is recomputed from the facts, into the tables as fact_months.sql defines them now.
    con.execute("DROP TABLE IF EXISTS intermediate.kpi_month_term")
    con.execute("DROP TABLE IF EXISTS intermediate.kpi_month_paid_dossier")
    written = _rebuild(con, read_sql("marts/periods_all.sql"))
    con.execute("DELETE FROM audit.kpi_dirty_period")
    return written


# --- scorecard ---------------------------------------------------------------------------------

def _latest_period(con: duckdb.DuckDBPyConnection, period_type: str):
    rows = con.execute(
        "SELECT max(period_start) FROM mart.kpi_value WHERE period_type = ?", [period_type]
    ).fetchall()
    return rows[0][0]


def _format_number(kpi_code: str, value: float | None) -> str:
    if value is None:
        return "—"
    if kpi_code.startswith("AVG_DAYS"):
        return f"{value:.1f} d"
    return f"{value * 100:.1f}%"


def _format_met(met: bool | None) -> str:
    return "—" if met is None else ("yes" if met else "NO")


def _text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * width for width in widths))
    lines += ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def _city_table(con: duckdb.DuckDBPyConnection, period_type: str, period_start) -> str:
    found = {
        kpi_code: (value, target, met, numerator, denominator)
        for kpi_code, value, target, met, numerator, denominator in con.execute(
            """
            SELECT kpi_code, value, target, met, numerator, denominator
            FROM mart.kpi_value
            WHERE period_type = ? AND period_start = ? AND agency_code = '*'
            """,
            [period_type, period_start],
        ).fetchall()
    }
    rows = []
    for kpi_code in KPI_FILES:
        value, target, met, numerator, denominator = found.get(kpi_code, (None,) * 5)
        basis = "" if denominator is None else (
            f"{numerator:,.1f} / {denominator:,}" if kpi_code.startswith("AVG_DAYS")
            else f"{int(numerator):,} / {denominator:,}"
        )
        rows.append([
            kpi_code, _format_number(kpi_code, value), _format_number(kpi_code, target),
            _format_met(met), basis,
        ])
    return _text_table(["KPI (all agencies)", "value", "target", "met", "numerator / denominator"], rows)


def _agency_tables(con: duckdb.DuckDBPyConnection, period_type: str, period_start, top: int) -> str:
    # Agencies are ordered by the share of their target KPIs met, then by how far above (or
    # below) the targets they are on average: a single ranking that reads well at both ends.
    # Codes absent from /donvi (inferred members, usually a handful of stray records) are not
    # ranked: with one or two KPIs measured they would top or tail the list on noise.
    ranked = con.execute(
        """
        SELECT
            v.agency_code,
            any_value(a.agency_name) AS agency_name,
            count(*) FILTER (WHERE v.met) AS targets_met,
            count(*) AS targets_measured,
            avg(v.value - v.target) AS mean_gap
        FROM mart.kpi_value AS v
        JOIN core.dim_agency AS a USING (agency_code)
        WHERE v.period_type = ? AND v.period_start = ? AND v.agency_code <> '*'
          AND v.target IS NOT NULL AND NOT a.is_inferred
        GROUP BY v.agency_code
        ORDER BY targets_met / targets_measured DESC, mean_gap DESC, v.agency_code
        """,
        [period_type, period_start],
    ).fetchall()
    if not ranked:
        return "(no agency has a KPI with a target in this period)"

    def rows_of(chunk):
        return [
            [code, (name or "")[:40], f"{met}/{measured}", f"{gap * 100:+.1f} pts"]
            for code, name, met, measured, gap in chunk
        ]

    header = ["agency", "name", "targets met", "mean gap to target"]
    best = ranked[:top]
    # Never list an agency twice when there are fewer than 2 × top of them.
    worst = list(reversed(ranked[max(top, len(ranked) - top):]))
    parts = [f"Best {len(best)} agencies on the target KPIs:", _text_table(header, rows_of(best))]
    if worst:
        parts += ["", f"Worst {len(worst)} agencies on the target KPIs:", _text_table(header, rows_of(worst))]
    return "\n".join(parts)


def scorecard(con: duckdb.DuckDBPyConnection, top: int = 5) -> str:
    """A readable text scorecard of the latest month and the latest quarter."""
    sections = []
    for period_type in ("month", "quarter"):
        period_start = _latest_period(con, period_type)
        if period_start is None:
            sections.append(f"No {period_type} has KPI values yet.")
            continue
        label = (
            f"{period_start:%m/%Y}" if period_type == "month"
            else f"Q{(period_start.month - 1) // 3 + 1}/{period_start.year}"
        )
        sections.append(
            "\n".join([
                f"=== {period_type.capitalize()} {label} (from {period_start}) ===",
                _city_table(con, period_type, period_start),
                "",
                _agency_tables(con, period_type, period_start, top),
            ])
        )
    return "\n\n".join(sections)


def scorecard_from_file(path: Path | str, top: int = 5) -> str:
    """The scorecard read from a warehouse file opened read-only (e.g. the published copy)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `python -m etl run` first")
    con = connect(path, read_only=True)
    try:
        return scorecard(con, top=top)
    finally:
        con.close()
