"""Instance-graph builders: ``(x [B, N, C], mask [B, N]) -> InstanceGraph``.

Every builder works for any ``N`` and masks padding. ``temporal_decay`` is ACTION-NET's fixed
graph; the others are alternatives a recipe can swap in.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..kinds import GRAPH_BUILDERS
from .base import GraphBuilder
from .graph import InstanceGraph, mask_adjacency, normalize_adjacency


def _distance(x: Tensor) -> Tensor:
    """|i - j| between instance positions, ``[N, N]``."""
    pos = torch.arange(x.shape[1], device=x.device, dtype=x.dtype)
    return (pos.unsqueeze(1) - pos.unsqueeze(0)).abs()


@GRAPH_BUILDERS.register("temporal_decay")
class TemporalDecay(GraphBuilder):
    """ACTION-NET's fixed graph: A_ij = exp(-|i-j| / sigma), self-loop 1 from i = j, then normalised."""

    def __init__(self, sigma: float = 1.0, normalize: str = "sym") -> None:
        super().__init__(normalize)
        self.sigma = sigma

    def adjacency(self, x: Tensor, mask: Tensor) -> Tensor:
        return torch.exp(-_distance(x) / self.sigma).expand(x.shape[0], -1, -1)


@GRAPH_BUILDERS.register("temporal_window")
class TemporalWindow(GraphBuilder):
    """Each instance linked to its ``k`` neighbours on either side (and itself), weight 1."""

    def __init__(self, k: int = 2, self_loops: bool = True, normalize: str = "sym") -> None:
        super().__init__(normalize)
        self.k, self.self_loops = k, self_loops

    def adjacency(self, x: Tensor, mask: Tensor) -> Tensor:
        d = _distance(x)
        adj = ((d <= self.k) & ((d > 0) | self.self_loops)).to(x.dtype)
        return adj.expand(x.shape[0], -1, -1)


@GRAPH_BUILDERS.register("fully_connected")
class FullyConnected(GraphBuilder):
    """Every valid instance linked to every other (and itself), weight 1."""

    def __init__(self, self_loops: bool = True, normalize: str = "sym") -> None:
        super().__init__(normalize)
        self.self_loops = self_loops

    def adjacency(self, x: Tensor, mask: Tensor) -> Tensor:
        n = x.shape[1]
        adj = torch.ones(n, n, device=x.device, dtype=x.dtype)
        if not self.self_loops:
            adj = adj - torch.eye(n, device=x.device, dtype=x.dtype)
        return adj.expand(x.shape[0], -1, -1)


@GRAPH_BUILDERS.register("knn_similarity")
class KnnSimilarity(GraphBuilder):
    """Each instance linked to its ``k`` most cosine-similar instances (itself included), in plain torch."""

    def __init__(self, k: int = 5, weighted: bool = False, normalize: str = "sym") -> None:
        super().__init__(normalize)
        self.k, self.weighted = k, weighted

    def neighbors(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        n = x.shape[1]
        z = nn.functional.normalize(x, dim=-1)
        sim = (z @ z.transpose(1, 2)).masked_fill(~mask.unsqueeze(1), float("-inf"))
        # Pad with k empty columns so topk(k) is valid for any N (no shape-dependent branch to export).
        top, idx = nn.functional.pad(sim, (0, self.k), value=float("-inf")).topk(self.k, dim=-1)
        valid = torch.isfinite(top)
        weight = top.clamp(min=0) if self.weighted else torch.ones_like(top)
        return idx.clamp(max=n - 1), torch.where(valid, weight, torch.zeros_like(weight))

    @staticmethod
    def _dense(idx: Tensor, weight: Tensor, x: Tensor) -> Tensor:
        dense = torch.zeros(x.shape[0], x.shape[1], x.shape[1], device=x.device, dtype=x.dtype)
        # scatter_add: padded slots point at a real column with weight 0 and must not overwrite it.
        return dense.scatter_add(2, idx, weight.to(x.dtype))

    def adjacency(self, x: Tensor, mask: Tensor) -> Tensor:
        return self._dense(*self.neighbors(x, mask), x)

    def forward(self, x: Tensor, mask: Tensor) -> InstanceGraph:
        # Overridden (the neighbours are found once, for the dense and the sparse view alike).
        idx, weight = self.neighbors(x, mask)
        dense = mask_adjacency(self._dense(idx, weight, x), mask)
        adj = normalize_adjacency(dense, self.normalize)
        # The sparse form carries the normalised weights, so both views agree.
        return InstanceGraph(adj, mask, neighbors=(idx, adj.gather(2, idx) * (weight != 0)))


@GRAPH_BUILDERS.register("learned")
class Learned(GraphBuilder):
    """Adjacency from the embeddings: softmax over valid j of (W_q x_i)·(W_k x_j) / sqrt(d)."""

    def __init__(self, in_dim: int, dim: int = 64, normalize: str = "none") -> None:
        super().__init__(normalize)
        self.query = nn.Linear(in_dim, dim)
        self.key = nn.Linear(in_dim, dim)
        self.scale = dim**-0.5

    def adjacency(self, x: Tensor, mask: Tensor) -> Tensor:
        logits = self.query(x) @ self.key(x).transpose(1, 2) * self.scale
        logits = logits.masked_fill(~mask.unsqueeze(1), float("-inf"))
        # Rows of padded targets are all -inf; nan_to_num keeps them zero instead of NaN.
        return torch.softmax(logits, dim=-1).nan_to_num(0.0)
