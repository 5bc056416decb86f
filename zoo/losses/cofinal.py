"""CoFInAl's grade and sub-grade alignment: the coarse grade by MSE, the fine sub-grade to its ETF vertex by L1."""

from __future__ import annotations

from typing import Any

from torch import Tensor
from torch.nn import functional as F

from registry import ConfigError

from ..kinds import LOSSES
from .base import Loss


def grade_targets(target: Tensor, sub_grades: int) -> tuple[Tensor, Tensor]:
    """CoFInAl's split of a target in [0, 1] into a coarse grade and a sub-grade, for S sub-grades:
    ``g = int(t * 100 S)``, coarse ``(g // S) / 100``, fine ``g mod S`` (their ``get_proj_class``, S = 100)."""
    g = (target.float() * (100 * sub_grades)).long()
    coarse = g // sub_grades
    return coarse.to(target.dtype) / 100, g - coarse * sub_grades


@LOSSES.register("cofinal")
class CoFInAlAlignment(Loss):
    """CoFInAl's alignment: MSE of ``grade_score`` to the coarse grade (and of ``grade_score_revert`` to its
    complement), plus L1 of the normalised ``sub_grade`` to the ETF vertex of the fine sub-grade.

    Reads what ``head: {type: cofinal}`` gives (``grade_score``, ``grade_score_revert`` when the
    variant has it, ``sub_grade``, ``etf``). Add the ``triplet`` loss on the queries in a ``sum``, as
    CoFInAl does (weight ``alpha``).
    """

    requires = ("grade_score", "sub_grade", "etf")

    def forward(self, outputs: dict[str, Any], target: Tensor) -> Tensor:
        missing = [k for k in self.requires if k not in outputs]
        if missing:
            raise ConfigError(
                f"loss 'cofinal' needs the model outputs {missing} (head: {{type: cofinal}} gives them); "
                f"the outputs are {sorted(outputs)}"
            )
        etf = outputs["etf"]
        coarse, fine = grade_targets(target, etf.shape[1])
        loss = F.mse_loss(outputs["grade_score"], coarse)
        if "grade_score_revert" in outputs:
            loss = loss + F.mse_loss(outputs["grade_score_revert"], 1 - coarse)
        return loss + F.l1_loss(outputs["sub_grade"], etf[:, fine].t())
