"""`python -m bench [--quick] [--repeat N] [NAME …]`: run every bench/bench_*.py module's
`main(quick)`, N times each (the summary shows the medians)."""
from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path


def discover() -> list[str]:
    return sorted(path.stem for path in Path(__file__).parent.glob("bench_*.py"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI and smoke runs")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="run each bench N times; the summary shows medians (default 1)")
    parser.add_argument("names", nargs="*", help="bench modules to run (default: all), e.g. bench_extract")
    args = parser.parse_args(argv)
    available = discover()
    selected = args.names or available
    unknown = sorted(set(selected) - set(available))
    if unknown:
        parser.error(f"unknown bench(es): {', '.join(unknown)}; available: {', '.join(available)}")
    failures = 0
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    for name in selected:
        for run in range(1, args.repeat + 1):
            label = f"{name}{' (quick)' if args.quick else ''}" + (f" run {run}/{args.repeat}" if args.repeat > 1 else "")
            print(f"== {label}", flush=True)
            began = time.monotonic()
            try:
                importlib.import_module(f"bench.{name}").main(args.quick)
            except Exception as exc:  # keep running the other benches; report and fail at the end
                failures += 1
                print(f"!! {name} failed: {type(exc).__name__}: {exc}", flush=True)
            print(f"== {label} done in {time.monotonic() - began:.1f}s", flush=True)
    from bench import summary_table

    print("\n== summary (medians of the runs; ours/baseline speed > 1: ours faster; rows/s of ours; "
          "peak = RSS high-water of the measured process tree, emulator excluded)")
    print(summary_table(), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
