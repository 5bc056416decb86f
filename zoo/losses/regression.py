"""Losses: ``(outputs: dict, target [B]) -> scalar``. Each reads what it needs from the outputs."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from registry import ConfigError

from ..kinds import LOSSES
from .base import Loss


def _score(outputs: dict[str, Any], target: Tensor) -> Tensor:
    if "score" not in outputs:
        raise ConfigError(
            f"loss: needs the model output 'score' [B] (every head gives it); the outputs are {sorted(outputs)}"
        )
    score = outputs["score"]
    if score.shape != target.shape:
        raise ConfigError(f"loss: score has shape {tuple(score.shape)} but the target {tuple(target.shape)}")
    return score


@LOSSES.register("mse")
class MSE(Loss):
    """Mean squared error between score and target (ACTION-NET)."""

    def forward(self, outputs: dict[str, Any], target: Tensor) -> Tensor:
        return F.mse_loss(_score(outputs, target), target)


@LOSSES.register("l1")
class L1(Loss):
    """Mean absolute error."""

    def forward(self, outputs: dict[str, Any], target: Tensor) -> Tensor:
        return F.l1_loss(_score(outputs, target), target)


@LOSSES.register("huber")
class Huber(Loss):
    """Huber loss (quadratic below ``delta``, linear above)."""

    def __init__(self, delta: float = 0.1) -> None:
        super().__init__()
        self.delta = delta

    def forward(self, outputs: dict[str, Any], target: Tensor) -> Tensor:
        return F.huber_loss(_score(outputs, target), target, delta=self.delta)


@LOSSES.register("kl")
class GaussianKL(Loss):
    """USDL: KL(N(target, sigma) over the head's bins || softmax(logits)); needs a distribution head."""

    requires = ("logits", "bins")

    def __init__(self, sigma: float = 0.05) -> None:
        super().__init__()
        self.sigma = sigma

    def forward(self, outputs: dict[str, Any], target: Tensor) -> Tensor:
        missing = [k for k in self.requires if k not in outputs]
        if missing:
            raise ConfigError(
                f"loss 'kl' needs the model outputs {missing} (bin logits and their centres, given by head: "
                f"{{type: distribution}}); the outputs are {sorted(outputs)}"
            )
        bins = outputs["bins"].to(target.dtype)
        goal = torch.softmax(-((bins.unsqueeze(0) - target.unsqueeze(1)) ** 2) / (2 * self.sigma**2), -1)
        return F.kl_div(torch.log_softmax(outputs["logits"], -1), goal, reduction="batchmean")


@LOSSES.register("sum")
class WeightedSum(Loss):
    """A weighted sum of losses: ``terms: [{type: mse, weight: 1.0}, {type: kl, weight: 0.5}]``."""

    def __init__(self, terms: list[dict[str, Any]]) -> None:
        super().__init__()
        cfgs = [dict(t) for t in terms]
        self.weights = [float(c.pop("weight", 1.0)) for c in cfgs]
        self.terms = nn.ModuleList(LOSSES.build(c) for c in cfgs)
        self.requires = tuple(dict.fromkeys(k for t in self.terms for k in t.requires))

    def forward(self, outputs: dict[str, Any], target: Tensor) -> Tensor:
        return sum(w * term(outputs, target) for w, term in zip(self.weights, self.terms))
