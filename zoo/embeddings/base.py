"""The contract of an embedding: per-instance features -> the stream's width."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import ClassVar

from torch import Tensor, nn

from ..kinds import EMBEDDINGS


class Embedding(nn.Module, metaclass=ABCMeta):
    """Maps each instance's features to the stream's width.

    Built as ``Embedding(in_dim=C, **recipe_args)``; declares ``out_dim``.
    ``forward(x [B, N, C], mask [B, N] bool) -> [B, N, out_dim]``. Valid rows must not depend on
    padding: an embedding that mixes instances (a temporal convolution, batch statistics) reads
    ``mask``; one that works per instance ignores it. Rows of padded instances may hold anything
    (the stream zeroes them).
    """

    declares: ClassVar[tuple[str, ...]] = ("out_dim",)  # set by every component; checked when built

    out_dim: int

    @abstractmethod
    def forward(self, x: Tensor, mask: Tensor) -> Tensor: ...


EMBEDDINGS.contract = Embedding
