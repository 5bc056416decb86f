"""Every registered model keeps the model contract: scores, weights, inputs for export, fitted statistics."""

from __future__ import annotations

import pytest
import torch

from zoo.kinds import MODELS
from zoo.models.base import Model

NAMES = MODELS.names()
ARGS = {
    "scorer": {
        "inputs": {"a": 6, "b": 10},
        "streams": {
            "a": {
                "type": "stream",
                "embed": {"type": "mlp", "out_dim": 8},
                "attention": {"type": "actionnet"},
                "input_norm": True,
            },
            "b": {"type": "stream", "attention": {"type": "mean"}},
        },
        "head": {"type": "mlp", "hidden_dims": [8]},
    },
    "pamfn": {
        "inputs": {"rgb": 6, "flow": 5, "audio": 4},
        "streams": {"rgb": {"width": 8, "input_norm": True}, "flow": {"width": 8}, "audio": {"width": 8}},
        "candidates": 3,
        "detach": ["rgb", "flow"],
    },
}


def build(name: str) -> Model:
    torch.manual_seed(0)
    return MODELS.build({"type": name, **ARGS.get(name, {})})


@pytest.mark.parametrize("name", NAMES)
def test_scores_weights_and_what_the_engine_asks(name: str) -> None:
    model = build(name).eval()
    assert isinstance(model, Model) and model.inputs
    fitted = model.fit_input_stats({k: [torch.randn(20, w) + 3] for k, w in model.inputs.items()})
    assert set(fitted) <= set(model.inputs)
    batch = model.example_inputs(batch=3, lengths=dict.fromkeys(model.inputs, 5), ragged=True)
    assert set(batch) == {*model.inputs, *(f"{k}_mask" for k in model.inputs)}
    with torch.no_grad():
        out = model(batch)
    assert out["score"].shape == (3,) and torch.isfinite(out["score"]).all()
    assert set(model.stream_inputs().values()) <= set(model.inputs)
    weights = model.instance_weights(out, batch)
    for stream, rows in weights.items():
        mask = batch[f"{model.stream_inputs()[stream]}_mask"]
        for b, row in enumerate(rows):
            assert row is None or len(row) == int(mask[b].sum())  # one weight per valid instance
    dims = model.dynamic_dims()
    assert all(axes.get(0) == "batch" for axes in dims.values())
    with torch.no_grad():  # each video as it scores alone
        for b in range(3):
            one = {k: v[b : b + 1] for k, v in batch.items()}
            n = {k: int(one[f"{k}_mask"].sum()) for k in model.inputs}
            alone = {
                **{k: one[k][:, : n[k]] for k in model.inputs},
                **{f"{k}_mask": one[f"{k}_mask"][:, : n[k]] for k in model.inputs},
            }
            torch.testing.assert_close(model(alone)["score"], out["score"][b : b + 1], atol=1e-5, rtol=1e-4)
