"""Start Superset on the published warehouse: `make bi`, the compose service `superset` and
tests/e2e/test_superset.py all run this script with Superset's own Python (.venv-bi, or the image's).

    SUPERSET_SECRET_KEY=… SUPERSET_ADMIN_PASSWORD=… python bi/start.py [--host H] [--port P]

1. checks the secrets (no default: it refuses to start without them);
2. `superset db upgrade`, the admin user from the environment, `superset init`;
3. imports the bundle bi/superset/ (database, datasets, charts, dashboard) with Superset's
   assets importer, its database pointed at TTHC_PUBLISHED, opened read-only;
4. makes the BI role (schema `mart` only) and, when SUPERSET_BI_USER and SUPERSET_BI_PASSWORD are
   set, a user with that role;
5. serves with gunicorn on --host:--port (127.0.0.1:8088), replacing this process (`--setup-only`
   stops after step 4).

Environment: SUPERSET_SECRET_KEY, SUPERSET_ADMIN_PASSWORD (required); SUPERSET_ADMIN_USER (admin);
TTHC_PUBLISHED (warehouse/published/tthc.duckdb under the repository); SUPERSET_HOME (warehouse/superset
under the repository: Superset's metadata DB and chart cache); SUPERSET_WORKERS (2).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
BUNDLE = HERE / "superset"
DATABASE_NAME = "TTHC"
URI_PLACEHOLDER = "${TTHC_PUBLISHED}"
REQUIRED = ("SUPERSET_SECRET_KEY", "SUPERSET_ADMIN_PASSWORD")


def fail(message: str) -> None:
    print(f"bi: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def environment() -> dict[str, str]:
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        fail(f"set {', '.join(missing)} (no default; e.g. `openssl rand -base64 42`)")
    env = dict(os.environ)
    env.setdefault("SUPERSET_HOME", str(REPO_ROOT / "warehouse" / "superset"))
    env.setdefault("TTHC_PUBLISHED", str(REPO_ROOT / "warehouse" / "published" / "tthc.duckdb"))
    env["TTHC_PUBLISHED"] = str(Path(env["TTHC_PUBLISHED"]).resolve())
    env["SUPERSET_CONFIG_PATH"] = str(HERE / "superset_config.py")
    env.setdefault("FLASK_APP", "superset.app:create_app()")
    env.setdefault("SUPERSET_ADMIN_USER", "admin")
    Path(env["SUPERSET_HOME"]).mkdir(parents=True, exist_ok=True)
    return env


def superset(env: dict[str, str], *args: str) -> None:
    """Run Superset's CLI (from this interpreter's environment); stop on failure."""
    command = [str(Path(sys.executable).parent / "superset"), *args]
    shown = " ".join(a if not a.startswith("--password=") else "--password=***" for a in args)
    print(f"bi: superset {shown}", flush=True)
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        print(done.stdout[-4000:], file=sys.stderr)
        fail(f"superset {shown} failed (exit {done.returncode})")


def bundle_contents(published: str) -> dict[str, str]:
    """The bundle's files as Superset's importers read them, its database at `published`."""
    return {
        path.relative_to(BUNDLE).as_posix():
            path.read_text(encoding="utf-8").replace(URI_PLACEHOLDER, published)
        for path in sorted(BUNDLE.rglob("*.yaml"))
    }


def setup_in_app(env: dict[str, str]) -> None:
    """Import the bundle, then make the BI role (and its user)."""
    os.environ.update(env)
    from flask import g
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from superset import db, security_manager as sm
        from superset.commands.importers.v1.assets import ImportAssetsCommand
        from superset.models.core import Database

        # Superset's assets importer (the one behind /api/v1/assets/import/): it overwrites the
        # database, datasets, charts and dashboard, so each start applies the bundle as it is.
        # (`superset import-dashboards` keeps an existing database, datasets and charts.)
        g.user = sm.find_user(username=env["SUPERSET_ADMIN_USER"])
        ImportAssetsCommand(bundle_contents(env["TTHC_PUBLISHED"])).run()
        print(f"bi: imported {BUNDLE.relative_to(REPO_ROOT)} (database at {env['TTHC_PUBLISHED']}, "
              "read-only)", flush=True)

        role_name = app.config["BI_ROLE"]
        role = sm.find_role(role_name) or sm.add_role(role_name)
        permissions = set()
        for base in ("Gamma", "sql_lab"):
            found = sm.find_role(base)
            if found is None:
                fail(f"role {base} missing: `superset init` did not run")
            permissions.update(found.permissions)
        database = db.session.query(Database).filter_by(database_name=DATABASE_NAME).one()
        schema_perm = sm.get_schema_perm(database.database_name, None, "mart")
        permissions.add(sm.add_permission_view_menu("schema_access", schema_perm))
        role.permissions = sorted(permissions, key=lambda pv: pv.id)
        user_name, password = env.get("SUPERSET_BI_USER"), env.get("SUPERSET_BI_PASSWORD")
        if user_name and password:
            user = sm.find_user(username=user_name)
            if user is None:
                sm.add_user(user_name, "TTHC", "BI", f"{user_name}@tthc.invalid", [role], password=password)
            else:
                user.roles = [role]
                sm.reset_password(user.id, password)
        db.session.commit()
    print(f"bi: role {role_name!r} reads schema mart only ({schema_perm})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("SUPERSET_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SUPERSET_PORT", "8088")))
    parser.add_argument("--setup-only", action="store_true", help="set up, do not serve")
    args = parser.parse_args()

    env = environment()
    if not Path(env["TTHC_PUBLISHED"]).exists():
        print(f"bi: no published warehouse at {env['TTHC_PUBLISHED']} yet: charts fail until "
              "the pipeline publishes one", file=sys.stderr, flush=True)
    superset(env, "db", "upgrade")
    admin = env["SUPERSET_ADMIN_USER"]
    superset(env, "fab", "create-admin", f"--username={admin}", "--firstname=TTHC",
             "--lastname=Admin", f"--email={admin}@tthc.invalid",
             f"--password={env['SUPERSET_ADMIN_PASSWORD']}")
    # An admin made by an earlier start keeps this start's password.
    superset(env, "fab", "reset-password", f"--username={admin}",
             f"--password={env['SUPERSET_ADMIN_PASSWORD']}")
    superset(env, "init")
    setup_in_app(env)
    if args.setup_only:
        return
    workers = env.get("SUPERSET_WORKERS", "2")
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    print(f"bi: serving http://{args.host}:{args.port} (user {admin})", flush=True)
    os.execve(gunicorn, [
        gunicorn, "--bind", f"{args.host}:{args.port}", "--workers", workers, "--threads", "8",
        "--timeout", "120", "--limit-request-line", "0", "--limit-request-field_size", "0",
        "superset.app:create_app()",
    ], env)


if __name__ == "__main__":
    main()
