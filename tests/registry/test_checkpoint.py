"""Checkpoints: atomic save, safe load, self-rebuilding models, mismatch errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import registry
from registry import RecipeError, load_recipe


def test_checkpoint_rebuilds_model_from_file_alone(tmp_path: Path) -> None:
    recipe = load_recipe("actionnet/base")
    model = registry.build_model(recipe).eval()
    path = registry.save_checkpoint(tmp_path / "ckpt.pt", {"recipe": recipe, "model": model.state_dict()})
    loaded = registry.load(path)
    inputs = model.example_inputs(batch=2, lengths={"dynamic": 5, "static": 9})
    assert torch.equal(loaded(inputs)["score"], model(inputs)["score"])
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no temp files left


def test_checkpoint_from_another_recipe_lists_keys(tmp_path: Path) -> None:
    other = registry.build_model(load_recipe("actionnet/dynamic_only"))
    path = registry.save_checkpoint(
        tmp_path / "other.pt", {"recipe": load_recipe("actionnet/base"), "model": other.state_dict()}
    )
    with pytest.raises(RecipeError) as err:
        registry.load(path)
    assert "missing in" in str(err.value) and "streams.static.embed.net.0.weight" in str(err.value)


def test_unsafe_pickles_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"recipe": {}, "model": {}, "obj": object()}, path)
    with pytest.raises(RecipeError, match="could not be read safely"):
        registry.load(path)


def test_missing_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        registry.load(tmp_path / "nope.pt")
