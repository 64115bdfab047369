"""Helpers the tests share (imported as `from support import …`: pyproject puts tests/ on the path).

Fixtures and hooks live in tests/conftest.py; everything a test calls lives here:
  support.emulator     the real emulator as a process, settings and environments of temp warehouses
  support.airflow      isolated AIRFLOW_HOMEs, the Airflow CLI, dag.test() in a fresh interpreter
  support.reliability  warehouse states compared by content, pipeline runs, file digests
  support.children     scripts the tests run as child processes (dag.test, readers, the zygote)
"""
from .emulator import (
    TEST_PII_KEY, TEST_TOKEN, Emulator, env_for, free_port, settings_under, start_emulator, stop_process,
)
from .paths import DAGS_DIR, FIXTURES_DIR, REPO_ROOT

__all__ = [
    "DAGS_DIR", "FIXTURES_DIR", "REPO_ROOT", "TEST_PII_KEY", "TEST_TOKEN", "Emulator", "env_for",
    "free_port", "settings_under", "start_emulator", "stop_process",
]
