"""The contract of a graph builder: the instances of a video -> who exchanges messages, with what weight."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import ClassVar

from torch import Tensor, nn

from registry import ConfigError

from ..kinds import GRAPH_BUILDERS
from .graph import InstanceGraph, mask_adjacency, normalize_adjacency

NORMALIZE = ("sym", "row", "none")


class GraphBuilder(nn.Module, metaclass=ABCMeta):
    """Builds the instance graph of every video in the batch.

    Built as ``GraphBuilder(**recipe_args)`` (``in_dim`` is offered to builders that learn).
    ``forward(x [B, N, C], mask [B, N]) -> InstanceGraph``: the dense adjacency ``[B, N, N]`` with
    rows and columns of padded instances zero, and the batched PyG ``edge_index`` built from it on
    demand. Works for any ``N``; the graph of a padded video equals its graph alone. A subclass
    returns the raw adjacency from ``adjacency(x, mask)``; masking and the ``normalize`` mode
    (``sym``: D^-1/2 A D^-1/2, ``row``: D^-1 A, ``none``) happen here.
    """

    declares: ClassVar[tuple[str, ...]] = ("normalize",)  # set by every component; checked when built

    def __init__(self, normalize: str = "sym") -> None:
        super().__init__()
        if normalize not in NORMALIZE:
            raise ConfigError(
                f"graph builder {type(self).__name__}: normalize must be one of {NORMALIZE}, got {normalize!r}"
            )
        self.normalize = normalize

    @abstractmethod
    def adjacency(self, x: Tensor, mask: Tensor) -> Tensor: ...

    def forward(self, x: Tensor, mask: Tensor) -> InstanceGraph:
        adj = mask_adjacency(self.adjacency(x, mask), mask)
        return InstanceGraph(normalize_adjacency(adj, self.normalize), mask)


GRAPH_BUILDERS.contract = GraphBuilder
