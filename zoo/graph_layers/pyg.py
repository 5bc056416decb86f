"""Any PyG convolution as a graph layer: ``pyg:GATConv``, ``pyg:GraphConv``, ...

PyG layers run on one block-diagonal graph of all instances in the batch (``InstanceGraph.edges``);
this adapter flattens ``[B, N, C]`` to nodes (plus the sink node), calls the convolution and folds
the result back. The ``pyg:`` names are the convolutions that take node features and an
``edge_index`` alone; those that need positions, edge types or a second input are left out.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import torch
from torch import Tensor, nn

from registry import GRAPH_LAYERS
from registry.registry import wrapping_factory

from ..graphs import InstanceGraph
from ..imports import import_quietly

# How each supported convolution is constructed: "channels" = (in_channels, out_channels, ...);
# "heads" = like channels but out_channels is per head when concat=True; "nn" = takes an MLP.
SUPPORTED: dict[str, str] = {
    "GCNConv": "channels",
    "GraphConv": "channels",
    "SAGEConv": "channels",
    "ChebConv": "channels",
    "LEConv": "channels",
    "TAGConv": "channels",
    "SGConv": "channels",
    "ClusterGCNConv": "channels",
    "FiLMConv": "channels",
    "GeneralConv": "channels",
    "ResGatedGraphConv": "channels",
    "MFConv": "channels",
    "FeaStConv": "channels",
    "ARMAConv": "channels",
    "GENConv": "channels",
    "EGConv": "channels",
    "GATConv": "heads",
    "GATv2Conv": "heads",
    "TransformerConv": "heads",
    "SuperGATConv": "heads",
    "EdgeConv": "nn",
    "GINConv": "nn",
}
_OWN_ARGS = ("in_dim", "out_dim")
_SKIP = {"in_channels", "out_channels", "nn"}


def _conv_class(name: str) -> type[nn.Module]:
    pyg_nn = import_quietly("torch_geometric.nn")

    return getattr(pyg_nn, name)


class PygGraphLayer(nn.Module):
    """A PyG convolution behind the graph-layer signature ``(x [B,N,C], graph, mask) -> [B,N,C']``."""

    def __init__(self, conv: str, in_dim: int, out_dim: int, **conv_kwargs: Any) -> None:
        super().__init__()
        cls = _conv_class(conv)
        style = SUPPORTED[conv]
        self.conv_name = conv
        if style == "nn":
            hidden = nn.Sequential(
                nn.Linear(2 * in_dim if conv == "EdgeConv" else in_dim, out_dim), nn.ReLU(), nn.Linear(out_dim, out_dim)
            )
            self.conv = cls(hidden, **conv_kwargs)
        elif style == "heads":
            heads = conv_kwargs.get("heads", 1)
            concat = conv_kwargs.get("concat", True)
            if concat and out_dim % heads:
                raise ValueError(f"pyg:{conv}: out_dim {out_dim} must be divisible by heads={heads} when concat=True")
            per_head = out_dim // heads if concat else out_dim
            self.conv = cls(in_dim, per_head, **conv_kwargs)
        else:
            self.conv = cls(in_dim, out_dim, **conv_kwargs)
        params = inspect.signature(self.conv.forward).parameters
        self._takes_weight = "edge_weight" in params

    def forward(self, x: Tensor, graph: InstanceGraph, mask: Tensor) -> Tensor:
        b, n, c = x.shape
        edge_index, edge_weight = graph.edges()
        nodes = torch.cat([x.reshape(b * n, c), x.new_zeros(1, c)])  # the last node is the sink
        if self._takes_weight:
            out = self.conv(nodes, edge_index, edge_weight.to(x.dtype))
        else:
            out = self.conv(nodes, edge_index)
        return out[: b * n].reshape(b, n, -1)


def _factory(conv: str) -> Any:
    """A constructor whose signature shows the convolution's own keyword arguments."""
    cls = _conv_class(conv)
    own = [inspect.Parameter(a, inspect.Parameter.KEYWORD_ONLY, annotation=int) for a in _OWN_ARGS]
    doc = f"PyG {conv} over the instance graph. {(cls.__doc__ or '').strip().splitlines()[0]}"
    return wrapping_factory(functools.partial(PygGraphLayer, conv), own, cls.__init__, _SKIP, doc)


GRAPH_LAYERS.add_namespace(
    "pyg",
    names=lambda: sorted(SUPPORTED),
    resolve=_factory,
    description="PyTorch Geometric convolution over the instance graph",
)
