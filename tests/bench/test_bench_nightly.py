"""bench/bench_nightly.py: the full bench's night holds the issue's workload.

The issue's nightly window is 20,000 changed dossiers and 8,000 payments. The emulator's large
preset pays too rarely for that, so the full bench raises the volume; this checks, against the
emulator over HTTP, that its night then holds at least the issue's count of each entity.
"""
from __future__ import annotations

from bench import start_emulator
from bench.bench_nightly import (
    FULL, QUICK, emulator_args, night_counts, window_is_large_enough, workload_text,
)


def test_the_full_night_holds_the_issues_dossiers_and_payments():
    with start_emulator(emulator_args(FULL)) as emulator:
        counts = night_counts(emulator, FULL["night"])
    assert FULL["least"] == {"dossier": 20_000, "payment": 8_000}
    assert window_is_large_enough(counts, FULL["least"]), counts
    assert workload_text(FULL["least"]) == ">=20k dossier+8k payment"


def test_a_night_short_of_any_entity_is_not_large_enough():
    least = FULL["least"]
    assert not window_is_large_enough({"dossier": 40_000, "payment": 7_999}, least)
    assert not window_is_large_enough({"payment": 9_000}, least)
    assert window_is_large_enough({"dossier": 20_000, "payment": 8_000}, least)
    assert QUICK["least"] == {}  # the quick bench's night is small on purpose: only its time counts
