"""The test tiers: a test's tier is the folder under tests/ that holds it."""
from __future__ import annotations

from pathlib import Path

from .paths import TESTS_DIR

TIERS = ("unit", "integration", "e2e", "bench")


def tier_of(path) -> str | None:
    """`path`'s tier, or None for a file outside the tier folders."""
    try:
        first = Path(path).resolve().relative_to(TESTS_DIR).parts[0]
    except (ValueError, IndexError):
        return None
    return first if first in TIERS else None
