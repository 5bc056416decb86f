"""A stack of graph layers with activation, optional residual connections and dropout."""

from __future__ import annotations

import itertools
from typing import Any

from torch import Tensor, nn

from registry import ConfigError

from ..blocks import activation as _activation
from ..graphs import InstanceGraph
from ..kinds import GRAPH_LAYERS
from .base import GraphLayer


@GRAPH_LAYERS.register("stack")
class GraphStack(GraphLayer):
    """N graph layers of one type: layer -> activation -> dropout (+ residual), padding kept at zero.

    ``norm: layer`` closes the stack with a LayerNorm, as ``nn.TransformerEncoder`` closes its layers
    (GDLT's, CoFInAl's and ASGTN's ``encoder.norm``).
    """

    def __init__(
        self,
        in_dim: int,
        layer: dict[str, Any],
        num_layers: int = 2,
        hidden_dim: int | None = None,
        out_dim: int | None = None,
        activation: str = "relu",
        residual: bool = False,
        dropout: float = 0.0,
        norm: str = "none",
    ) -> None:
        super().__init__()
        if norm not in ("none", "layer"):
            raise ConfigError(f"graph stack: norm must be 'none' or 'layer' (a closing LayerNorm), got {norm!r}")
        if num_layers < 1:
            raise ConfigError(f"graph stack: num_layers must be >= 1, got {num_layers}")
        width = hidden_dim or in_dim
        dims = [in_dim] + [width] * (num_layers - 1) + [out_dim or width]
        if residual and len(set(dims)) > 1:
            raise ConfigError(f"graph stack: residual needs every width equal to in_dim, got {dims}")
        self.layers = nn.ModuleList()
        for d_in, d_out in itertools.pairwise(dims):
            self.layers.append(GRAPH_LAYERS.build(layer, in_dim=d_in, out_dim=d_out))
        self.needs_graph = self.layers[0].needs_graph  # one layer type: they all agree
        self.act = _activation(activation)
        self.dropout = nn.Dropout(dropout)
        self.residual = residual
        self.out_dim = dims[-1]
        self.norm = nn.LayerNorm(self.out_dim) if norm == "layer" else None

    def forward(self, x: Tensor, graph: InstanceGraph | None, mask: Tensor) -> Tensor:
        keep = mask.unsqueeze(-1).to(x.dtype)
        for layer in self.layers:
            h = self.dropout(self.act(layer(x, graph, mask)))
            x = (x + h if self.residual else h) * keep
        return x if self.norm is None else self.norm(x) * keep
