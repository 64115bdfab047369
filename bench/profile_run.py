"""Where a backfill's CPU goes: `python -m bench.profile_run [--start D] [--end D] [--size S]`.

Runs `python -m etl run` against a fresh emulator under py-spy (all threads of the run and of its
extraction process, native frames, so DuckDB's work is charged to the stage that asked for it)
and prints the busy samples per stage:
the first frames of our own code on each stack (e.g. `validate > _stage_entity > stage_entity`),
with their hottest leaf functions. Samples of threads waiting (locks, sockets, sleeps) are left
out. The raw profile is kept (`--raw`) for flame graphs.
"""
from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import REPO_ROOT, etl_env, start_emulator

# Leaf functions of a thread that waits rather than works.
_WAITING = ("poll", "read", "recv", "futex", "sem_wait", "pthread_cond_wait", "pthread_cond_timedwait",
            "epoll_wait", "select", "lock.acquire", "Condition.wait", "wait", "sleep", "accept",
            "nanosleep", "clock_nanosleep", "do_futex_wait", "__futex_abstimed_wait_common",
            "lock_PyThread_acquire_lock", "PyThread_acquire_lock_timed")


def _frame_name(frame: str) -> str:
    return frame.split(" (")[0]


def stage_of(frames: list[str], depth: int = 4) -> str:
    """The stack's first `depth` frames in our package, joined: the stage that did the work."""
    ours = [_frame_name(f) for f in frames if "(etl/" in f]
    return " > ".join(ours[:depth]) if ours else re.sub(r"\(\d+\)", "", frames[0]).strip()


def summarize(raw_lines, top: int = 25) -> str:
    """Busy samples per stage from py-spy's raw output (`stack;frames count` per line)."""
    by_stage: collections.Counter = collections.Counter()
    leaves: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    busy = waiting = 0
    for line in raw_lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack:
            continue
        frames, samples = stack.split(";"), int(count)
        leaf = _frame_name(frames[-1])
        if leaf.startswith(_WAITING) or (leaf.startswith("0x") and any(
                _frame_name(f).startswith(_WAITING) for f in frames[-6:])):
            waiting += samples
            continue
        busy += samples
        stage = stage_of(frames)
        by_stage[stage] += samples
        leaves[stage][leaf] += samples
    lines = [f"busy samples {busy:,} (waiting left out: {waiting:,})"]
    for stage, samples in by_stage.most_common(top):
        hottest = ", ".join(f"{name[:32]} {n}" for name, n in leaves[stage].most_common(3))
        lines.append(f"{samples / busy:6.1%}  {stage[:110]}\n          {hottest}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_run", description=__doc__)
    parser.add_argument("--start", default="2024-01-01")
    parser.add_argument("--end", default="2024-03-01")
    parser.add_argument("--size", default="large")
    parser.add_argument("--rate", type=int, default=50, help="samples per second (default 50)")
    parser.add_argument("--raw", type=Path, help="keep py-spy's raw output here")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    py_spy = Path(sys.executable).with_name("py-spy")
    if not py_spy.exists():
        parser.error(f"py-spy is not installed next to {sys.executable} (pip install py-spy)")
    emulator_args = ["--seed", "7", "--start", args.start, "--end", args.end, "--size", args.size]
    with start_emulator(emulator_args) as emulator, tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        work = Path(tmp)
        raw = args.raw or work / "profile.txt"
        env = etl_env(emulator, work)
        # --subprocesses: a run of several chunks extracts them in a child process.
        command = [str(py_spy), "record", "--threads", "--native", "--subprocesses", "-r", str(args.rate), "-f", "raw",
                   "-o", str(raw), "--", sys.executable, "-m", "etl", "run", "--start", args.start,
                   "--end", args.end, "--no-progress"]
        began = time.perf_counter()
        done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
            return done.returncode
        print(f"etl run [{args.start}, {args.end}) --size {args.size} under py-spy: "
              f"{time.perf_counter() - began:.1f}s (sampling slows it down)")
        print(summarize(raw.read_text().splitlines(), args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
