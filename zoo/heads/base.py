"""The contract of a head: one vector per video -> its score (and what the head's loss needs)."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod

from torch import Tensor, nn

from ..kinds import HEADS


class Head(nn.Module, metaclass=ABCMeta):
    """Regresses the score from the fused vector.

    Built as ``Head(in_dim=C, **recipe_args)``. ``forward(x [B, C]) -> {"score": [B], ...}``: the score
    is in the target's units (the judged score / ``data.score_scale``); a head may add outputs its
    loss reads (``logits`` and ``bins`` of a distribution head, ``queries`` of the grade head).
    Every output with a leading batch axis is per video.
    """

    @abstractmethod
    def forward(self, x: Tensor) -> dict[str, Tensor]: ...


HEADS.contract = Head
