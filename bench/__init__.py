"""Benchmarks: `python -m bench [--quick]` runs `main(quick)` of every `bench/bench_*.py`.

Shared helpers for benches that need the emulator: start it as a subprocess on a free port and
stop it by PID.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_TOKEN = "bench-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningEmulator:
    url: str
    token: str
    process: subprocess.Popen

    def stop(self, timeout: float = 10) -> None:
        if self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=timeout)

    def __enter__(self) -> "RunningEmulator":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_emulator(args: list[str], *, token: str = BENCH_TOKEN, ready_timeout: float = 600) -> RunningEmulator:
    """Start `python -m etl emulator <args>` on a free port; returns once it prints its URL."""
    port = free_port()
    command = [
        sys.executable, "-m", "etl", "emulator",
        "--host", "127.0.0.1", "--port", str(port), "--token", token, *args,
    ]
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    emulator = RunningEmulator(f"http://127.0.0.1:{port}", token, process)
    deadline = time.monotonic() + ready_timeout
    output: list[str] = []
    try:
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                if process.poll() is not None:
                    raise RuntimeError(f"emulator exited {process.returncode}: {''.join(output)[-2000:]}")
                continue
            output.append(line)
            if emulator.url in line:
                # Keep draining its output so it never blocks on a full pipe.
                threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
                return emulator
        raise RuntimeError(f"emulator not ready after {ready_timeout}s: {''.join(output)[-2000:]}")
    except BaseException:
        emulator.stop()
        raise
