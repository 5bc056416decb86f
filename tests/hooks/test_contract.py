"""Every registered training hook keeps the hook contract; early stopping ends a tiny run once validation stalls."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

import zoo
from registry import ConfigError, load_checkpoint
from tests.engine.helpers import make_feature_set, tiny_overrides
from zoo.engine.hooks import Hook
from zoo.kinds import HOOKS

# Hooks registered by the tests themselves (tests/engine/helpers.py: one kills its process) are proven where used.
NAMES = [n for n in HOOKS.names() if not HOOKS.get(n).__module__.startswith("tests.")]


@pytest.mark.parametrize("name", NAMES)
def test_builds_with_defaults_and_leaves_a_fresh_run_alone(name: str) -> None:
    hook = HOOKS.build({"type": name})
    assert isinstance(hook, Hook)
    trainer = SimpleNamespace(history=[], best=None, epoch=1, stop_requested=False)
    hook(trainer, 1)
    assert not trainer.stop_requested


def test_early_stopping_counts_epochs_since_the_selected_one() -> None:
    hook = HOOKS.build({"type": "early_stopping", "patience": 3})
    trainer = SimpleNamespace(best={"epoch": 4}, stop_requested=False)
    hook(trainer, 6)
    assert not trainer.stop_requested
    hook(trainer, 7)
    assert trainer.stop_requested
    for bad in (0, 2.5, True):
        with pytest.raises(ConfigError, match="patience"):
            HOOKS.build({"type": "early_stopping", "patience": bad})


def test_early_stopping_ends_a_tiny_training(tmp_path: Path) -> None:
    data = make_feature_set(tmp_path / "features", n_train=32, n_test=8)
    overrides = [
        *tiny_overrides(data, tmp_path / "runs", epochs=60),
        "train.hooks=[{type: early_stopping, patience: 3}]",
    ]
    results = zoo.engine.train("actionnet/base", overrides, progress=False)
    history = load_checkpoint(Path(results["run_dir"]) / "last.pt")["history"]
    best = max(history, key=lambda r: r["val_spearman"])
    assert results["epochs"] < 60, "validation kept improving: the run was never stopped"
    assert results["epochs"] == len(history) == results["selected"]["epoch"] + 3
    assert results["selected"]["epoch"] == best["epoch"]
    assert all(r["val_spearman"] <= best["val_spearman"] for r in history[best["epoch"] :])
