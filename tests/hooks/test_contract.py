"""Every registered hook keeps the hook contract in a real run; early stopping ends one when validation stalls."""

from __future__ import annotations

from pathlib import Path

import pytest

import zoo
from registry import ConfigError, load_checkpoint
from tests.engine.helpers import make_feature_set, tiny_overrides
from zoo.engine.hooks import Hook, TrainerState
from zoo.engine.trainer import Trainer
from zoo.kinds import HOOKS

NAMES = HOOKS.names()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_feature_set(tmp_path_factory.mktemp("features"), n_train=32, n_test=8)


@pytest.mark.parametrize("name", NAMES)
def test_a_hook_reads_only_the_trainer_state_and_leaves_a_fresh_run_alone(
    name: str, data: Path, tmp_path: Path
) -> None:
    from registry import load_recipe

    recipe = load_recipe("actionnet/base", tiny_overrides(data, tmp_path, epochs=1))
    trainer = Trainer(recipe, tmp_path / "run", progress=False)  # a real trainer: what a hook gets
    for attribute in TrainerState.__annotations__:
        assert hasattr(trainer, attribute), f"the trainer does not offer hooks its {attribute!r}"
    assert isinstance(trainer.has_validation, bool)
    hook = HOOKS.build({"type": name})
    assert isinstance(hook, Hook)
    hook.setup(trainer)
    trainer.train_epoch()
    trainer.epoch = 1
    hook(trainer, 1)
    assert trainer.stop_requested is False  # one epoch in, nothing to stop for


def test_early_stopping_checks_its_patience() -> None:
    for bad in (0, 2.5, True):
        with pytest.raises(ConfigError, match="patience"):
            HOOKS.build({"type": "early_stopping", "patience": bad})


def test_early_stopping_ends_a_tiny_training(data: Path, tmp_path: Path) -> None:
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
