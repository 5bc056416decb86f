"""Per-instance MLPs that map backbone features to the stream's width."""

from __future__ import annotations

import itertools

from torch import Tensor, nn

from ..blocks import activation as make_activation
from ..blocks import layer_widths
from ..kinds import EMBEDDINGS
from .base import Embedding


@EMBEDDINGS.register("mlp")
class MLPEmbedding(Embedding):
    """Linear-act layers per instance: in_dim -> hidden (in_dim * hidden_ratio, or hidden_dims) -> out_dim.

    ACTION-NET: ``Linear(C, C/2) - ReLU - Linear(C/2, 256) - ReLU`` is ``hidden_ratio: 0.5, out_dim: 256``.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int = 256,
        hidden_dims: list[int] | None = None,
        hidden_ratio: float | None = None,
        activation: str = "relu",
        final_activation: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        dims = layer_widths(in_dim, out_dim, hidden_dims, hidden_ratio, "mlp embedding")
        layers: list[nn.Module] = []
        for i, (d_in, d_out) in enumerate(itertools.pairwise(dims)):
            layers.append(nn.Linear(d_in, d_out))
            if i < len(dims) - 2 or final_activation:
                layers.append(make_activation(activation))
                if dropout:
                    layers.append(nn.Dropout(dropout))
        self.net = nn.Sequential(*layers)
        self.out_dim = out_dim

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:  # per instance: the mask is not needed
        return self.net(x)


@EMBEDDINGS.register("identity")
class Identity(Embedding):
    """No embedding: the backbone features as they are."""

    def __init__(self, in_dim: int) -> None:
        super().__init__()
        self.out_dim = in_dim

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        return x
