"""The real emulator as a process over loopback HTTP, and settings of temp warehouses reading it.

Every process started here is stopped by PID (`stop_process`, `Emulator.stop`).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from .paths import REPO_ROOT

TEST_TOKEN = "test-token-6f1c"  # scanned for by the secrets tests: it must never reach a file
TEST_PII_KEY = "test-pii-key-2b9e"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Emulator:
    url: str
    token: str
    process: subprocess.Popen
    args: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    def control(self, path: str, payload: dict) -> dict:
        """POST to the emulator's control endpoints (/_emulator/…)."""
        response = requests.post(
            f"{self.url}/_emulator/{path}",
            json=payload,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen, timeout: float = 10, group: bool = False) -> None:
    """SIGTERM to a still running process by its PID (to its whole process group when `group`),
    then SIGKILL if it has not exited after `timeout` seconds."""
    if process.poll() is not None:
        return
    kill = os.killpg if group else os.kill
    kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


def start_emulator(
    *,
    seed: int = 7,
    start: str = "2023-01-01",
    end: str = "2023-03-01",
    dossiers_per_day: int = 40,
    token: str = TEST_TOKEN,
    extra: list[str] | None = None,
    ready_timeout: float = 120,
) -> Emulator:
    port = free_port()
    args = [
        sys.executable, "-m", "etl", "emulator",
        "--host", "127.0.0.1", "--port", str(port), "--token", token,
        "--seed", str(seed), "--start", start, "--end", end,
        "--dossiers-per-day", str(dossiers_per_day),
        *(extra or []),
    ]
    process = subprocess.Popen(
        args, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.monotonic() + ready_timeout
    url = f"http://127.0.0.1:{port}"
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                raise RuntimeError(f"emulator exited {process.returncode}: {''.join(lines)[-2000:]}")
            continue
        lines.append(line)
        if url in line:
            # Keep draining stdout so the emulator never blocks on a full pipe.
            threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
            return Emulator(url=url, token=token, process=process, args=args)
    stop_process(process)
    raise RuntimeError(f"emulator not ready after {ready_timeout}s: {''.join(lines)[-2000:]}")



def settings_under(root: Path, emu: Emulator):
    """Settings of a warehouse folder under `root`, reading `emu` (for module-scoped fixtures)."""
    from etl.config import Settings

    return Settings(
        api_url=emu.url,
        api_token=emu.token,
        warehouse=root / "warehouse" / "tthc.duckdb",
        raw_dir=root / "warehouse" / "raw",
        published=root / "warehouse" / "published" / "tthc.duckdb",
        pii_key=TEST_PII_KEY,
    )


def env_for(settings) -> dict[str, str]:
    """The environment a `python -m etl` subprocess needs for these settings."""
    env = dict(os.environ)
    env.update(
        TTHC_API_URL=settings.api_url,
        TTHC_API_TOKEN=settings.api_token,
        TTHC_WAREHOUSE=str(settings.warehouse),
        TTHC_RAW_DIR=str(settings.raw_dir),
        TTHC_PUBLISHED=str(settings.published),
        TTHC_PII_KEY=settings.pii_key or "",
    )
    return env
