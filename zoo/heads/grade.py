"""GDLT's grade head: a weight per grade from its decoded query; the score is the weighted mean grade."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from registry import ConfigError

from ..kinds import HEADS
from .base import Head


@HEADS.register("grade")
class GradeHead(Head):
    """[B, K*D] -> K grade queries; w = sigmoid(logit_k) normalised to sum 1; score = sum_k w_k g_k.

    The grade values g_k are evenly spaced in ``score_range`` (GDLT: [0, 1], with the target score / 25).
    Each grade has its own logit weights, as GDLT's ``diag(Linear(D, K)(q))``; ``shared: true`` uses one
    ``Linear(D, 1)`` for all. Also returns ``grade_weights [B, K]`` and ``queries [B, K, D]`` (the
    ``triplet`` loss reads them). Pair it with ``attention: {type: grade_decoder, queries: K}``.
    """

    def __init__(
        self,
        in_dim: int,
        grades: int = 4,
        shared: bool = False,
        score_range: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        super().__init__()
        if grades < 1 or in_dim % grades:
            raise ConfigError(
                f"grade head: its input width {in_dim} must be K * D for grades K={grades}; "
                "give the grade decoder and the head the same number of grades (queries)"
            )
        self.grades, self.dim = grades, in_dim // grades
        self.logit = nn.Linear(self.dim, 1 if shared else grades)
        self.shared = shared
        self.register_buffer("values", torch.linspace(float(score_range[0]), float(score_range[1]), grades))

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        queries = x.view(x.shape[0], self.grades, self.dim)
        if self.shared:
            logits = self.logit(queries).squeeze(-1)
        else:  # grade k's own row of the Linear: the diagonal of Linear(D, K) applied to every query
            logits = (queries * self.logit.weight).sum(-1) + self.logit.bias
        w = torch.sigmoid(logits)
        w = w / w.sum(-1, keepdim=True)
        return {"score": (w * self.values).sum(-1), "grade_weights": w, "queries": queries}
