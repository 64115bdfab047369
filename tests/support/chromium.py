"""Headless Chromium's command line, shared by the report and Superset tests: the same flags, and a
host-resolver rule under which any name lookup fails (loopback excepted only when asked)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium")

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_command(*args: str, profile: Path, allow_loopback: bool = False) -> list[str]:
    """Chromium's command line with the profile `profile`, then `args`. Any name lookup fails, so
    nothing is fetched from outside this machine; `allow_loopback` keeps 127.0.0.1 reachable."""
    if CHROMIUM is None:  # never a silent skip: the rendering is what these tests check
        pytest.fail("chromium is not installed: as root, apt-get install -y chromium (make test does)")
    rule = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" if allow_loopback else "MAP * ~NOTFOUND"
    return [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--host-resolver-rules={rule}", *args]
