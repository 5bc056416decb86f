"""Every model recipe builds, trains a step on tiny shapes, and exports (pt2 and ONNX)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import registry
from registry import list_recipes, load_recipe
from registry.export import export_model
from zoo.kinds import LOSSES

RECIPES = [r for r in list_recipes() if "model" in load_recipe(r)]


def test_there_are_recipes() -> None:
    assert "actionnet/base" in RECIPES and len(RECIPES) >= 11


@pytest.mark.parametrize("name", RECIPES)
def test_forward_backward_tiny(name: str) -> None:
    recipe = load_recipe(name)
    model = registry.build_model(recipe).train()
    loss_fn = LOSSES.build(recipe.get("loss", {"type": "mse"}))
    inputs = model.example_inputs(batch=3, lengths={k: 5 for k in model.inputs}, ragged=True)
    out = model(inputs)
    loss = loss_fn(out, torch.rand(3))
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert torch.isfinite(loss) and all(g is not None and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("fmt", ["pt2", "onnx"])
@pytest.mark.parametrize("name", RECIPES)
def test_export(name: str, fmt: str, tmp_path: Path) -> None:
    recipe = load_recipe(name)
    model = registry.build_model(recipe)
    result = export_model(model, tmp_path / f"model.{fmt}", fmt, recipe=recipe, lengths={k: 6 for k in model.inputs})
    assert result.path.is_file() and result.max_abs_diff <= 1e-4
    assert load_recipe(result.recipe_path) == recipe
    assert result.output_names[0] == "score"
