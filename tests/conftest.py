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


# Modules that hold most of the suite's time (pytest --durations=0, 2026-12-04), started first: under -n 2 the
# suite ends when its last long test does, and alphabetical order put the recipe exports last (a 4-minute tail
# on one worker). Whole modules move, so module-scoped fixtures are still built once per worker.
LONG_FIRST = (
    "tests/recipes/test_recipes.py",
    "tests/graph_layers/test_contract.py",
    "tests/attention/test_contract.py",
    "tests/data/test_extract.py",
    "tests/engine/test_refusals.py",
    "tests/engine/test_resume_ddp.py",
    "tests/data/test_synthetic_dataset.py",
    "tests/engine/test_report.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONG_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: the rest keep their order


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
