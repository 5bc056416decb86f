"""ACTION-NET's temporal instance-wise GCN unit, in matrix form."""

from __future__ import annotations

from torch import Tensor, nn

from registry import GRAPH_LAYERS

from ..graphs import InstanceGraph


@GRAPH_LAYERS.register("gcn_unit")
class GCNUnit(nn.Module):
    """ACTION-NET's GCN unit: W (A_hat X) + b on the dense adjacency (the stack adds the ReLU)."""

    def __init__(self, in_dim: int, out_dim: int, bias: bool = True) -> None:
        super().__init__()
        self.linear = nn.Linear(in_dim, out_dim, bias=bias)

    def forward(self, x: Tensor, graph: InstanceGraph, mask: Tensor) -> Tensor:
        return self.linear(graph.adj @ x)
