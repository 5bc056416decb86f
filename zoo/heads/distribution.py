"""USDL-style score-distribution head: a softmax over score bins, the score its expectation."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..blocks import activation as make_activation
from ..kinds import HEADS
from .base import Head


@HEADS.register("distribution")
class DistributionHead(Head):
    """MLP -> logits over ``bins`` evenly spaced in ``score_range``; score = expected bin value."""

    def __init__(
        self,
        in_dim: int,
        bins: int = 101,
        hidden_dims: list[int] | None = None,
        dropout: float = 0.0,
        activation: str = "relu",
        score_range: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        d = in_dim
        for h in hidden_dims if hidden_dims is not None else [256]:
            layers += [nn.Linear(d, h), make_activation(activation), nn.Dropout(dropout)]
            d = h
        layers.append(nn.Linear(d, bins))
        self.net = nn.Sequential(*layers)
        self.register_buffer("bins", torch.linspace(float(score_range[0]), float(score_range[1]), bins))

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        logits = self.net(x)
        score = (torch.softmax(logits, -1) * self.bins).sum(-1)
        return {"score": score, "logits": logits, "bins": self.bins}
