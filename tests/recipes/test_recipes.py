"""Every model recipe builds and trains a step on tiny shapes; the recipes that together hold every way of
composing a model export (pt2 and ONNX) a program that matches eager.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import torch

import registry
from registry import list_recipes, load_recipe
from registry.export import export_formats
from zoo.kinds import LOSSES

RECIPES = [r for r in list_recipes() if "model" in load_recipe(r)]
# Kinds whose every component the contract tests export inside a scorer already (tests/<kind>/test_contract.py).
EXPORTED_ALONE = {"graph_layers", "graph_builders"}


def parts(model: dict[str, Any]) -> set[str]:
    """How a recipe composes its model: its components (but those exported alone), streams, shared inputs, norms."""
    from zoo.kinds import KINDS

    alone = {n for kind in EXPORTED_ALONE for n in KINDS[kind].names(namespaces=False)}
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            t = node.get("type")
            if isinstance(t, str) and t not in alone and not t.startswith("pyg:"):
                found.add(t)
            for key, value in node.items():
                if key == "input_norm" and value:
                    found.add("input_norm")
                if key == "skip":
                    found.add(f"skip:{value}")
                if key == "input_layers" and value:  # graph layers before the embedding (ASGTN's block)
                    found.add("input_layers")
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(model)
    streams = {name: s for name, s in (model.get("streams") or {}).items() if s}
    inputs = {s.get("input") or name for name, s in streams.items()}
    found.add(f"{len(streams)} streams" + (" on one input" if len(streams) > 1 and len(inputs) == 1 else ""))
    return found


@functools.cache
def size(recipe: str) -> int:
    """The recipe's number of weights, counted on the meta device (nothing allocated)."""
    with torch.device("meta"):
        return sum(p.numel() for p in registry.build_model(load_recipe(recipe)).parameters())


def covering(recipes: list[str]) -> list[str]:
    """Fewest recipes (greedy) that hold every part some recipe holds: each way of composing is exported once,
    by the smallest recipe that holds it (a full-width model exports no other way than a small one)."""
    todo = {r: parts(load_recipe(r)["model"]) for r in recipes}
    left, chosen = set().union(*todo.values()), []
    while left:
        most = max(len(todo[r] & left) for r in todo)
        best = min((r for r in todo if len(todo[r] & left) == most), key=lambda r: (size(r), recipes.index(r)))
        chosen.append(best)
        left -= todo.pop(best)
    return sorted(chosen)


EXPORTED = covering(RECIPES)


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


def test_the_exported_recipes_cover_every_way_of_composing_a_model() -> None:
    assert set().union(*(parts(load_recipe(r)["model"]) for r in EXPORTED)) == set().union(
        *(parts(load_recipe(r)["model"]) for r in RECIPES)
    )
    assert "actionnet/synthetic" in EXPORTED or "actionnet/base" in EXPORTED  # the paper's model itself


# Fewer repeats of the same parts for the export tests: the way of composing is unchanged (every part, each
# at least twice where it repeats), the trace is shorter (PAMFN's 4 candidate fusions trace in 3x the time of 2).
FEWER_REPEATS = {
    "pamfn": ["model.candidates=2"],
    "mcmoe": ["model.encoder.num_layers=2", "model.decoder.layers=2"],
}
# Models whose modalities repeat one path (a branch or an embedding each, fused over however many there are):
# two of them export the way three do, in 71% (MCMoE) and 88% (PAMFN) of the time (one run each).
TWO_MODALITIES = {"pamfn", "mcmoe"}


def fewer_repeats(name: str) -> dict[str, Any]:
    """The recipe as its export test builds it: ``FEWER_REPEATS`` applied, the last of 3+ modalities dropped."""
    kind = load_recipe(name)["model"]["type"]
    recipe = load_recipe(name, FEWER_REPEATS.get(kind, []))
    model = recipe["model"]
    if kind in TWO_MODALITIES and len(model["inputs"]) > 2:
        last = list(model["inputs"])[-1]
        del model["inputs"][last]
        (model.get("streams") or {}).pop(last, None)
    return recipe


@pytest.mark.parametrize("name", EXPORTED)
def test_export(name: str, tmp_path: Path) -> None:
    recipe = fewer_repeats(name)
    model = registry.build_model(recipe)
    # Both formats from one trace (tools/export.py --format pt2,onnx). Besides export_formats's own check (a
    # video more, longer videos than traced), each saved program, loaded once, is compared with eager on
    # another batch of shorter, padded videos: any output beyond atol 1e-5 + rtol 1e-4 is an ExportCheckError,
    # and then no file is kept.
    shorter = max(4, model.min_instances())  # shorter than traced, as short as the program takes
    new = model.example_inputs(batch=5, lengths={k: shorter for k in model.inputs}, seed=11, ragged=True)
    paths = {fmt: tmp_path / f"model.{fmt}" for fmt in ("pt2", "onnx")}
    results = export_formats(model, paths, recipe=recipe, lengths={k: 6 for k in model.inputs}, also_check=[new])
    assert list(results) == ["pt2", "onnx"]
    for result in results.values():
        assert result.path.is_file()
        assert load_recipe(result.recipe_path) == recipe
        assert result.output_names[0] == "score"
        assert {k: list(v.shape) for k, v in new.items()} != result.checked_shapes
