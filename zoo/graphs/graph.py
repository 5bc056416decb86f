"""``InstanceGraph``: who is connected to whom among a video's instances, in two forms.

Dense ``adj [B, N, N]`` serves the matrix-form layers (ACTION-NET's GCN unit). PyG layers want one
block-diagonal graph over all ``B * N`` nodes; ``edges()`` builds it by broadcasting, with a fixed
number of edges per video so shapes stay static for ``torch.export``. Edges that do not exist
(zero weight, or touching a padded instance) are redirected to one extra *sink* node (index
``B * N``) that no real node listens to, so attention-style layers (GAT) never see padding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor


@dataclass
class InstanceGraph:
    """Edges among the ``N`` instances of each of ``B`` videos.

    ``adj[b, i, j]`` is the weight of the message from instance ``j`` to instance ``i`` (zero: no
    edge); rows and columns of padded instances are zero. ``neighbors`` optionally holds a sparse
    form, ``(index [B, N, K], weight [B, N, K])``: the ``K`` sources of each target, for builders
    whose graphs are sparse (window, kNN), so ``edges()`` emits ``B*N*K`` edges instead of ``B*N*N``.
    """

    adj: Tensor
    mask: Tensor
    neighbors: tuple[Tensor, Tensor] | None = None
    _edges: tuple[Tensor, Tensor] | None = field(default=None, repr=False)

    @property
    def num_nodes(self) -> int:
        """Nodes of the batched PyG graph: every instance plus the sink."""
        b, n = self.mask.shape
        return b * n + 1

    def edges(self) -> tuple[Tensor, Tensor]:
        """``(edge_index [2, E], edge_weight [E])`` of the block-diagonal batch graph (cached)."""
        if self._edges is None:
            self._edges = self._build_edges()
        return self._edges

    def _build_edges(self) -> tuple[Tensor, Tensor]:
        b, n = self.mask.shape
        device = self.mask.device
        offset = (torch.arange(b, device=device) * n).view(b, 1, 1)
        if self.neighbors is not None:
            src_local, weight = self.neighbors  # [B, N, K]
            dst_local = torch.arange(n, device=device).view(1, n, 1).expand_as(src_local)
            valid = self.mask.gather(1, src_local.flatten(1)).view_as(src_local) & self.mask.unsqueeze(-1)
        else:
            weight = self.adj
            dst_local = torch.arange(n, device=device).view(1, n, 1).expand(b, n, n)
            src_local = torch.arange(n, device=device).view(1, 1, n).expand(b, n, n)
            valid = self.mask.unsqueeze(2) & self.mask.unsqueeze(1)
        valid = valid & (weight != 0)
        sink = torch.full_like(src_local, b * n)
        src = torch.where(valid, src_local + offset, sink)
        dst = torch.where(valid, dst_local + offset, sink)
        edge_index = torch.stack([src.reshape(-1), dst.reshape(-1)])
        edge_weight = torch.where(valid, weight, torch.zeros_like(weight)).reshape(-1)
        return edge_index, edge_weight


def normalize_adjacency(adj: Tensor, mode: str) -> Tensor:
    """``sym``: D^-1/2 A D^-1/2; ``row``: D^-1 A; ``none``: A. D are row sums; empty rows stay zero."""
    if mode == "none":
        return adj
    deg = adj.sum(-1)
    inv = torch.where(deg > 0, deg, torch.ones_like(deg))
    if mode == "sym":
        d = torch.where(deg > 0, inv.rsqrt(), torch.zeros_like(deg))
        return d.unsqueeze(-1) * adj * d.unsqueeze(-2)
    if mode == "row":
        return adj / inv.unsqueeze(-1)
    raise ValueError(f"adjacency normalisation must be 'sym', 'row' or 'none', got {mode!r}")


def mask_adjacency(adj: Tensor, mask: Tensor) -> Tensor:
    """Zero the rows and columns of padded instances."""
    m = mask.to(adj.dtype)
    return adj * m.unsqueeze(-1) * m.unsqueeze(-2)
