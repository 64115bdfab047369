"""`python -m etl emulator`: serve the emulated export API in the foreground until stopped."""
from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import sys
import threading


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a rate must be within [0, 1]: {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from etl.contract import LOCAL_OFFSET
    from etl.emulator.presets import SIZES

    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (8765)")
    parser.add_argument("--token", default=None,
                        help="bearer token clients must send (default: $TTHC_API_TOKEN, else demo-token)")
    parser.add_argument("--seed", type=int, default=42, help="seed of all generated data (42)")
    parser.add_argument("--start", type=_date, default=dt.date(2025, 5, 1),
                        help="first local day of generated history (2025-05-01)")
    parser.add_argument("--end", type=_date, default=dt.date(2025, 8, 1),
                        help="day after the last submission day (2025-08-01, so the demo spans the "
                             "1 July 2025 reorganization)")
    parser.add_argument("--now", default=None,
                        help="the emulator clock: ISO timestamp with offset, or a date (local "
                             f"midnight); default END at 00:00{LOCAL_OFFSET}. Versions after it are invisible")
    parser.add_argument("--size", choices=sorted(SIZES), default="small",
                        help="province size preset: agencies, procedures and volume "
                             + ", ".join(f"{k}: {v.dossiers_per_day}/day" for k, v in SIZES.items()))
    parser.add_argument("--dossiers-per-day", type=int, default=None,
                        help="mean dossiers submitted per day (overrides the size preset)")
    parser.add_argument("--invalid-rate", type=_rate, default=0.005,
                        help="share of records that are invalid (0.005)")
    parser.add_argument("--unknown-ref-rate", type=_rate, default=0.005,
                        help="share of records referencing unknown procedures/agencies (0.005)")
    parser.add_argument("--clean", action="store_true",
                        help="no messy spellings, no invalid records, no unknown references")
    parser.add_argument("--faults", type=_rate, default=0.0, metavar="RATE",
                        help="share of API requests answered with a transient fault (0)")
    parser.add_argument("--fault-kinds", default="429,500,502,503,slow",
                        help="comma list of 429,500,502,503,slow,drop,truncated,repeat,mutate "
                             "(default 429,500,502,503,slow)")
    parser.add_argument("--fault-seed", type=int, default=0, help="seed of the fault draws (0)")
    parser.add_argument("--slow-seconds", type=float, default=3.0,
                        help="delay of a 'slow' fault in seconds (3)")
    parser.add_argument("--pilot-file", default=None, metavar="PATH",
                        help="also write the paper-free pilot registrations of this province "
                             "(operations.md, TTHC_PILOT_FILE) to PATH at start-up, from --seed, "
                             "with a few unreadable rows; the served data is the same without it")


def run(args: argparse.Namespace) -> int:
    from etl.emulator.generator import Generator, Options
    from etl.emulator.server import (
        BadRequest, EmulatorState, FaultConfig, make_server, parse_fault_kinds, parse_instant,
        to_local_seconds,
    )

    if args.end <= args.start:
        print(f"etl emulator: --end {args.end} must be after --start {args.start}", file=sys.stderr)
        return 2
    if args.dossiers_per_day is not None and args.dossiers_per_day < 0:
        print("etl emulator: --dossiers-per-day must be ≥ 0", file=sys.stderr)
        return 2
    token = args.token or os.environ.get("TTHC_API_TOKEN") or "demo-token"
    try:
        now_text = args.now or args.end.isoformat()
        now = to_local_seconds(parse_instant(now_text, require_offset=False))
        kinds = parse_fault_kinds(args.fault_kinds)
    except BadRequest as exc:
        print(f"etl emulator: {exc}", file=sys.stderr)
        return 2
    options = Options(seed=args.seed, start=args.start, end=args.end, size=args.size,
                      dossiers_per_day=args.dossiers_per_day, invalid_rate=args.invalid_rate,
                      unknown_ref_rate=args.unknown_ref_rate, clean=args.clean)
    generator = Generator(options)
    if args.pilot_file:
        from etl.emulator.pilot import write_pilot_file

        try:
            rows = write_pilot_file(generator, args.pilot_file)
        except OSError as exc:
            print(f"etl emulator: cannot write --pilot-file {args.pilot_file}: {exc}", file=sys.stderr)
            return 1
        print(f"pilot registrations: {rows} rows in {args.pilot_file}", flush=True)
    state = EmulatorState(generator, token, now,
                          FaultConfig(rate=args.faults, kinds=kinds, seed=args.fault_seed,
                                      slow_seconds=args.slow_seconds))
    try:
        server = make_server(args.host, args.port, state)
    except OSError as exc:
        print(f"etl emulator: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1

    def stop(signum, frame):
        # shutdown() waits for the serve loop, which runs in this (main) thread: ask from another.
        threading.Thread(target=server.shutdown, daemon=True).start()

    previous = signal.signal(signal.SIGTERM, stop)
    host, port = server.server_address[:2]
    print(f"TTHC emulator ready at http://{host}:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()
    return 0
