"""Parameter-free poolings over the valid instances."""

from __future__ import annotations

import torch
from torch import Tensor

from ..kinds import ATTENTION
from .base import Attention


@ATTENTION.register("mean")
class MeanPool(Attention):
    """Average of the valid instances; uniform weights over them."""

    def __init__(self, in_dim: int) -> None:
        super().__init__()
        self.out_dim = in_dim

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        m = mask.to(x.dtype)
        weights = m / m.sum(1, keepdim=True).clamp(min=1.0)
        return (weights.unsqueeze(-1) * x).sum(1), weights


@ATTENTION.register("max")
class MaxPool(Attention):
    """Element-wise maximum over the valid instances (no instance weights)."""

    def __init__(self, in_dim: int) -> None:
        super().__init__()
        self.out_dim = in_dim

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, None]:
        neg = torch.finfo(x.dtype).min
        out = x.masked_fill(~mask.unsqueeze(-1), neg).amax(1)
        return torch.where(mask.any(1, keepdim=True), out, torch.zeros_like(out)), None
