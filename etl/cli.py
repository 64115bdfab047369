"""`python -m etl`: the command line of operations.md. Heavy imports happen inside commands."""
from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m etl",
        description="TTHC online-public-services warehouse: emulator, pipeline runs and reports.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from etl.emulator.cli import add_arguments as add_emulator_arguments

    emulator = commands.add_parser(
        "emulator",
        help="serve the emulated TTHC export API (source-api.md) until stopped",
        description="Serve the emulated TTHC export API in the foreground until SIGTERM or Ctrl-C.",
    )
    add_emulator_arguments(emulator)

    run = commands.add_parser(
        "run",
        help="extract, land, validate and load the local-day windows of [start, end), rebuild KPIs, publish",
        description=(
            "Extract the local-day windows of [START, END) from the export API, land them, validate, "
            "load the star schema, rebuild the KPI marts for the periods touched, and publish."
        ),
    )
    run.add_argument("--start", type=_iso_date, required=True, help="first local day (YYYY-MM-DD)")
    run.add_argument("--end", type=_iso_date, required=True, help="day after the last (YYYY-MM-DD)")
    run.add_argument("--no-progress", action="store_true", help="no progress bars even on a terminal (the log still gets a line every TTHC_PROGRESS_SECONDS)")
    run.add_argument("--report", action="store_true",
                     help="also write the latest month's and quarter's report, as the KPI DAG does")

    kpi = commands.add_parser(
        "kpi",
        help="rebuild the KPI marts (pending periods, or all with --full) and publish",
        description="Rebuild mart.kpi_value for the pending periods (or every period) and publish.",
    )
    kpi.add_argument("--full", action="store_true", help="rebuild every period from scratch")

    scorecard = commands.add_parser(
        "scorecard",
        help="print the KPI scorecard of the latest month and quarter",
        description="Print each KPI of the latest month and quarter with its target, for the city "
        "and the best and worst agencies, read from the published copy.",
    )
    scorecard.add_argument("--top", type=int, default=5, help="agencies shown at each end (5)")

    status = commands.add_parser(
        "status",
        help="is the warehouse fresh and healthy? (exit 3 when its data is older than --max-age-hours)",
        description="Print, from the published copy, the last day loaded and the latest NgayCapNhat per "
        "feed, the latest runs with their counts, the KPI periods pending, the last 7 days' quarantine by "
        "reason, the published copy's age and the schema version. Exit 3 when the data is stale.",
    )
    status.add_argument("--json", action="store_true", help="the same as JSON, for monitoring")
    status.add_argument("--max-age-hours", type=float, default=36.0, metavar="H",
                        help="data older than this is stale (36: a nightly run missed)")

    report = commands.add_parser(
        "report",
        help="write the monthly or quarterly report (self-contained HTML + XLSX)",
        description="Write the report of a month (YYYY-MM) or quarter (YYYY-Qn): the city's KPIs "
        "against their targets, 12-month trends, agencies ranked, what each agency should act on, "
        "processing time and data quality, "
        "as one self-contained HTML file and an XLSX workbook, read from the published copy.",
    )
    report.add_argument("--period", required=True, help="YYYY-MM (month) or YYYY-Qn (quarter)")
    report.add_argument("--lang", choices=("vi", "en"), default="vi", help="language (vi)")
    report.add_argument("--out", type=Path, default=None, help="output folder (<warehouse folder>/reports)")
    report.add_argument("--min-records", type=int, default=None, metavar="N",
                        help="rank only agencies with at least N records counted by a KPI in the period; "
                        "list the others apart (TTHC_REPORT_MIN_RECORDS, else 20)")
    return parser


def configure_logging(settings) -> Path:
    """Stage logs go to a file beside the warehouse, so a failing run keeps exactly one line on
    stderr (operations.md) while every retry and warning stays on record. Nothing logged carries
    personal data or the token."""
    import logging
    import os

    log_dir = settings.warehouse_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / "etl.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(os.environ.get("TTHC_LOG_LEVEL", "INFO").upper())
    logging.captureWarnings(True)
    return log_file


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "emulator":
        from etl.emulator.cli import run as run_emulator

        return run_emulator(args)
    settings = None
    try:
        from etl import config

        settings = config.from_env()
        configure_logging(settings)
        if args.command == "run":
            if args.end <= args.start:
                raise config.ConfigError(f"--end {args.end} must be after --start {args.start}")
            from etl import pipeline

            show_progress = sys.stderr.isatty() and not args.no_progress
            pipeline.run(settings, args.start, args.end, progress=show_progress, reports=args.report)
            return 0
        if args.command == "kpi":
            from etl import pipeline

            pipeline.refresh_kpis(settings, full=args.full)
            pipeline.publish(settings)
            return 0
        if args.command == "scorecard":
            from etl import kpi

            print(kpi.scorecard_from_file(settings.published, top=args.top))
            return 0
        if args.command == "status":
            from etl import status

            health = status.collect(settings, args.max_age_hours)
            print(status.as_json(health) if args.json else status.render(health))
            return 0 if health.fresh else status.EXIT_STALE
        if args.command == "report":
            from etl import report

            files = report.write_report(settings, report.parse_period(args.period), args.lang, args.out,
                                        min_records=args.min_records)
            print(files.html)
            print(files.xlsx)
            return 0
    except KeyboardInterrupt:
        print("etl: interrupted; the warehouse is left as it was before the run", file=sys.stderr)
        return 130
    except Exception as exc:  # one clear line, never a traceback, never the token
        from etl import errors

        print(errors.one_line(f"etl {args.command}", exc, settings and settings.api_token), file=sys.stderr)
        return errors.exit_code(exc)
    return 2
