"""A stack of graph layers with activation, optional residual connections and dropout."""

from __future__ import annotations

import itertools
from typing import Any

from torch import Tensor, nn

from registry import GRAPH_LAYERS

from ..graphs import InstanceGraph
from ..nn import activation as _activation


@GRAPH_LAYERS.register("stack")
class GraphStack(nn.Module):
    """N graph layers of one type: layer -> activation -> dropout (+ residual), padding kept at zero."""

    def __init__(
        self,
        in_dim: int,
        layer: dict[str, Any],
        num_layers: int = 2,
        hidden_dim: int | None = None,
        activation: str = "relu",
        residual: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        width = hidden_dim or in_dim
        self.layers = nn.ModuleList()
        dims = [in_dim] + [width] * num_layers
        for d_in, d_out in itertools.pairwise(dims):
            self.layers.append(GRAPH_LAYERS.build(layer, in_dim=d_in, out_dim=d_out))
        if residual and in_dim != width:
            raise ValueError(f"graph stack: residual needs hidden_dim == in_dim, got {width} and {in_dim}")
        self.act = _activation(activation)
        self.dropout = nn.Dropout(dropout)
        self.residual = residual
        self.out_dim = width

    def forward(self, x: Tensor, graph: InstanceGraph, mask: Tensor) -> Tensor:
        keep = mask.unsqueeze(-1).to(x.dtype)
        for layer in self.layers:
            h = self.dropout(self.act(layer(x, graph, mask)))
            x = (x + h if self.residual else h) * keep
        return x
