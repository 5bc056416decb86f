"""Every registered schedule keeps the schedule contract: built from the recipe with the run's epochs, stepped per
epoch, it moves the rate of every group alike and never to a negative or non-finite value."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from zoo.engine.optim import build_optimizer, build_scheduler
from zoo.kinds import SCHEDULERS

NAMES = SCHEDULERS.names()
EPOCHS = 12
# The arguments a recipe must give (the rest have defaults or are the run's: optimizer, epochs).
ARGS = {
    "MultiStepLR": {"milestones": [4, 8]},
    "StepLR": {"step_size": 4},
    "CosineAnnealingLR": {"T_max": EPOCHS},
    "ExponentialLR": {"gamma": 0.9},
    "multistep_before_end": {"before_end": [6, 3]},
    "cosine": {"warmup_epochs": 2},
}


@pytest.mark.parametrize("name", NAMES)
def test_the_rate_moves_per_epoch_alike_in_every_group(name: str) -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 1))
    optim = build_optimizer(model, {"type": "SGD", "lr": 0.01, "groups": [{"params": "1.*", "lr_mult": 5.0}]})
    sched = build_scheduler(optim, {"type": name, **ARGS.get(name, {})}, EPOCHS)
    assert isinstance(sched, torch.optim.lr_scheduler.LRScheduler)
    seen = []
    for _ in range(EPOCHS):
        optim.step()
        sched.step()
        rates = [g["lr"] for g in optim.param_groups]
        assert all(math.isfinite(r) and r >= 0 for r in rates)
        assert rates[1] == pytest.approx(5.0 * rates[0]), f"{name}: the groups' ratio was lost"
        seen.append(rates[0])
    assert len(set(seen)) > 1, f"{name}: the rate never moved in {EPOCHS} epochs"


def test_no_schedule_keeps_the_rate() -> None:
    optim = build_optimizer(nn.Linear(2, 1), {"type": "SGD", "lr": 0.01})
    assert build_scheduler(optim, None, EPOCHS) is None
