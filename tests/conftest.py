"""Fixtures and hooks every tier shares; the helpers tests call live in tests/support.

Tiers are folders (unit, integration, e2e, bench): each test gets its folder's marker, so
`pytest -m unit` selects what `pytest tests/unit` runs, and a whole-suite run goes tier by tier,
cheapest first. At the end of a session that ran more than unit tests, every file the session
wrote is scanned for personal data and tokens (support.pii): a finding fails the session.

Every process a test starts is stopped by PID at teardown.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from support import Emulator, settings_under, start_emulator
from support.pii import scan_at_session_end
from support.tiers import TIERS, tier_of


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        tier = tier_of(item.path)
        if tier:
            item.add_marker(getattr(pytest.mark, tier))
    # Cheapest tier first; a stable sort keeps each module's tests together and in file order.
    order = {tier: rank for rank, tier in enumerate(TIERS)}
    items.sort(key=lambda item: order.get(tier_of(item.path), len(TIERS)))


def pytest_sessionfinish(session, exitstatus):
    scan_at_session_end(session)


@pytest.fixture(scope="session")
def emulator():
    """A shared emulator over two months of a small province; tests must not change its state."""
    emu = start_emulator()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def emulator_factory():
    """Start dedicated emulators (own seed, faults, clock); all stopped at teardown."""
    started: list[Emulator] = []

    def factory(**kwargs) -> Emulator:
        emu = start_emulator(**kwargs)
        started.append(emu)
        return emu

    try:
        yield factory
    finally:
        for emu in started:
            emu.stop()


@pytest.fixture
def settings_for(tmp_path):
    """Settings pointing at a temp warehouse and the given emulator."""

    def make(emu: Emulator, root: Path | None = None):
        return settings_under(root or tmp_path, emu)

    return make
