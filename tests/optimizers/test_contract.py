"""Every registered optimiser keeps the optimiser contract: built from the recipe's groups, it trains."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from zoo.engine.optim import build_optimizer
from zoo.kinds import OPTIMIZERS

NAMES = OPTIMIZERS.names()


@pytest.mark.parametrize("name", NAMES)
def test_groups_get_their_rates_and_a_step_lowers_the_loss(name: str) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    optim = build_optimizer(model, {"type": name, "lr": 0.01, "groups": [{"params": "2.*", "lr_mult": 5.0}]})
    assert isinstance(optim, torch.optim.Optimizer)
    rates = {g["name"]: g["lr"] for g in optim.param_groups}
    assert rates == {"base": 0.01, "2.*": pytest.approx(0.05)}  # every parameter in exactly one group
    assert sum(len(g["params"]) for g in optim.param_groups) == len(list(model.parameters()))
    x, y = torch.randn(64, 4), torch.randn(64, 1)
    losses = []
    for _ in range(20):
        optim.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optim.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0], f"{name}: 20 steps did not lower the loss ({losses[0]:.4f} -> {losses[-1]:.4f})"
