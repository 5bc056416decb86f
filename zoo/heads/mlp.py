"""Regression heads: ``[B, C] -> {"score": [B]}``."""

from __future__ import annotations

from torch import Tensor, nn

from registry import ConfigError

from ..blocks import activation as make_activation
from ..kinds import HEADS
from .base import Head

OUTPUTS = ("sigmoid", "linear")


@HEADS.register("mlp")
class MLPHead(Head):
    """MLP regressor; ``output: sigmoid`` maps to ``score_range`` (ACTION-NET: [128], dropout 0.5, sigmoid)."""

    def __init__(
        self,
        in_dim: int,
        hidden_dims: list[int] | None = None,
        dropout: float = 0.0,
        activation: str = "relu",
        output: str = "sigmoid",
        score_range: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        super().__init__()
        if output not in OUTPUTS:
            raise ConfigError(f"mlp head: output must be one of {OUTPUTS}, got {output!r}")
        layers: list[nn.Module] = []
        d = in_dim
        for h in hidden_dims or []:
            layers += [nn.Linear(d, h), make_activation(activation), nn.Dropout(dropout)]
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
def linear(in_dim: int, output: str = "linear", score_range: tuple[float, float] = (0.0, 1.0)) -> MLPHead:
    """One linear layer to the score (optionally through a sigmoid to ``score_range``)."""
    return MLPHead(in_dim, hidden_dims=[], output=output, score_range=score_range)
