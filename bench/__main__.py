"""`python -m bench [--quick] [NAME …]`: run every bench/bench_*.py module's `main(quick)`."""
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
    parser.add_argument("names", nargs="*", help="bench modules to run (default: all), e.g. bench_extract")
    args = parser.parse_args(argv)
    available = discover()
    selected = args.names or available
    unknown = sorted(set(selected) - set(available))
    if unknown:
        parser.error(f"unknown bench(es): {', '.join(unknown)}; available: {', '.join(available)}")
    failures = 0
    for name in selected:
        print(f"== {name}{' (quick)' if args.quick else ''}", flush=True)
        began = time.monotonic()
        try:
            importlib.import_module(f"bench.{name}").main(args.quick)
        except Exception as exc:  # keep running the other benches; report and fail at the end
            failures += 1
            print(f"!! {name} failed: {type(exc).__name__}: {exc}", flush=True)
        print(f"== {name} done in {time.monotonic() - began:.1f}s", flush=True)
    from bench import summary_table

    print("\n== summary (ours/baseline speed > 1: ours faster; rows/s of ours; peak = RSS high-water "
          "of the measured process tree, emulator excluded)")
    print(summary_table(), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
