"""Shared test fixtures: paths to the shared reference data beside the checkout."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

import zoo  # noqa: F401  (registers every component once for the whole session)
from registry import Registry

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


def pytest_configure(config: pytest.Config) -> None:
    """Under ``-n N`` each worker gets its share of the cores: N workers of torch's default (every core)
    each would oversubscribe the machine, and OpenMP's spinning threads then slow every test several-fold."""
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(workers)))


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"the shared reference folder is missing: expected it at {SHARED}")
    return SHARED


@pytest.fixture
def registered() -> Iterator[Callable[[Registry, str, Callable[..., Any]], Callable[..., Any]]]:
    """``registered(KIND, name, component)``: a test-only component, in its registry for this test only.

    Listings and the registry-wide contract tests never see test plugins; a plugin that must exist in
    another process (a subprocess importing it through a recipe's ``imports:``) registers on import
    in a module that only that process imports (tests/engine/kill_plugin.py).
    """
    with contextlib.ExitStack() as stack:
        yield lambda kind, name, obj: stack.enter_context(kind.temporarily(name, obj))
