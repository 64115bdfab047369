"""A long run's progress, per stage: days landed and loaded, records/s and an ETA.

On a terminal, one `rich` bar per stage; without one (cron, a CI log), a line in the run's log
every `TTHC_PROGRESS_SECONDS` (30 s) instead, so a long backfill still says where it stands.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

PROGRESS_SECONDS_ENV = "TTHC_PROGRESS_SECONDS"
DEFAULT_PROGRESS_SECONDS = 30.0


@dataclass
class _Stage:
    name: str
    total: int
    done: int = 0
    records: int = 0
    started: float = field(default_factory=time.monotonic)

    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.records / elapsed if elapsed > 0 else 0.0

    def eta(self) -> float | None:
        """Seconds left at the pace so far: days come in chunks, so a windowed speed (rich's) has
        no estimate between two chunks."""
        elapsed = time.monotonic() - self.started
        return elapsed / self.done * (self.total - self.done) if self.done else None

    def line(self) -> str:
        eta = self.eta()
        return (f"{self.name}: {self.done}/{self.total} days, {self.records:,} records, "
                f"{self.rate():,.0f} records/s, ETA {'?' if eta is None else f'{eta:,.0f}s'}")


class Progress:
    """`stage(name, total)` once per stage, then `advance(name, days, records)`; `close()` at the end."""

    def __init__(self, terminal: bool, every: float | None = None):
        self.stages: dict[str, _Stage] = {}
        self.every = every if every is not None else float(
            os.environ.get(PROGRESS_SECONDS_ENV) or DEFAULT_PROGRESS_SECONDS)
        self.last_line = time.monotonic()
        self.bars = None
        self.tasks: dict[str, int] = {}
        if terminal:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as Bars, TextColumn,
                                       TimeElapsedColumn)

            self.bars = Bars(
                TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("days  {task.fields[records]:>12,} records  {task.fields[rate]:>8,.0f}/s"),
                TimeElapsedColumn(), TextColumn("ETA {task.fields[eta]}"),
                console=Console(file=sys.stderr), transient=False,
            )
            self.bars.start()

    def stage(self, name: str, total: int) -> None:
        self.stages[name] = _Stage(name, total)
        if self.bars is not None:
            self.tasks[name] = self.bars.add_task(name, total=total, records=0, rate=0.0, eta="?")

    def advance(self, name: str, days: int = 1, records: int = 0) -> None:
        stage = self.stages[name]
        stage.done += days
        stage.records += records
        if self.bars is not None:
            eta = stage.eta()
            self.bars.update(self.tasks[name], advance=days, records=stage.records, rate=stage.rate(),
                             eta="?" if eta is None else _clock(eta))
        elif time.monotonic() - self.last_line >= self.every or stage.done == stage.total:
            self.last_line = time.monotonic()
            log.info("progress: %s", stage.line())

    def close(self) -> None:
        if self.bars is not None:
            self.bars.stop()
            self.bars = None


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"
