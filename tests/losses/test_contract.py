"""Every registered loss keeps the loss contract: a finite scalar with gradients, and names a missing output."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from registry import ConfigError
from tests.contract import scorer
from zoo.kinds import LOSSES, MODELS
from zoo.losses import Loss

NAMES = LOSSES.names()
# The few arguments a loss cannot do without.
ARGS: dict[str, dict[str, Any]] = {
    # A sum of what: two terms whose requirements differ, so that its own ``requires`` is their union.
    "sum": {"terms": [{"type": "mse"}, {"type": "kl", "weight": 0.5}]},
}
COFINAL_OUTPUTS = ("grade_score", "sub_grade", "etf")
# Which part of a model provides each output a loss may require.
PROVIDERS: dict[str, dict[str, Any]] = {
    "score": {},  # every head
    "weights": {"attention": {"type": "self_attentive"}},  # several attention rows [B, H, N]
    "logits": {"head": {"type": "distribution"}},
    "bins": {"head": {"type": "distribution"}},
    "queries": {"attention": {"type": "grade_decoder"}, "head": {"type": "grade"}},
    # CoFInAl's head: the coarse grade, the fine sub-grade and the simplex ETF it is aligned to
    **{key: {"attention": {"type": "grade_decoder"}, "head": {"type": "cofinal"}} for key in COFINAL_OUTPUTS},
}
IN_DIM = 16
# Outputs only a whole model of another type gives (not a scorer's part): that model, tiny.
MODEL_PROVIDERS: dict[str, dict[str, Any]] = {
    "completion": {"type": "mcmoe", "inputs": {"x": IN_DIM, "y": 8}, "width": 8},  # in training
}


def build(name: str) -> Loss:
    return LOSSES.build({"type": name, **ARGS.get(name, {})})


def model_for(loss: Loss) -> torch.nn.Module:
    """A tiny scorer (or the model in ``MODEL_PROVIDERS``) whose outputs hold everything ``loss`` requires."""
    whole = [MODEL_PROVIDERS[k] for k in loss.requires if k in MODEL_PROVIDERS]
    if whole:
        torch.manual_seed(0)
        return MODELS.build(whole[0])
    unknown = [k for k in loss.requires if k not in PROVIDERS]
    assert not unknown, f"no model part provides {unknown}: add one to PROVIDERS"
    parts: dict[str, Any] = {}
    for key in loss.requires:
        for part, cfg in PROVIDERS[key].items():
            assert parts.get(part, cfg) == cfg, f"{key!r} needs {part} {cfg}, another output needs {parts[part]}"
            parts[part] = cfg
    stream = {"attention": parts["attention"]} if "attention" in parts else {}
    return scorer({"x": stream}, {"x": IN_DIM}, head=parts.get("head"))


def outputs_of(model: torch.nn.Module) -> dict[str, Any]:
    return model(model.example_inputs(batch=3, lengths={"x": 7}, ragged=True))


@pytest.mark.parametrize("name", NAMES)
def test_a_finite_scalar_with_gradients(name: str) -> None:
    loss = build(name)
    assert isinstance(loss, Loss) and loss.requires, f"{name} declares no requires"
    model = model_for(loss).train()
    value = loss(outputs_of(model), torch.rand(3))
    assert value.dim() == 0 and torch.isfinite(value), f"{name}: {value}"
    value.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads), f"{name}: no parameter gets a gradient"


@pytest.mark.parametrize("name", NAMES)
def test_a_missing_required_output_is_named(name: str) -> None:
    loss = build(name)
    with torch.no_grad():
        outputs = outputs_of(model_for(loss).eval())
    for key in loss.requires:
        partial = {k: v for k, v in outputs.items() if k != key}
        with pytest.raises(ConfigError, match=key):
            loss(partial, torch.rand(3))
