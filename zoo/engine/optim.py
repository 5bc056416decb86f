"""Optimisers with per-group learning rates, and epoch-based schedules, all from the recipe.

``optim: {type: SGD, lr: 0.01, groups: [{params: "head.*", lr_mult: 5.0}]}``: each parameter goes
to the first group whose fnmatch pattern matches its name, the rest to the base group.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from registry import ConfigError

from ..kinds import OPTIMIZERS, SCHEDULERS

OPTIMIZERS.set_contract(
    torch.optim.Optimizer,
    """A ``torch.optim.Optimizer``, built as ``Optimizer(params=groups, lr=..., **recipe_args)``.

``optim: {type: SGD, lr: 0.01, groups: [{params: "head.*", lr_mult: 5.0}]}``: ``params`` are parameter
groups by name pattern (``build_optimizer``), each group's ``lr`` the base rate times its ``lr_mult``;
the remaining keys are the optimiser's own arguments, checked against its signature. Stepped once per batch.""",
)
SCHEDULERS.set_contract(
    torch.optim.lr_scheduler.LRScheduler,
    """A ``torch.optim.lr_scheduler.LRScheduler``, built as ``Scheduler(optimizer=..., epochs=E, **recipe_args)``
(``epochs`` where it takes it: a schedule may be written in epochs before the end).

Stepped once per epoch, after it; ``schedule: null`` keeps the rate constant.""",
)
for _name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "NAdam", "RAdam"):
    OPTIMIZERS.register(_name)(getattr(torch.optim, _name))
for _name in ("MultiStepLR", "StepLR", "CosineAnnealingLR", "ExponentialLR"):
    SCHEDULERS.register(_name)(getattr(torch.optim.lr_scheduler, _name))
SCHEDULERS.leave_out("LambdaLR", "its lr_lambda is a Python function, which no recipe can write (see 'cosine')")
SCHEDULERS.leave_out(
    "OneCycleLR",
    "it sets every group to one max_lr, silently dropping optim.groups' lr_mult, and is made to step per batch "
    "where the zoo steps schedules per epoch (see 'cosine': warm-up, then cosine decay)",
)

GROUP_KEYS = ("params", "lr_mult", "weight_decay", "momentum", "betas")


def param_groups(model: nn.Module, lr: float, groups: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Parameter groups by name pattern; a pattern that matches nothing is an error (a typo)."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    out: list[dict[str, Any]] = []
    taken: set[str] = set()
    for g in groups:
        unknown = set(g) - set(GROUP_KEYS)
        if unknown or "params" not in g:
            raise ConfigError(f"optim.groups entry {dict(g)}: needs 'params' and accepts only {GROUP_KEYS}")
        hits = [(n, p) for n, p in named if n not in taken and fnmatch.fnmatchcase(n, g["params"])]
        if not hits:
            sample = ", ".join(n for n, _ in named[:6])
            raise ConfigError(f"optim.groups pattern {g['params']!r} matches no parameter (names look like: {sample})")
        taken.update(n for n, _ in hits)
        extra = {k: v for k, v in g.items() if k not in ("params", "lr_mult")}
        out.append(
            {"params": [p for _, p in hits], "lr": lr * float(g.get("lr_mult", 1.0)), "name": g["params"], **extra}
        )
    rest = [p for n, p in named if n not in taken]
    if rest:
        out.insert(0, {"params": rest, "lr": lr, "name": "base"})
    return out


def build_optimizer(model: nn.Module, cfg: Mapping[str, Any]) -> torch.optim.Optimizer:
    """The recipe's optimiser over ``model``'s trainable parameters."""
    cfg = dict(cfg)
    groups = cfg.pop("groups", []) or []
    if "lr" not in cfg:
        raise ConfigError("optim needs a base learning rate 'lr'")
    return OPTIMIZERS.build(cfg, params=param_groups(model, float(cfg["lr"]), groups))


@SCHEDULERS.register("multistep_before_end")
def multistep_before_end(
    optimizer: torch.optim.Optimizer, epochs: int, before_end: list[int], gamma: float = 0.1
) -> torch.optim.lr_scheduler.MultiStepLR:
    """ACTION-NET's schedule: multiply the rate by ``gamma`` at epochs E - b for each b in ``before_end``.

    Milestones that would fall before the first epoch (a run shorter than ``b``) are dropped.
    """
    milestones = sorted(epochs - b for b in before_end if epochs - b > 0)
    return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=milestones, gamma=gamma)


@SCHEDULERS.register("cosine")
def cosine(
    optimizer: torch.optim.Optimizer, epochs: int, warmup_epochs: int = 0, min_ratio: float = 0.0
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up for ``warmup_epochs``, then cosine decay to ``min_ratio`` of the rate."""
    import math

    def factor(epoch: int) -> float:
        if epoch < warmup_epochs:
            return (epoch + 1) / warmup_epochs
        t = (epoch - warmup_epochs) / max(1, epochs - warmup_epochs)
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * min(t, 1.0)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: Mapping[str, Any] | None, epochs: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """The recipe's schedule (stepped once per epoch), or None for a constant rate."""
    if not cfg:
        return None
    return SCHEDULERS.build(cfg, optimizer=optimizer, epochs=epochs)
