"""PyG aggregations as stream readouts: ``pyg:AttentionalAggregation``, ``pyg:SetTransformerAggregation``, ...

The valid instances of all videos become one node set with a ``batch`` index; padded instances go
to an extra group ``B`` that is dropped, so the readout has a fixed ``dim_size`` (export-friendly).
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import torch
from torch import Tensor, nn

from registry.registry import wrapping_factory

from ..imports import first_sentence, import_quietly
from ..kinds import ATTENTION
from .base import Attention

# How each is built: "plain" takes no size; "channels" takes in_channels or channels; "gate" gets a
# gate network; "set" sizes by channels and needs sorted groups.
SUPPORTED: dict[str, str] = {
    "SumAggregation": "plain",
    "MeanAggregation": "plain",
    "MaxAggregation": "plain",
    "MinAggregation": "plain",
    "StdAggregation": "plain",
    "VarAggregation": "plain",
    "SoftmaxAggregation": "plain",
    "PowerMeanAggregation": "plain",
    "MedianAggregation": "plain",
    "AttentionalAggregation": "gate",
    "SetTransformerAggregation": "set",
    "Set2Set": "set2set",
    "DeepSetsAggregation": "deepsets",
    "LSTMAggregation": "channels",
    "GRUAggregation": "channels",
}
# Aggregations of torch_geometric.nn.aggr that are not offered, and why (tools/list.py shows the reasons).
LEFT_OUT: dict[str, str] = {}


class PygReadout(Attention):
    """A PyG aggregation behind the attention signature ``(x [B,N,C], mask) -> (feature [B,C'], None)``."""

    def __init__(self, aggr: str, in_dim: int, out_dim: int | None = None, **kwargs: Any) -> None:
        super().__init__()
        A = import_quietly("torch_geometric.nn.aggr")

        cls = getattr(A, aggr)
        style = SUPPORTED[aggr]
        out_dim = out_dim or in_dim
        if style == "gate":
            gate = nn.Sequential(nn.Linear(in_dim, in_dim // 2 or 1), nn.ReLU(), nn.Linear(in_dim // 2 or 1, 1))
            self.aggr, self.out_dim = cls(gate_nn=gate, **kwargs), in_dim
        elif style == "set":
            self.aggr, self.out_dim = cls(in_dim, **kwargs), in_dim
        elif style == "set2set":
            self.aggr, self.out_dim = (
                cls(in_dim, processing_steps=kwargs.pop("processing_steps", 2), **kwargs),
                2 * in_dim,
            )
        elif style == "deepsets":
            local = nn.Sequential(nn.Linear(in_dim, out_dim), nn.ReLU())
            self.aggr, self.out_dim = cls(local_nn=local, global_nn=nn.Linear(out_dim, out_dim), **kwargs), out_dim
        elif style == "channels":
            self.aggr, self.out_dim = cls(in_dim, out_dim, **kwargs), out_dim
        else:
            self.aggr, self.out_dim = cls(**kwargs), in_dim
        self.name = aggr
        self._sorted = style in ("set", "channels", "set2set")

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, None]:
        b, n, c = x.shape
        group = torch.arange(b, device=x.device).unsqueeze(1).expand(b, n)
        group = torch.where(mask, group, torch.full_like(group, b)).reshape(-1)
        nodes = x.reshape(b * n, c)
        if self._sorted:  # these readouts batch groups densely and need them contiguous
            order = torch.argsort(group, stable=True)
            nodes, group = nodes[order], group[order]
            out = self.aggr(nodes, group, dim_size=b + 1, max_num_elements=n)
        else:
            out = self.aggr(nodes, group, dim_size=b + 1)
        return out[:b], None


def _factory(aggr: str) -> Any:
    A = import_quietly("torch_geometric.nn.aggr")

    own = [
        inspect.Parameter("in_dim", inspect.Parameter.KEYWORD_ONLY, annotation=int),
        inspect.Parameter("out_dim", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=int | None),
    ]
    skip = {"in_channels", "out_channels", "channels", "gate_nn", "nn", "local_nn", "global_nn"}
    doc = (
        f"PyG {aggr} readout over the valid instances (no instance weights): {first_sentence(getattr(A, aggr).__doc__)}"
    )
    return wrapping_factory(functools.partial(PygReadout, aggr), own, getattr(A, aggr).__init__, skip, doc)


for _name, _why in LEFT_OUT.items():
    ATTENTION.leave_out(f"pyg:{_name}", _why)

ATTENTION.add_namespace(
    "pyg",
    names=lambda: sorted(SUPPORTED),
    resolve=_factory,
    description="PyTorch Geometric aggregation as the stream readout",
)
