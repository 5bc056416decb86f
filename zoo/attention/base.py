"""The contract of an attention / aggregation unit: the instances of a stream -> one vector."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import ClassVar

from torch import Tensor, nn

from ..kinds import ATTENTION


class Attention(nn.Module, metaclass=ABCMeta):
    """Weights the instances of a stream and pools them to one vector.

    Built as ``Attention(in_dim=C, **recipe_args)``; declares ``out_dim``.
    ``forward(x [B, N, C], mask [B, N] bool) -> (feature [B, out_dim], weights)``, where ``weights``
    are ``[B, N]`` (one per instance), ``[B, H, N]`` (several heads or queries) or ``None`` (a
    pooling with no instance weights). Padded instances get exactly zero weight, and a padded batch
    gives each video the feature and weights it gives alone.
    """

    declares: ClassVar[tuple[str, ...]] = ("out_dim",)  # set by every component; checked when built

    out_dim: int

    @abstractmethod
    def forward(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor | None]: ...


ATTENTION.contract = Attention
