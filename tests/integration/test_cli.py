"""`python -m etl` as operations.md specifies it: commands, exit codes, one clear line on failure,
and a warehouse left as it was when a run fails."""
from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import duckdb

from support import REPO_ROOT, env_for

COMMANDS = ("emulator", "run", "kpi", "scorecard")


def etl(*args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "etl", *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )


def file_digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def table_contents(path: Path) -> dict[str, list[tuple]]:
    """Every table of the warehouse, rows sorted, for exact comparison."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' ORDER BY 1, 2"
        ).fetchall()
        return {
            f"{schema}.{name}": sorted(
                con.execute(f'SELECT * FROM "{schema}"."{name}"').fetchall(), key=repr
            )
            for schema, name in tables
        }
    finally:
        con.close()


def test_help_lists_every_command():
    result = etl("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout
        sub = etl(command, "--help")
        assert sub.returncode == 0, sub.stderr
        assert "usage:" in sub.stdout


def test_emulator_help_has_the_options_of_operations_md():
    text = etl("emulator", "--help").stdout
    for option in ("--port", "--token", "--seed", "--start", "--end", "--faults"):
        assert option in text


def test_run_refuses_without_pii_key_outside_the_demo(emulator, settings_for):
    settings = settings_for(emulator)
    env = env_for(settings)
    env.pop("TTHC_PII_KEY")
    env.pop("TTHC_DEMO", None)
    result = etl("run", "--start", "2023-01-02", "--end", "2023-01-03", env=env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "TTHC_PII_KEY" in lines[0]
    assert not settings.warehouse.exists()
    assert not settings.raw_dir.exists() or not any(settings.raw_dir.rglob("data-*"))


def test_run_with_a_wrong_token_fails_with_one_line_and_no_token(emulator, settings_for):
    settings = settings_for(emulator)
    env = env_for(settings)
    env["TTHC_API_TOKEN"] = "wrong-token-31337"
    result = etl("run", "--start", "2023-01-02", "--end", "2023-01-03", env=env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "token" in lines[0].lower()
    assert "wrong-token-31337" not in result.stderr + result.stdout
    assert not settings.warehouse.exists()


def test_unreachable_api_fails_with_one_line_and_leaves_the_warehouse(emulator, settings_for, tmp_path):
    settings = settings_for(emulator)
    env = env_for(settings)
    ok = etl("run", "--start", "2023-01-02", "--end", "2023-01-04", env=env)
    assert ok.returncode == 0, ok.stderr
    before_wh, before_pub = file_digest(settings.warehouse), file_digest(settings.published)

    from support import free_port

    env["TTHC_API_URL"] = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env["TTHC_SOURCE_MAX_RETRY_SECONDS"] = "3"  # keep the failing run short
    failed = etl("run", "--start", "2023-01-04", "--end", "2023-01-06", env=env)
    assert failed.returncode != 0
    assert len(failed.stderr.strip().splitlines()) == 1, failed.stderr
    assert file_digest(settings.warehouse) == before_wh
    assert file_digest(settings.published) == before_pub


def test_same_window_twice_leaves_every_table_identical(emulator, settings_for):
    settings = settings_for(emulator)
    env = env_for(settings)
    first = etl("run", "--start", "2023-01-10", "--end", "2023-01-13", env=env)
    assert first.returncode == 0, first.stderr
    before = table_contents(settings.warehouse)
    assert before["core.fact_dossier"], "the window loaded no dossiers"
    second = etl("run", "--start", "2023-01-10", "--end", "2023-01-13", env=env)
    assert second.returncode == 0, second.stderr
    assert table_contents(settings.warehouse) == before
    published = table_contents(settings.published)
    assert published["mart.kpi_value"] == before["mart.kpi_value"]


def test_counts_balance_in_audit(emulator, settings_for):
    settings = settings_for(emulator)
    result = etl("run", "--start", "2023-01-15", "--end", "2023-01-18", env=env_for(settings))
    assert result.returncode == 0, result.stderr
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    rows = con.execute(
        "SELECT entity, extracted, loaded, quarantined, duplicates FROM audit.run_counts"
    ).fetchall()
    con.close()
    assert {row[0] for row in rows} == {"dossier", "payment", "agency", "procedure", "pilot"}
    # No TTHC_PILOT_FILE: the run read no pilot, and says so with an empty window.
    assert [row[1:] for row in rows if row[0] == "pilot"] == [(0, 0, 0, 0)]
    for entity, extracted, loaded, quarantined, duplicates in rows:
        assert extracted == loaded + quarantined + duplicates, entity
    assert sum(row[1] for row in rows if row[0] == "dossier") > 0
