"""CoFInAl's head: coarse grades from the decoded grade queries, and a fine sub-grade read off a simplex ETF."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from registry import ConfigError

from ..kinds import HEADS
from .base import Head

# CoFInAl's activation restrictions (--activate_regular_restrictions 0..3): the value of each of the K grades in
# the coarse score, and of each grade in the "reverted" coarse score (its complement, trained against 1 - g).
RESTRICTIONS = ("relu", "relu-0.5", "sigmoid", "arcl1")
VARIANTS = ("cofinal", "cofinal_2")


def restriction_values(name: str, grades: int) -> tuple[Tensor, Tensor]:
    """(values, reverted values) of the K grades, as CoFInAl's ``choose_activate``."""
    if name == "relu":
        values = torch.linspace(0, 1, grades)
        return values, values.flip(-1)
    if name == "relu-0.5":
        values = torch.linspace(0, 1, grades + 1)[1:]
        return values, values.flip(-1)
    if grades != 4:
        raise ConfigError(f"cofinal head: restriction {name!r} is defined for 4 grades, got grades={grades}")
    if name == "sigmoid":
        return torch.tensor([0.1, 0.2, 0.8, 1.0]), torch.tensor([1.0, 1.0, -1.0, -1.0])
    values = torch.tensor([-1.0, -0.8, 0.8, 1.0])  # arcl1
    return values, values.flip(-1)


def simplex_etf(size: int, seed: int) -> Tensor:
    """A ``size`` x ``size`` simplex equiangular tight frame: ``sqrt(K/(K-1)) U (I - 11^T/K)``, U orthogonal.

    CoFInAl draws U from numpy's global generator; here from a seeded one, and it is a buffer of the
    model (saved with every checkpoint, loaded from the authors' state_dict when converted).
    """
    g = torch.Generator().manual_seed(seed)
    u, _ = torch.linalg.qr(torch.rand(size, size, generator=g, dtype=torch.float64))
    centre = torch.eye(size, dtype=torch.float64) - torch.full((size, size), 1.0 / size, dtype=torch.float64)
    return (u @ centre * math.sqrt(size / (size - 1))).float()


def grade_score(queries: Tensor, logit: nn.Linear, values: Tensor) -> Tensor:
    """GDLT's score: grade k's own logit (the diagonal of ``Linear(D, K)`` on the K queries), sigmoid, normalised,
    the values' weighted sum."""
    logits = (queries * logit.weight).sum(-1) + logit.bias
    w = torch.sigmoid(logits)
    return ((w / w.sum(-1, keepdim=True)) * values).sum(-1)


@HEADS.register("cofinal")
class CoFInAlHead(Head):
    """CoFInAl (Zhou et al., IJCAI 2024): coarse grades plus a fine sub-grade on a simplex ETF.

    Input: the K decoded grade queries flattened, ``[B, K*D]`` (``attention: {type: grade_decoder}``).
    The coarse score ``grade_score`` weights the grades' values (``restriction``: relu, relu-0.5,
    sigmoid, arcl1) as GDLT does; variant ``cofinal`` adds a second, reverted coarse score trained
    against its complement, ``cofinal_2`` has none. The fine part: each query through a value
    projection (CoFInAl's ``MultiheadAttention`` as its test loop runs it, one video at a time, where
    every query attends only to itself), the K queries flattened, ``Linear(K*D, hidden) -
    Linear(hidden, S)``, L2-normalised to ``sub_grade [B, S]``; the predicted sub-grade is the ETF
    column it is closest to. ``score = (grade_score + 1 - grade_score_revert) / 2 + argmax / (100 S)``
    (without the reverted score in ``cofinal_2``). Pair it with ``loss: {type: cofinal}`` (and the
    ``triplet`` loss on ``queries``).
    """

    def __init__(
        self,
        in_dim: int,
        grades: int = 4,
        restriction: str = "sigmoid",
        variant: str = "cofinal",
        sub_grades: int = 100,
        hidden: int = 256,
        heads: int = 4,
        dropout: float = 0.0,
        etf_seed: int = 0,
    ) -> None:
        super().__init__()
        if restriction not in RESTRICTIONS:
            raise ConfigError(f"cofinal head: restriction must be one of {RESTRICTIONS}, got {restriction!r}")
        if variant not in VARIANTS:
            raise ConfigError(f"cofinal head: variant must be one of {VARIANTS}, got {variant!r}")
        if grades < 1 or in_dim % grades:
            raise ConfigError(
                f"cofinal head: its input width {in_dim} must be K * D for grades K={grades} (the grade decoder's "
                "queries); give both the same number"
            )
        self.grades, self.dim, self.sub_grades = grades, in_dim // grades, sub_grades
        if self.dim % heads:
            raise ConfigError(f"cofinal head: the query width {self.dim} must be divisible by heads={heads}")
        values, reverted = restriction_values(restriction, grades)
        self.register_buffer("values", values)
        self.logit = nn.Linear(self.dim, grades)
        self.revert = variant == "cofinal"
        if self.revert:
            self.register_buffer("values_revert", reverted)
            self.logit_revert = nn.Linear(self.dim, grades)
        self.attend = nn.MultiheadAttention(self.dim, heads, dropout=dropout)  # sequence-first, as theirs
        self.fine = nn.Sequential(nn.Linear(grades * self.dim, hidden), nn.Linear(hidden, sub_grades))
        self.register_buffer("etf", simplex_etf(sub_grades, etf_seed))

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        b = x.shape[0]
        queries = x.view(b, self.grades, self.dim)
        coarse = grade_score(queries, self.logit, self.values)
        out = {"grade_score": coarse, "queries": queries, "etf": self.etf}
        if self.revert:
            out["grade_score_revert"] = grade_score(queries, self.logit_revert, self.values_revert)
            coarse = (coarse + 1 - out["grade_score_revert"]) / 2
        # Every query is a sequence of one: it attends to itself only (their test loop, batch 1).
        single = queries.reshape(1, b * self.grades, self.dim)
        attended = self.attend(single, single, single, need_weights=False)[0].reshape(b, -1)
        fine = self.fine(attended)
        out["sub_grade"] = fine / fine.norm(p=2, dim=1, keepdim=True)
        index = (out["sub_grade"] @ self.etf).argmax(-1)
        score = coarse + index.to(coarse.dtype) / (100 * self.sub_grades)
        return {"score": score, **out}  # the score first: exports name their first output "score"
