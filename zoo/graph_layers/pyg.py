"""Any PyG convolution as a graph layer: ``pyg:GATConv``, ``pyg:GraphConv``, ...

PyG layers run on one block-diagonal graph of all instances in the batch (``InstanceGraph.edges``);
this adapter flattens ``[B, N, C]`` to nodes (plus the sink node), calls the convolution and folds
the result back. The ``pyg:`` names are the convolutions that take node features and an
``edge_index`` alone; those that need positions, edge types or a second input are left out.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from registry import ConfigError
from registry.registry import wrapping_factory

from ..graphs import InstanceGraph
from ..imports import first_sentence, import_quietly
from ..kinds import GRAPH_LAYERS
from .base import GraphLayer


@dataclass(frozen=True)
class Conv:
    """How one convolution is constructed and called.

    ``build``: "channels" = ``(in_channels, out_channels, ...)``; "heads" = the same with
    ``out_channels`` per head when ``concat``; "nn" = takes an MLP. ``edge_weight``: its forward
    takes the graph's edge weights (the others see the edges unweighted).
    """

    build: str
    edge_weight: bool


SUPPORTED: dict[str, Conv] = {
    "GCNConv": Conv("channels", True),
    "GraphConv": Conv("channels", True),
    "SAGEConv": Conv("channels", False),
    "ChebConv": Conv("channels", True),
    "LEConv": Conv("channels", True),
    "TAGConv": Conv("channels", True),
    "SGConv": Conv("channels", True),
    "ClusterGCNConv": Conv("channels", False),
    "FiLMConv": Conv("channels", False),
    "GeneralConv": Conv("channels", False),
    "ResGatedGraphConv": Conv("channels", False),
    "MFConv": Conv("channels", False),
    "FeaStConv": Conv("channels", False),
    "ARMAConv": Conv("channels", True),
    "GENConv": Conv("channels", False),
    "EGConv": Conv("channels", False),
    "GATConv": Conv("heads", False),
    "GATv2Conv": Conv("heads", False),
    "TransformerConv": Conv("heads", False),
    "SuperGATConv": Conv("heads", False),
    "EdgeConv": Conv("nn", False),
    "GINConv": Conv("nn", False),
}
# Convolutions of torch_geometric.nn that are not offered, and why (tools/list.py shows the reasons).
_POSITIONS = "needs node positions (pos), which instances of a video do not have"
_TYPES = "needs edge or node types (heterogeneous graphs); the instance graph has one type"
_EDGE_ATTR = "needs edge feature vectors (edge_attr) for its messages; the instance graph has scalar weights"
LEFT_OUT: dict[str, str] = {
    "PointNetConv": _POSITIONS,
    "PPFConv": _POSITIONS,
    "XConv": _POSITIONS,
    "GravNetConv": "builds its own k-NN graph from learned coordinates, ignoring the instance graph "
    "(graph: {type: knn_similarity} is the zoo's k-NN graph)",
    "RGCNConv": _TYPES,
    "FastRGCNConv": _TYPES,
    "RGATConv": _TYPES,
    "HGTConv": _TYPES,
    "HEATConv": _TYPES,
    "NNConv": _EDGE_ATTR,
    "CGConv": _EDGE_ATTR,
    "GMMConv": _EDGE_ATTR,
    "SplineConv": _EDGE_ATTR,
    "GINEConv": _EDGE_ATTR,
    "PDNConv": _EDGE_ATTR,
}
_OWN_ARGS = ("in_dim", "out_dim")
_SKIP = {"in_channels", "out_channels", "nn"}


def conv_class(name: str) -> type[nn.Module]:
    return getattr(import_quietly("torch_geometric.nn"), name)


class PygGraphLayer(GraphLayer):
    """A PyG convolution behind the graph-layer contract ``(x [B,N,C], graph, mask) -> [B,N,out_dim]``."""

    def __init__(self, conv: str, in_dim: int, out_dim: int | None = None, **conv_kwargs: Any) -> None:
        super().__init__()
        cls = conv_class(conv)
        spec = SUPPORTED[conv]
        out_dim = out_dim or in_dim
        self.conv_name, self.out_dim, self.edge_weight = conv, out_dim, spec.edge_weight
        if spec.build == "nn":
            hidden = nn.Sequential(
                nn.Linear(2 * in_dim if conv == "EdgeConv" else in_dim, out_dim), nn.ReLU(), nn.Linear(out_dim, out_dim)
            )
            self.conv = cls(hidden, **conv_kwargs)
        elif spec.build == "heads":
            heads = conv_kwargs.get("heads", 1)
            concat = conv_kwargs.get("concat", True)
            if concat and out_dim % heads:
                raise ConfigError(f"pyg:{conv}: out_dim {out_dim} must be divisible by heads={heads} when concat=True")
            self.conv = cls(in_dim, out_dim // heads if concat else out_dim, **conv_kwargs)
        else:
            self.conv = cls(in_dim, out_dim, **conv_kwargs)
        if conv == "ARMAConv" and self.conv.num_layers == 1:
            # PyG allocates the recursive weight even for one layer (the default), whose forward never
            # reads it; a trainable parameter that gets no gradient breaks DistributedDataParallel.
            self.conv.weight.requires_grad_(False)

    def forward(self, x: Tensor, graph: InstanceGraph | None, mask: Tensor) -> Tensor:
        assert graph is not None, f"pyg:{self.conv_name} needs a graph (the stream builds one: needs_graph is true)"
        b, n, c = x.shape
        edge_index, edge_weight = graph.edges()
        nodes = torch.cat([x.reshape(b * n, c), x.new_zeros(1, c)])  # the last node is the sink
        if self.edge_weight:
            out = self.conv(nodes, edge_index, edge_weight.to(x.dtype))
        else:
            out = self.conv(nodes, edge_index)
        return out[: b * n].reshape(b, n, -1)


def _factory(conv: str) -> Any:
    """A constructor whose signature shows the convolution's own keyword arguments."""
    cls = conv_class(conv)
    own = [
        inspect.Parameter("in_dim", inspect.Parameter.KEYWORD_ONLY, annotation=int),
        inspect.Parameter("out_dim", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=int | None),
    ]
    doc = f"PyG {conv} over the instance graph: {first_sentence(cls.__doc__)}"
    return wrapping_factory(functools.partial(PygGraphLayer, conv), own, cls.__init__, _SKIP, doc)


for _name, _why in LEFT_OUT.items():
    GRAPH_LAYERS.leave_out(f"pyg:{_name}", _why)

GRAPH_LAYERS.add_namespace(
    "pyg",
    names=lambda: sorted(SUPPORTED),
    resolve=_factory,
    description="PyTorch Geometric convolution over the instance graph",
)
