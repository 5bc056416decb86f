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

# How each is built: "plain" takes no size; "gate" gets a gate network; "set" sizes by channels and
# needs sorted groups; "set2set" sizes by in_channels; "deepsets" gets a local and a global network.
SUPPORTED: dict[str, str] = {
    "SumAggregation": "plain",
    "MeanAggregation": "plain",
    "MaxAggregation": "plain",
    "MinAggregation": "plain",
    "StdAggregation": "plain",
    "VarAggregation": "plain",
    "SoftmaxAggregation": "plain",
    "PowerMeanAggregation": "plain",
    "AttentionalAggregation": "gate",
    "SetTransformerAggregation": "set",
    "Set2Set": "set2set",
    "DeepSetsAggregation": "deepsets",
}
# Aggregations of torch_geometric.nn.aggr that are not offered, and why (tools/list.py shows the reasons).
_RNN = (
    "pads each video to the batch's longest and returns its {rnn}'s state at the last padded step, so the "
    "padding runs through the {rnn}: a video's feature changes with the batch it is in (and torch.export "
    "fixes the {rnn}'s length to the traced one)"
)
LEFT_OUT: dict[str, str] = {
    "LSTMAggregation": _RNN.format(rnn="LSTM"),
    "GRUAggregation": _RNN.format(rnn="GRU"),
    "MedianAggregation": (
        "torch.export specialises PyG's quantile to the traced number of instances (B x N), so the exported "
        "program refuses any other batch or length, and the ONNX conversion fails; alone, a video of one "
        "instance makes it index position -1 and crash"
    ),
}
# Set2Set's constructor has no default for processing_steps; two is what the adapter always meant to give.
_DEFAULTS: dict[str, dict[str, Any]] = {"Set2Set": {"processing_steps": 2}}


class PygReadout(Attention):
    """A PyG aggregation behind the attention signature ``(x [B,N,C], mask) -> (feature [B,C'], None)``."""

    def __init__(self, aggr: str, in_dim: int, out_dim: int | None = None, **kwargs: Any) -> None:
        super().__init__()
        A = import_quietly("torch_geometric.nn.aggr")

        cls = getattr(A, aggr)
        style = SUPPORTED[aggr]
        kwargs = {**_DEFAULTS.get(aggr, {}), **kwargs}
        out_dim = out_dim or in_dim
        if style == "gate":
            gate = nn.Sequential(nn.Linear(in_dim, in_dim // 2 or 1), nn.ReLU(), nn.Linear(in_dim // 2 or 1, 1))
            self.aggr, self.out_dim = cls(gate_nn=gate, **kwargs), in_dim
        elif style == "set":
            self.aggr, self.out_dim = cls(in_dim, **kwargs), in_dim
        elif style == "set2set":
            self.aggr, self.out_dim = cls(in_dim, **kwargs), 2 * in_dim
        elif style == "deepsets":
            local = nn.Sequential(nn.Linear(in_dim, out_dim), nn.ReLU())
            self.aggr, self.out_dim = cls(local_nn=local, global_nn=nn.Linear(out_dim, out_dim), **kwargs), out_dim
        else:
            self.aggr, self.out_dim = cls(**kwargs), in_dim
        self.name = aggr
        # Set2Set scatters by group like the plain ones; only the dense readout needs contiguous groups.
        self._sorted = style == "set"
        if self._sorted:
            # forward orders the groups itself; PyG's check of that branches on the data, which
            # torch.export cannot trace.
            self.aggr.assert_sorted_index = _groups_are_sorted

    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, None]:
        b, n, c = x.shape
        group = torch.arange(b, device=x.device).unsqueeze(1).expand(b, n)
        group = torch.where(mask, group, torch.full_like(group, b)).reshape(-1)
        nodes = x.reshape(b * n, c)
        if self._sorted:  # this readout batches the groups densely and needs them contiguous
            nodes, group = _by_group(nodes, group, mask.reshape(-1))
            out = self.aggr(nodes, group, dim_size=b + 1, max_num_elements=n)
        else:
            out = self.aggr(nodes, group, dim_size=b + 1)
        return out[:b], None


def _groups_are_sorted(index: Tensor | None) -> None:
    """Stands in for PyG's ``assert_sorted_index``: ``_by_group`` has sorted them."""


def _by_group(nodes: Tensor, group: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:
    """Nodes and groups stably sorted by group: every video's valid instances in order, then all padding.

    Row-major order already lists video 0's instances before video 1's, so each node's place follows
    from running counts; a sort would do the same, but ONNX has no stable sort.
    """
    place = torch.where(valid, valid.cumsum(0) - 1, valid.sum() + (~valid).cumsum(0) - 1)
    sorted_nodes = torch.zeros_like(nodes).index_copy(0, place, nodes)
    return sorted_nodes, torch.zeros_like(group).index_copy(0, place, group)


def _factory(aggr: str) -> Any:
    A = import_quietly("torch_geometric.nn.aggr")

    own = [
        inspect.Parameter("in_dim", inspect.Parameter.KEYWORD_ONLY, annotation=int),
        inspect.Parameter("out_dim", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=int | None),
    ]
    defaults = _DEFAULTS.get(aggr, {})
    own += [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v) for k, v in defaults.items()]
    skip = {"in_channels", "out_channels", "channels", "gate_nn", "nn", "local_nn", "global_nn", *defaults}
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
