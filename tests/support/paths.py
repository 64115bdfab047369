"""Where things are, whatever the working directory."""
from __future__ import annotations

from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = TESTS_DIR.parent
DAGS_DIR = REPO_ROOT / "dags"
FIXTURES_DIR = TESTS_DIR / "fixtures"
CHILDREN_DIR = Path(__file__).resolve().parent / "children"
