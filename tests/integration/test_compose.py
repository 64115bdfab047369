"""docker-compose.yml ships no secret: each comes from the environment with no default, compose
refuses to start without it (naming it), and published ports bind to loopback by default.

Validated by compose itself (`docker compose config`, or Debian's `docker-compose`), with an empty
env file so a developer's .env never counts."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
import yaml

from support import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
SECRETS = (
    "AIRFLOW_JWT_SECRET",
    "AIRFLOW_FERNET_KEY",
    "POSTGRES_PASSWORD",
    "TTHC_PII_KEY",
    "SUPERSET_SECRET_KEY",
    "SUPERSET_ADMIN_PASSWORD",
)
# Variables that may keep a default: none of them is a secret.
NOT_SECRETS = {
    "TTHC_API_URL", "TTHC_API_TOKEN", "TTHC_DEMO", "TTHC_PILOT_FILE", "TTHC_BIND",
    "SUPERSET_ADMIN_USER", "SUPERSET_PORT", "SUPERSET_WORKERS",
}
INSTALL = "apt-get install -y docker-compose  (Debian's package; or Docker's compose plugin)"


def compose_command() -> list[str]:
    """`docker compose` where the plugin exists, else `docker-compose`; as root on Debian, the
    `docker-compose` package is installed when neither is there (as .ci/run does for chromium)."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "docker-compose"], env=env,
                       capture_output=True, timeout=900)
        if shutil.which("docker-compose"):
            return ["docker-compose"]
    pytest.fail(f"neither `docker compose` nor `docker-compose` is installed: {INSTALL}")


@pytest.fixture(scope="module")
def compose(tmp_path_factory):
    command = compose_command()
    env_file = tmp_path_factory.mktemp("compose") / "empty.env"
    env_file.write_text("")

    def config(variables: dict[str, str]) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k not in SECRETS and k not in NOT_SECRETS}
        env.update(variables)
        return subprocess.run(
            [*command, "--env-file", str(env_file), "-f", str(COMPOSE_FILE), "config"],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
        )

    return config


ALL_SET = {name: f"value-of-{name.lower()}" for name in SECRETS}


def test_config_is_valid_with_every_secret_set_and_uses_them(compose):
    done = compose(ALL_SET)
    assert done.returncode == 0, done.stderr
    doc = yaml.safe_load(done.stdout)
    services = doc["services"]
    worker = services["airflow-worker"]["environment"]
    assert worker["AIRFLOW__API_AUTH__JWT_SECRET"] == ALL_SET["AIRFLOW_JWT_SECRET"]
    assert worker["AIRFLOW__CORE__FERNET_KEY"] == ALL_SET["AIRFLOW_FERNET_KEY"]
    assert worker["TTHC_PII_KEY"] == ALL_SET["TTHC_PII_KEY"]
    password = ALL_SET["POSTGRES_PASSWORD"]
    assert f"airflow:{password}@postgres" in worker["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert f"airflow:{password}@postgres" in worker["AIRFLOW__CELERY__RESULT_BACKEND"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == password
    superset = services["superset"]
    assert superset["environment"]["SUPERSET_SECRET_KEY"] == ALL_SET["SUPERSET_SECRET_KEY"]
    assert superset["environment"]["SUPERSET_ADMIN_PASSWORD"] == ALL_SET["SUPERSET_ADMIN_PASSWORD"]
    # The published warehouse is mounted read-only into Superset.
    mounts = superset["volumes"]
    assert any(
        (m.get("target") if isinstance(m, dict) else m.split(":")[1]) == "/opt/tthc/warehouse"
        and (m.get("read_only") if isinstance(m, dict) else m.endswith(":ro"))
        for m in mounts
    ), mounts
    assert superset["environment"]["TTHC_PUBLISHED"].startswith("/opt/tthc/warehouse/published/")


@pytest.mark.parametrize("missing", SECRETS)
def test_compose_refuses_to_start_naming_each_missing_secret(compose, missing):
    variables = {k: v for k, v in ALL_SET.items() if k != missing}
    done = compose(variables)
    assert done.returncode != 0, f"compose accepted a file without {missing}"
    assert missing in done.stderr, done.stderr
    # An empty value is as missing as an unset one.
    done = compose({**variables, missing: ""})
    assert done.returncode != 0 and missing in done.stderr, done.stderr


def _published_ports(doc: dict) -> list:
    return [p for service in doc["services"].values() for p in service.get("ports", [])]


def test_published_ports_bind_to_loopback_unless_configured(compose):
    done = compose(ALL_SET)
    ports = _published_ports(yaml.safe_load(done.stdout))
    assert ports, "Airflow's UI and Superset are published"
    for port in ports:
        host_ip = port.get("host_ip") if isinstance(port, dict) else str(port).split(":")[0]
        assert host_ip == "127.0.0.1", port
    done = compose({**ALL_SET, "TTHC_BIND": "0.0.0.0"})
    for port in _published_ports(yaml.safe_load(done.stdout)):
        host_ip = port.get("host_ip") if isinstance(port, dict) else str(port).split(":")[0]
        assert host_ip == "0.0.0.0", port


def test_no_literal_secret_default_remains_in_the_file():
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    assert "change-me" not in text and "tthc-local-jwt-secret" not in text
    # Every variable with a default is a known non-secret; every secret has `:?`.
    for name, operator in re.findall(r"\$\{([A-Z0-9_]+)(:?[-?])", text):
        if name in SECRETS:
            assert operator == ":?", f"{name} must be required with ${{{name}:?…}}"
        else:
            assert name in NOT_SECRETS, f"{name} has a default: is it a secret?"
    for name in SECRETS:
        assert f"${{{name}:?" in text, f"{name} is not required"
    # No password written into a URL or an environment entry.
    assert not re.search(r"://[^:/\s]+:(?!\$\{)[^@\s]+@", text), "a password is written in a URL"
    for line in text.splitlines():
        match = re.match(r"\s*([A-Z0-9_]*(PASSWORD|SECRET|FERNET_KEY|PII_KEY)[A-Z0-9_]*):\s*(.+)", line)
        if match:
            assert match.group(3).startswith("${") and ":?" in match.group(3), line


def test_env_example_lists_every_secret_without_a_value():
    lines = (REPO_ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    values = dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    for name in SECRETS:
        assert name in values, f".env.example does not list {name}"
        assert values[name] == "", f".env.example gives {name} a value"
