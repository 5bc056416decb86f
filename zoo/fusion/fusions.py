"""Fusion: ``{stream: [B, C_s]} -> [B, C]``. One stream passes through any of them."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..kinds import FUSION
from .base import Fusion


@FUSION.register("concat")
class Concat(Fusion):
    """Concatenate the stream vectors in the order the streams are declared."""

    def __init__(self, in_dims: dict[str, int]) -> None:
        super().__init__()
        self.names = list(in_dims)
        self.out_dim = sum(in_dims.values())

    def forward(self, features: dict[str, Tensor]) -> Tensor:
        return torch.cat([features[n] for n in self.names], dim=-1)


class _Projected(Fusion):
    """Streams projected to one width (identity where they already have it)."""

    def __init__(self, in_dims: dict[str, int], dim: int | None) -> None:
        super().__init__()
        self.names = list(in_dims)
        self.out_dim = dim or max(in_dims.values())
        self.proj = nn.ModuleDict(
            {n: nn.Identity() if d == self.out_dim else nn.Linear(d, self.out_dim) for n, d in in_dims.items()}
        )


@FUSION.register("sum")
class Sum(_Projected):
    """Sum of the stream vectors, each linearly projected to ``dim`` where its width differs."""

    def __init__(self, in_dims: dict[str, int], dim: int | None = None) -> None:
        super().__init__(in_dims, dim)

    def forward(self, features: dict[str, Tensor]) -> Tensor:
        return torch.stack([self.proj[n](features[n]) for n in self.names]).sum(0)


@FUSION.register("gated")
class Gated(_Projected):
    """Sum of projected streams, each scaled by a sigmoid gate computed from all streams together."""

    def __init__(self, in_dims: dict[str, int], dim: int | None = None) -> None:
        super().__init__(in_dims, dim)
        self.gate = nn.Linear(sum(in_dims.values()), len(in_dims))

    def forward(self, features: dict[str, Tensor]) -> Tensor:
        gates = torch.sigmoid(self.gate(torch.cat([features[n] for n in self.names], -1)))
        projected = torch.stack([self.proj[n](features[n]) for n in self.names], 1)  # [B, S, D]
        return (gates.unsqueeze(-1) * projected).sum(1)
