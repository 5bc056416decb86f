"""A transformer encoder layer as a graph layer: self-attention over the fully connected instance graph."""

from __future__ import annotations

from torch import Tensor, nn

from registry import ConfigError

from ..graphs import InstanceGraph
from ..kinds import GRAPH_LAYERS
from .base import GraphLayer

ACTIVATIONS = ("relu", "gelu")


@GRAPH_LAYERS.register("transformer")
class TransformerLayer(GraphLayer):
    """Transformer encoder layer over the valid instances (GDLT's encoder); needs no graph.

    Self-attention is message passing over the fully connected graph of the valid instances, so the
    stream builds no graph for it (``needs_graph = False``; give no ``graph:``). Post-norm like
    ``nn.Transformer`` (``norm_first: true`` for pre-norm). In a ``stack`` use ``activation: none``:
    the layer has its own feed-forward and normalisation. A projection follows when ``out_dim``
    differs from ``in_dim``.
    """

    needs_graph = False

    def __init__(
        self,
        in_dim: int,
        out_dim: int | None = None,
        heads: int = 1,
        ff_ratio: float = 4.0,
        dropout: float = 0.1,
        activation: str = "relu",
        norm_first: bool = False,
    ) -> None:
        super().__init__()
        if in_dim % heads:
            raise ConfigError(f"transformer graph layer: in_dim {in_dim} must be divisible by heads={heads}")
        if activation not in ACTIVATIONS:
            raise ConfigError(f"transformer graph layer: activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.layer = nn.TransformerEncoderLayer(
            in_dim,
            heads,
            dim_feedforward=max(1, round(in_dim * ff_ratio)),
            dropout=dropout,
            activation=activation,
            batch_first=True,
            norm_first=norm_first,
        )
        out_dim = out_dim or in_dim
        self.proj = nn.Identity() if out_dim == in_dim else nn.Linear(in_dim, out_dim)
        self.out_dim = out_dim

    def forward(self, x: Tensor, graph: InstanceGraph | None, mask: Tensor) -> Tensor:
        """``x [B, N, C]``, ``mask [B, N]`` -> ``[B, N, out_dim]``; padded keys get no attention."""
        return self.proj(self.layer(x, src_key_padding_mask=~mask))
