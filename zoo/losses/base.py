"""The contract of a loss: the model's outputs and the target -> one number to minimise."""

from __future__ import annotations

from typing import Any, ClassVar

from torch import Tensor, nn

from ..kinds import LOSSES


class Loss(nn.Module):
    """A training objective.

    ``forward(outputs, target [B]) -> scalar``, where ``outputs`` is the model's output dict
    (``score [B]``, ``weights {stream: ...}``, what the head adds). ``requires`` names the outputs it
    reads beyond ``score``; a loss whose outputs are missing says which head or attention provides them.
    """

    requires: ClassVar[tuple[str, ...]] = ("score",)

    def forward(self, outputs: dict[str, Any], target: Tensor) -> Tensor:
        raise NotImplementedError


LOSSES.contract = Loss
