"""Any number of instances: a padded batch scores each video as if it ran alone."""

from __future__ import annotations

import pytest
import torch

import registry
from registry import list_recipes, load_recipe

RECIPES = [r for r in list_recipes() if "model" in load_recipe(r)]


@pytest.mark.parametrize("name", RECIPES)
def test_batch_of_lengths_equals_each_alone(name: str) -> None:
    torch.manual_seed(0)
    model = registry.build_model(load_recipe(name)).eval()
    batch = model.example_inputs(batch=3, lengths={k: 11 for k in model.inputs}, seed=3, ragged=True)
    with torch.no_grad():
        together = model(batch)
        for b in range(3):
            alone = {}
            for key in model.inputs:
                n = int(batch[f"{key}_mask"][b].sum())
                alone[key] = batch[key][b : b + 1, :n]
            single = model(alone)
            torch.testing.assert_close(together["score"][b : b + 1], single["score"], atol=1e-5, rtol=1e-4)
            for stream, w in single["weights"].items():
                if w is not None:
                    n = w.shape[-1]
                    # weights are [B, N] or, for multi-head attention, [B, H, N]
                    torch.testing.assert_close(together["weights"][stream][b : b + 1, ..., :n], w, atol=1e-5, rtol=1e-4)
                    assert together["weights"][stream][b, ..., n:].abs().sum() == 0  # padding gets no weight


def test_authors_fixed_sizes_are_one_case() -> None:
    model = registry.build_model(load_recipe("actionnet/base")).eval()
    for lengths in ({"dynamic": 26, "static": 80}, {"dynamic": 68, "static": 95}, {"dynamic": 1, "static": 3}):
        out = model(model.example_inputs(batch=2, lengths=lengths))
        assert out["score"].shape == (2,) and torch.isfinite(out["score"]).all()


def test_embedding_that_mixes_instances_keeps_padding_out() -> None:
    # A 3-wide temporal convolution in two layers would carry padding into valid clips without the mask.
    recipe = load_recipe("peers/gdlt", ["model.streams.dynamic.embed.kernel_size=3", "model.inputs.dynamic=16"])
    model = registry.build_model(recipe).eval()
    batch = model.example_inputs(batch=3, lengths={"dynamic": 9}, seed=5, ragged=True)
    with torch.no_grad():
        together = model(batch)["score"]
        for b in range(3):
            n = int(batch["dynamic_mask"][b].sum())
            alone = model({"dynamic": batch["dynamic"][b : b + 1, :n]})["score"]
            torch.testing.assert_close(together[b : b + 1], alone, atol=1e-5, rtol=1e-4)


def test_input_norm_is_fitted_on_training_features_and_saved() -> None:
    recipe = load_recipe("actionnet/synthetic", ["model.inputs={dynamic: 6, static: 4}"])
    model = registry.build_model(recipe)
    g = torch.Generator().manual_seed(0)
    feats = {"dynamic": [torch.randn(7, 6, generator=g) * 0.01 + 3.0 for _ in range(5)], "static": [torch.randn(9, 4)]}
    assert sorted(model.fit_input_stats(feats)) == ["dynamic", "static"]
    norm = model.streams["dynamic"].input_norm
    allx = torch.cat(feats["dynamic"])
    torch.testing.assert_close(norm.mean, allx.mean(0))
    torch.testing.assert_close(norm(allx).std(0, unbiased=False), torch.ones(6), atol=1e-4, rtol=0)
    assert "streams.dynamic.input_norm.mean" in model.state_dict()  # checkpoints carry the statistics
