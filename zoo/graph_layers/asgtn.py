"""ASGTN's adaptive spatiotemporal graph block: a temporal graph over instances and a graph over feature channels.

ASGTN (Liu et al., TCSVT 2025) mixes each video's clip features through two branches before GDLT's
transformer, and adds them to the input: ``0.8 x + w_t T(x) + w_s S(x)`` (``w`` learned, from 0.1).

* ``T``: two adaptive temporal graph convolutions over the instance graph (a chain: each clip and
  its neighbours, ``temporal_window`` with ``k: 1``, unnormalised). An edge's logit is the graph's
  weight times a learned weight of the target instance's position; every source instance of the
  video enters the softmax over sources (a non-edge with logit 0, as the authors' dense softmax
  does), then a channel mixing ``softmax(W)`` over input channels, and ELU.
* ``S``: two adaptive graph convolutions over the *channels*, seen as an image (1024 = 32 x 32 as
  the authors', other widths the most square rectangle: ``grid_shape``; 8 neighbours), with a learned
  weight per channel; then a mixing over positions (``softmax(V)``
  over input positions: n -> 2n -> n), and ELU.

The authors fix 68 clips (their per-position weights and position mixings have that size); here
they are a grid over the relative position in the video, resampled linearly to each video's length
(exactly the authors' values at their length), and padding never enters a softmax: any length, any
batch, each video as it is alone.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from registry import ConfigError

from ..graphs import InstanceGraph
from ..kinds import GRAPH_LAYERS
from .base import GraphLayer


def resample(grid_size: int, lengths: Tensor, n: int) -> Tensor:
    """``[B, n, grid_size]`` linear interpolation weights placing each video's ``lengths[b]`` positions on a grid.

    Position ``j`` of a video of length ``L`` sits at ``j (G - 1) / (L - 1)`` on the grid (the ends on the
    ends); at ``L == G`` every position is a grid point exactly, and its row is one-hot.
    """
    j = torch.arange(n, device=lengths.device, dtype=torch.float32)
    span = (lengths.to(torch.float32) - 1).clamp(min=1)
    u = (j.unsqueeze(0) * ((grid_size - 1) / span).unsqueeze(1)).clamp(0, grid_size - 1)
    low = u.floor()
    frac = (u - low).unsqueeze(-1)
    grid = torch.arange(grid_size, device=lengths.device, dtype=torch.float32)
    at_low = (grid == low.unsqueeze(-1)).to(torch.float32)
    at_high = (grid == (low + 1).clamp(max=grid_size - 1).unsqueeze(-1)).to(torch.float32)
    return at_low * (1 - frac) + at_high * frac


class AdaptiveTemporalGraph(nn.Module):
    """One adaptive temporal graph convolution (ASGTN's ``GraphConvolutionLayer_t``), ``[B, N, C_in] -> C_out``."""

    def __init__(self, in_dim: int, out_dim: int, positions: int, dropout: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.full((in_dim, out_dim), 1.0 / in_dim))  # channel mixing, softmax over in
        self.position_weight = nn.Parameter(torch.ones(positions))  # per target position, on the grid
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, adj: Tensor, mask: Tensor) -> Tensor:
        lengths = mask.sum(1)
        target = (resample(self.position_weight.shape[0], lengths, x.shape[1]) @ self.position_weight).to(x.dtype)
        logits = (adj * target.unsqueeze(1)).masked_fill(~mask.unsqueeze(2), float("-inf"))
        mixed = torch.softmax(logits, dim=1).transpose(1, 2) @ x  # [B, N_target, C]: sources mixed
        return self.dropout(mixed) @ torch.softmax(self.weight, dim=0)


def grid_shape(channels: int) -> tuple[int, int]:
    """The image ``channels`` are seen as: ``h x w``, ``h`` the largest divisor <= sqrt(C) (1024: 32 x 32, as
    the authors'; 2048: 32 x 64; a prime width: one row, a chain)."""
    h = max(d for d in range(1, math.isqrt(channels) + 1) if channels % d == 0)
    return h, channels // h


def channel_grid(channels: int) -> Tensor:
    """The 8-neighbour graph (and self-loops) of ``channels`` seen as an image (``grid_shape``), ``[C, C]``."""
    _, side = grid_shape(channels)
    r = torch.arange(channels) // side
    c = torch.arange(channels) % side
    return (((r[:, None] - r[None, :]).abs() <= 1) & ((c[:, None] - c[None, :]).abs() <= 1)).float()


class AdaptiveChannelGraph(nn.Module):
    """One adaptive channel graph convolution (ASGTN's ``GraphConvolutionLayer_s``): channels mixed over their
    grid graph, then positions mixed, ``[B, n, C] -> [B, ratio n, C]`` (the positions' grids ``G_in -> G_out``)."""

    def __init__(self, channels: int, grid_in: int, grid_out: int, dropout: float) -> None:
        super().__init__()
        self.channel_weight = nn.Parameter(torch.ones(channels))  # per target channel
        self.weight = nn.Parameter(torch.full((grid_in, grid_out), 1.0 / grid_in))  # position mixing, softmax over in
        self.register_buffer("grid", channel_grid(channels), persistent=False)  # fixed by the width: not a weight
        self.dropout = nn.Dropout(dropout)
        # The positions scale by grid_out / grid_in, as integers: sizes stay integer arithmetic (export traces them).
        g = math.gcd(grid_in, grid_out)
        self.num, self.den = grid_out // g, grid_in // g

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """``x [B, n, C]``, ``mask [B, n]`` -> (``[B, m, C]``, its mask), ``m = ratio n`` per video."""
        x = self.dropout(x @ torch.softmax(self.grid * self.channel_weight, dim=0))
        lengths = mask.sum(1)
        out_lengths = lengths * self.num // self.den
        m = x.shape[1] * self.num // self.den
        rows = resample(self.weight.shape[0], lengths, x.shape[1])  # [B, n, G_in]
        cols = resample(self.weight.shape[1], out_lengths, m)  # [B, m, G_out]
        logits = (rows @ self.weight @ cols.transpose(1, 2)).masked_fill(~mask.unsqueeze(2), float("-inf"))
        out_mask = torch.arange(m, device=x.device).unsqueeze(0) < out_lengths.unsqueeze(1)
        return torch.softmax(logits, dim=1).transpose(1, 2).to(x.dtype) @ x, out_mask


@GRAPH_LAYERS.register("asgtn")
class AdaptiveSpatiotemporalGraph(GraphLayer):
    """ASGTN's block: ``residual x + w_t T(x) + w_s S(x)``, a temporal and a channel graph branch (see the module).

    ASGTN: on the 1024-d clip features before GDLT's input projection (a stream's ``input_layers``,
    ``input_graph: {type: temporal_window, k: 1, normalize: none}``), 68 positions, ``hidden`` 512
    channels in the temporal branch, positions doubled inside the channel branch, dropout 0.4. The
    output keeps the width, or a linear projection follows to ``out_dim``.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int | None = None,
        hidden: int | None = None,
        positions: int = 68,
        position_ratio: int = 2,
        dropout: float = 0.4,
        residual: float = 0.8,
        mix_init: float = 0.1,
    ) -> None:
        super().__init__()
        if positions < 2 or position_ratio < 1:
            raise ConfigError(
                f"asgtn graph layer: needs positions >= 2 and position_ratio >= 1, got {positions}, {position_ratio}"
            )
        hidden = hidden or in_dim // 2
        self.temporal = nn.ModuleList(
            [
                AdaptiveTemporalGraph(in_dim, hidden, positions, dropout),
                AdaptiveTemporalGraph(hidden, in_dim, positions, dropout),
            ]
        )
        wide = positions * position_ratio
        self.channel = nn.ModuleList(
            [
                AdaptiveChannelGraph(in_dim, positions, wide, dropout),
                AdaptiveChannelGraph(in_dim, wide, positions, dropout),
            ]
        )
        self.mix_temporal = nn.Parameter(torch.full((1,), mix_init))
        self.mix_channel = nn.Parameter(torch.full((1,), mix_init))
        self.residual = residual
        out_dim = out_dim or in_dim  # the block keeps its width (a residual sum); a projection changes it
        self.proj = nn.Identity() if out_dim == in_dim else nn.Linear(in_dim, out_dim)
        self.out_dim = out_dim

    def forward(self, x: Tensor, graph: InstanceGraph | None, mask: Tensor) -> Tensor:
        if graph is None:
            raise ConfigError("asgtn graph layer: needs the temporal instance graph (graph: temporal_window, k: 1)")
        t = x
        for layer in self.temporal:
            t = F.elu(layer(t, graph.adj, mask))
        s, m = x, mask
        for layer in self.channel:
            s, m = layer(s, m)
            s = F.elu(s)
        return self.proj(self.residual * x + self.mix_temporal * t + self.mix_channel * s)
