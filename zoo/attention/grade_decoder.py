"""GDLT's grade decoder: K learnable grade queries cross-attend over the instances."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from registry import ConfigError

from ..blocks import activation as make_activation
from ..kinds import ATTENTION
from .base import Attention


class DecoderLayer(nn.Module):
    """Post-norm transformer decoder layer (as ``nn.TransformerDecoderLayer``) that returns its cross-attention."""

    def __init__(self, dim: int, heads: int, ff_dim: int, dropout: float, activation: str) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.cross_attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.ff = nn.Sequential(
            nn.Linear(dim, ff_dim), make_activation(activation), nn.Dropout(dropout), nn.Linear(ff_dim, dim)
        )
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(3))
        self.drops = nn.ModuleList(nn.Dropout(dropout) for _ in range(3))

    def forward(self, q: Tensor, memory: Tensor, padding: Tensor) -> tuple[Tensor, Tensor]:
        """``q [B, K, D]``, ``memory [B, N, D]``, ``padding [B, N]`` (True = padded) -> (q, weights [B, K, N])."""
        q = self.norms[0](q + self.drops[0](self.self_attn(q, q, q, need_weights=False)[0]))
        att, weights = self.cross_attn(q, memory, memory, key_padding_mask=padding, need_weights=True)
        q = self.norms[1](q + self.drops[1](att))
        q = self.norms[2](q + self.drops[2](self.ff(q)))
        return q, weights


@ATTENTION.register("grade_decoder")
class GradeDecoder(Attention):
    """K learned grade queries decode the instances (GDLT); feature = the K decoded queries flattened, [B, K*D].

    GDLT: ``queries: 4, layers: 2, heads: 1, ff_ratio: 3, dropout: 0.3`` at width 256, post-norm layers
    and a final LayerNorm. ``dim`` projects the instances to another width first. The weights are the
    last layer's cross-attention, averaged over heads, ``[B, K, N]``; padded instances get none.
    Pair it with ``head: {type: grade, grades: K}``.
    """

    def __init__(
        self,
        in_dim: int,
        queries: int = 4,
        dim: int | None = None,
        heads: int = 1,
        layers: int = 2,
        ff_ratio: float = 3.0,
        dropout: float = 0.0,
        activation: str = "relu",
        final_norm: bool = True,
    ) -> None:
        super().__init__()
        dim = dim or in_dim
        if dim % heads:
            raise ConfigError(f"grade_decoder: width {dim} must be divisible by heads={heads}")
        if queries < 1 or layers < 1:
            raise ConfigError(f"grade_decoder: needs queries >= 1 and layers >= 1, got {queries} and {layers}")
        self.proj = nn.Identity() if dim == in_dim else nn.Linear(in_dim, dim)
        self.queries = nn.Parameter(torch.randn(queries, dim))  # like GDLT's nn.Embedding prototypes, N(0, 1)
        ff_dim = max(1, round(dim * ff_ratio))
        self.layers = nn.ModuleList(DecoderLayer(dim, heads, ff_dim, dropout, activation) for _ in range(layers))
        self.norm = nn.LayerNorm(dim) if final_norm else nn.Identity()
        self.num_queries, self.dim = queries, dim
        self.out_dim = queries * dim

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        memory = self.proj(x)
        q = self.queries.unsqueeze(0).expand(x.shape[0], -1, -1)
        weights = q.new_zeros(0)
        for layer in self.layers:
            q, weights = layer(q, memory, ~mask)
        return self.norm(q).flatten(1), weights
