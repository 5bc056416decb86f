"""The contract of a graph layer: message passing over the instance graph."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import ClassVar

from torch import Tensor, nn

from ..graphs import InstanceGraph
from ..kinds import GRAPH_LAYERS


class GraphLayer(nn.Module, metaclass=ABCMeta):
    """Updates every instance from its neighbours in the instance graph.

    Built as ``GraphLayer(in_dim=C, out_dim=None, **recipe_args)`` (``out_dim`` None keeps the
    width); declares ``out_dim``, so a layer works alone in a stream as well as inside ``stack``.
    ``forward(x [B, N, C], graph: InstanceGraph | None, mask [B, N]) -> [B, N, out_dim]``.
    A layer whose messages do not follow the graph's edges (a transformer attends to every valid
    instance) sets ``needs_graph = False``: the stream then builds no graph and passes ``None``.
    Valid rows must not depend on padding (a padded batch gives each video what it gives alone);
    padded rows may hold anything (the stream zeroes them).
    """

    declares: ClassVar[tuple[str, ...]] = ("out_dim", "needs_graph")  # set by every component; checked when built

    needs_graph: ClassVar[bool] = True
    out_dim: int

    @abstractmethod
    def forward(self, x: Tensor, graph: InstanceGraph | None, mask: Tensor) -> Tensor: ...


GRAPH_LAYERS.contract = GraphLayer
