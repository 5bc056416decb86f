"""The contract of a loss: the model's outputs and the target -> one number to minimise."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any, ClassVar

from torch import Tensor, nn

from ..kinds import LOSSES


class Loss(nn.Module, metaclass=ABCMeta):
    """A training objective.

    ``forward(outputs, target [B]) -> scalar``, where ``outputs`` is the model's output dict
    (``score [B]``, ``weights {stream: ...}``, what the head adds). ``requires`` names the outputs it
    reads beyond ``score``; a loss whose outputs are missing says which head or attention provides them.
    """

    declares: ClassVar[tuple[str, ...]] = ("requires",)  # set by every component; checked when built

    requires: ClassVar[tuple[str, ...]] = ("score",)

    @abstractmethod
    def forward(self, outputs: dict[str, Any], target: Tensor) -> Tensor: ...


LOSSES.contract = Loss
