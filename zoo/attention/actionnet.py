"""ACTION-NET's attention unit: score each instance, softmax over the valid ones, weighted sum."""

from __future__ import annotations

from torch import Tensor, nn

from ..blocks import masked_softmax
from ..kinds import ATTENTION
from .base import Attention


@ATTENTION.register("actionnet")
class ActionNetAttention(Attention):
    """a = softmax_i(Linear(hidden,1)(ReLU(Linear(C,hidden)(z_i)))) over valid i; f = sum_i a_i z_i."""

    def __init__(self, in_dim: int, hidden_dim: int = 128) -> None:
        super().__init__()
        self.score = nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, 1))
        self.out_dim = in_dim

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        weights = masked_softmax(self.score(x).squeeze(-1), mask)
        return (weights.unsqueeze(-1) * x).sum(1), weights
