"""ACTION-NET's temporal instance-wise GCN unit, in matrix form."""

from __future__ import annotations

from torch import Tensor, nn

from ..graphs import InstanceGraph
from ..kinds import GRAPH_LAYERS
from .base import GraphLayer


@GRAPH_LAYERS.register("gcn_unit")
class GCNUnit(GraphLayer):
    """ACTION-NET's GCN unit: W (A_hat X) + b on the dense adjacency (the stack adds the ReLU)."""

    def __init__(self, in_dim: int, out_dim: int | None = None, bias: bool = True) -> None:
        super().__init__()
        self.out_dim = out_dim or in_dim
        self.linear = nn.Linear(in_dim, self.out_dim, bias=bias)

    def forward(self, x: Tensor, graph: InstanceGraph | None, mask: Tensor) -> Tensor:
        assert graph is not None, "gcn_unit needs a graph (the stream builds one: needs_graph is true)"
        return self.linear(graph.adj @ x)
