"""The contract of a fusion: the streams' vectors -> one vector."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import ClassVar

from torch import Tensor, nn

from ..kinds import FUSION


class Fusion(nn.Module, metaclass=ABCMeta):
    """Joins the streams' vectors into one.

    Built as ``Fusion(in_dims={stream: C_s}, **recipe_args)``; declares ``out_dim``.
    ``forward({stream: [B, C_s]}) -> [B, out_dim]``; every fusion accepts a single stream as well as several.
    """

    declares: ClassVar[tuple[str, ...]] = ("out_dim",)  # set by every component; checked when built

    out_dim: int

    @abstractmethod
    def forward(self, features: dict[str, Tensor]) -> Tensor: ...


FUSION.contract = Fusion
