"""Regression heads: ``[B, C] -> {"score": [B]}``."""

from __future__ import annotations

from torch import Tensor, nn

from registry import ConfigError

from ..blocks import activation as make_activation
from ..kinds import HEADS
from .base import Head

OUTPUTS = ("sigmoid", "linear")
NORMS = ("none", "batch")


@HEADS.register("mlp")
class MLPHead(Head):
    """MLP regressor; ``output: sigmoid`` maps to ``score_range`` (ACTION-NET: [128], dropout 0.5, sigmoid).

    ``input_dropout`` drops the input vector before the first layer and ``norm: batch`` puts a BatchNorm
    after each hidden layer (PAMFN's heads: ``Dropout-Linear-Sigmoid`` and ``Linear-BN-ReLU-Dropout-Linear-Sigmoid``).
    """

    def __init__(
        self,
        in_dim: int,
        hidden_dims: list[int] | None = None,
        dropout: float = 0.0,
        activation: str = "relu",
        output: str = "sigmoid",
        score_range: tuple[float, float] = (0.0, 1.0),
        input_dropout: float = 0.0,
        norm: str = "none",
    ) -> None:
        super().__init__()
        if output not in OUTPUTS:
            raise ConfigError(f"mlp head: output must be one of {OUTPUTS}, got {output!r}")
        if norm not in NORMS:
            raise ConfigError(f"mlp head: norm must be one of {NORMS}, got {norm!r}")
        # Only layers that exist are added, so the keys of recipes without them stay as they were.
        layers: list[nn.Module] = [nn.Dropout(input_dropout)] if input_dropout else []
        d = in_dim
        for h in hidden_dims or []:
            norms = [nn.BatchNorm1d(h)] if norm == "batch" else []
            layers += [nn.Linear(d, h), *norms, make_activation(activation), nn.Dropout(dropout)]
            d = h
        layers.append(nn.Linear(d, 1))
        if output == "sigmoid":
            layers.append(nn.Sigmoid())
        self.net = nn.Sequential(*layers)
        self.low, self.high = float(score_range[0]), float(score_range[1])
        self.sigmoid = output == "sigmoid"

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        y = self.net(x).squeeze(-1)
        if self.sigmoid and (self.low, self.high) != (0.0, 1.0):
            y = self.low + (self.high - self.low) * y
        return {"score": y}


@HEADS.register("linear")
def linear(
    in_dim: int, output: str = "linear", score_range: tuple[float, float] = (0.0, 1.0), input_dropout: float = 0.0
) -> MLPHead:
    """One linear layer to the score (optionally through a sigmoid to ``score_range``; PAMFN's branches drop
    half the input first: ``input_dropout: 0.5``)."""
    return MLPHead(in_dim, hidden_dims=[], output=output, score_range=score_range, input_dropout=input_dropout)
