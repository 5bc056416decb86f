"""Multi-head attention pooling: learned queries attend over the instances."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from registry import ConfigError

from ..kinds import ATTENTION
from .base import Attention


@ATTENTION.register("multihead")
class MultiHeadPool(Attention):
    """``queries`` learned queries cross-attend over the valid instances; outputs concatenated."""

    def __init__(self, in_dim: int, heads: int = 4, queries: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        if in_dim % heads:
            raise ConfigError(f"multihead attention: in_dim {in_dim} must be divisible by heads={heads}")
        self.query = nn.Parameter(torch.randn(1, queries, in_dim) * in_dim**-0.5)
        self.attn = nn.MultiheadAttention(in_dim, heads, dropout=dropout, batch_first=True)
        self.out_dim = in_dim * queries

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        q = self.query.expand(x.shape[0], -1, -1)
        out, weights = self.attn(q, x, x, key_padding_mask=~mask, need_weights=True)  # weights [B, Q, N]
        return out.flatten(1), weights.mean(1)
