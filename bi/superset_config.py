"""Superset's configuration for the TTHC warehouse (SUPERSET_CONFIG_PATH points here).

Read by `make bi`, the compose service `superset` and tests/e2e/test_superset.py alike, through
bi/start.py. Secrets come from the environment and have no default: SUPERSET_SECRET_KEY must be
set (bi/start.py refuses to start without it).

Choices (docs/decisions/0060-superset-reads-the-published-copy.md):
- the DuckDB file is TTHC_PUBLISHED opened read-only (the database in bi/superset/ carries
  connect_args {"read_only": true}); each query opens its own connection (Superset's NullPool), so
  the first query after a publish reads the new copy;
- chart results are cached for at most CHART_CACHE_SECONDS, so a nightly publish is seen within
  five minutes (Superset's own default keeps them a day);
- the schemas listed are those of the opened file, unqualified (`mart`, not `tthc.mart`), so a
  dataset made in the UI does not depend on the file's name, and schema access can be granted
  on `mart` alone.
"""
from __future__ import annotations

import os
from pathlib import Path

SUPERSET_HOME = Path(os.environ.get("SUPERSET_HOME") or Path.home() / ".superset")

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]  # no default: start.py checks it first

# Superset's own metadata (users, dashboards): SQLite in SUPERSET_HOME unless given.
SQLALCHEMY_DATABASE_URI = os.environ.get(
    "SUPERSET_DATABASE_URI", f"sqlite:///{SUPERSET_HOME / 'superset.db'}?check_same_thread=false"
)

# Freshness: a publish is seen within this many seconds.
CHART_CACHE_SECONDS = int(os.environ.get("SUPERSET_CHART_CACHE_SECONDS", "300"))
CACHE_DEFAULT_TIMEOUT = CHART_CACHE_SECONDS
_CACHE_DIR = str(SUPERSET_HOME / "cache")
DATA_CACHE_CONFIG = {
    "CACHE_TYPE": "FileSystemCache",
    "CACHE_DIR": _CACHE_DIR + "/data",
    "CACHE_DEFAULT_TIMEOUT": CHART_CACHE_SECONDS,
    "CACHE_KEY_PREFIX": "tthc_data_",
}
CACHE_CONFIG = {
    "CACHE_TYPE": "FileSystemCache",
    "CACHE_DIR": _CACHE_DIR + "/meta",
    "CACHE_DEFAULT_TIMEOUT": CHART_CACHE_SECONDS,
    "CACHE_KEY_PREFIX": "tthc_meta_",
}

# Vietnamese first; English for the rest of the team.
BABEL_DEFAULT_LOCALE = "vi"
LANGUAGES = {"vi": {"flag": "vn", "name": "Tiếng Việt"}, "en": {"flag": "us", "name": "English"}}

# The BI role (bi/start.py creates it): the Gamma role's menus, SQL Lab, and schema `mart` only.
BI_ROLE = os.environ.get("SUPERSET_BI_ROLE", "TTHC BI")

# Served on loopback behind whatever the province puts in front; no CDN, no telemetry.
TALISMAN_ENABLED = False
WTF_CSRF_ENABLED = True
SUPERSET_WEBSERVER_TIMEOUT = 120
FEATURE_FLAGS = {"DASHBOARD_NATIVE_FILTERS": True, "ALERT_REPORTS": False}
PREVENT_UNSAFE_DB_CONNECTIONS = True
SQLLAB_CTAS_NO_LIMIT = False


def FLASK_APP_MUTATOR(app) -> None:  # noqa: N802 - Superset's name; runs once the app exists
    _schemas_of_the_opened_file()


def _schemas_of_the_opened_file() -> None:
    """duckdb-engine lists schemas as `<file name>.<schema>` (and those of DuckDB's built-in
    `system` and `temp` catalogs). List the opened file's schemas by their own names instead."""
    from sqlalchemy import text
    from superset.db_engine_specs.duckdb import DuckDBEngineSpec

    def get_schema_names(cls, inspector):  # noqa: ANN001 - Superset's signature
        rows = inspector.bind.execute(text(
            "SELECT schema_name FROM duckdb_schemas() "
            "WHERE database_name = current_database() AND NOT internal"
        ))
        return {name for (name,) in rows if not name.startswith("pg_")}

    DuckDBEngineSpec.get_schema_names = classmethod(get_schema_names)
