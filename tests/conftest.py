"""Shared test fixtures: paths to the shared reference data beside the checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

import zoo  # noqa: F401  (registers every component once for the whole session)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"the shared reference folder is missing: expected it at {SHARED}")
    return SHARED
