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


def etl_env(emulator: RunningEmulator, workdir: Path) -> dict[str, str]:
    """The environment of a `python -m etl` child against `emulator`, its warehouse in `workdir`
    (any TTHC_* setting of the caller left out)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TTHC_")}
    env.update(
        TTHC_API_URL=emulator.url, TTHC_API_TOKEN=emulator.token,
        TTHC_WAREHOUSE=str(workdir / "tthc.duckdb"), TTHC_RAW_DIR=str(workdir / "raw"),
        TTHC_PUBLISHED=str(workdir / "published" / "tthc.duckdb"), TTHC_PII_KEY="bench-pii-key",
        PYTHONPATH=str(REPO_ROOT),
    )
    return env


# ------------------------------------------------------------------ measuring and reporting


class TreePeak:
    """RSS high-water mark of a process and its descendants, sampled in a thread:
    `with TreePeak(pid) as peak: …; peak.mib`. The RSS of the known processes is read every
    `interval` (one /proc read each); the process tree is re-listed only every `rescan` seconds,
    because listing children scans all of /proc and would steal the GIL from the measured work.
    `exclude` PIDs (the emulator, a child of the bench process) are left out."""

    def __init__(self, pid: int | None = None, exclude: tuple[int, ...] = (), interval: float = 0.05,
                 rescan: float = 1.0):
        self.pid = os.getpid() if pid is None else pid
        self.exclude, self.interval, self.rescan = set(exclude), interval, rescan
        self.mib = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._processes: list = []
        self._listed = 0.0

    def _list(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
            self._processes = [root, *(p for p in root.children(recursive=True)
                                       if p.pid not in self.exclude)]
        except psutil.Error:
            self._processes = []
        self._listed = time.monotonic()

    def _tree_rss(self) -> int:
        import psutil

        if time.monotonic() - self._listed >= self.rescan:
            self._list()
        total = 0
        for process in self._processes:
            try:
                total += process.memory_info().rss
            except psutil.Error:
                pass
        return total

    def _sample(self) -> None:
        while not self._done.is_set():
            self.mib = max(self.mib, self._tree_rss() / 2**20)
            self._done.wait(self.interval)

    def start(self) -> "TreePeak":
        self._list()
        self._thread.start()
        return self

    def stop(self) -> float:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()
        return self.mib

    def __enter__(self) -> "TreePeak":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process has used so far (its threads included)."""
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


@dataclass
class Row:
    workload: str
    ours_s: float
    rows: int
    peak_mib: float | None = None
    baselines: dict[str, float] | None = None  # name -> seconds for the same rows
    target: str = ""
    checks: dict[str, bool] | None = None  # each condition of the target -> met in this run


RESULTS: list[Row] = []


def record(workload: str, ours_s: float, rows: int, peak_mib: float | None = None,
           baselines: dict[str, float] | None = None, target: str = "",
           ok: bool | dict[str, bool] | None = None) -> Row:
    """Keep one line of the summary table `python -m bench` prints at the end. `ok`: whether the
    target was met, or for a target of several conditions {condition: met}, so that the summary
    says which of them a run missed."""
    checks = None if ok is None else (dict(ok) if isinstance(ok, dict) else {target: bool(ok)})
    row = Row(workload, ours_s, rows, peak_mib, baselines or {}, target, checks)
    RESULTS.append(row)
    return row


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def median_rows(rows: list[Row]) -> list[tuple[Row, int, str]]:
    """One row per workload (in first-seen order): the medians of its repeated runs, how many
    runs, and how many of them met the target (`verdict`)."""
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.workload, []).append(row)
    merged = []
    for workload, runs in groups.items():
        peaks = [r.peak_mib for r in runs if r.peak_mib is not None]
        names = [name for name in runs[0].baselines if all(name in r.baselines for r in runs)]
        median = Row(
            workload, _median([r.ours_s for r in runs]), runs[0].rows,
            _median(peaks) if peaks else None,
            {name: _median([r.baselines[name] for r in runs]) for name in names},
            runs[0].target,
        )
        merged.append((median, len(runs), verdict([r.checks for r in runs if r.checks is not None])))
    return merged


def verdict(runs: list[dict[str, bool]]) -> str:
    """How many runs met the target ("MET 2/3"; "MET"/"MISSED" for one run), and for a target of
    several conditions, each condition's count where a run missed any: "MET 0/3 (<120s 3/3,
    >=20x NAIVE 0/3)"."""
    if not runs:
        return ""
    met = sum(all(checks.values()) for checks in runs)
    overall = ("MET" if met else "MISSED") if len(runs) == 1 else f"MET {met}/{len(runs)}"
    conditions = list(runs[0])
    if len(conditions) < 2 or met == len(runs):
        return overall
    if len(runs) == 1:
        return f"{overall} ({', '.join(name for name in conditions if not runs[0].get(name))})"
    counts = ", ".join(f"{name} {sum(bool(checks.get(name)) for checks in runs)}/{len(runs)}"
                       for name in conditions)
    return f"{overall} ({counts})"


def summary_table(rows: list[Row] | None = None) -> str:
    """The summary: per workload the median of its runs (`runs` says how many)."""
    rows = RESULTS if rows is None else rows
    header = ["workload", "runs", "ours s", "baselines s", "ours/baseline speed", "rows", "rows/s",
              "peak MiB", "target", ""]
    lines = []
    for row, runs, status in median_rows(rows):
        base = ", ".join(f"{name} {seconds:.1f}" for name, seconds in row.baselines.items())
        ratios = ", ".join(f"{seconds / row.ours_s:.2f}x {name}"
                           for name, seconds in row.baselines.items() if row.ours_s > 0)
        lines.append([
            row.workload, str(runs), f"{row.ours_s:.2f}", base or "-", ratios or "-",
            f"{row.rows:,}" if row.rows else "-",
            f"{row.rows / row.ours_s:,.0f}" if row.rows and row.ours_s > 0 else "-",
            f"{row.peak_mib:,.0f}" if row.peak_mib is not None else "-", row.target, status,
        ])
    widths = [max(len(str(x)) for x in column) for column in zip(header, *lines)]
    render = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([render(header), render(["-" * w for w in widths]), *map(render, lines)])
