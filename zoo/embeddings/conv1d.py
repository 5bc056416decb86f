"""1-D convolutions over the instance axis (GDLT's input projection, MS-LSTM's input convolution)."""

from __future__ import annotations

import itertools

from torch import Tensor, nn

from registry import ConfigError

from ..blocks import MaskedBatchNorm, layer_widths
from ..blocks import activation as make_activation
from ..kinds import EMBEDDINGS
from .base import Embedding

NORMS = ("none", "batch")


@EMBEDDINGS.register("conv1d")
class Conv1dEmbedding(Embedding):
    """Conv1d-[norm]-act layers over time: in_dim -> hidden (in_dim * hidden_ratio, or hidden_dims) -> out_dim.

    GDLT: ``Conv1d(C, C/2, 1) - BN - ReLU - Conv1d(C/2, 256, 1) - BN`` is ``hidden_ratio: 0.5, out_dim: 256,
    kernel_size: 1, norm: batch, final_activation: false``. ``kernel_size`` (odd) pads ``k // 2`` zeros at
    both ends ("same"), so a valid instance next to the padding sees zeros, exactly as the video would
    alone. Padded instances are zeroed before every convolution when ``mask`` is given; without it the
    input's own (zero) padding is trusted, which is exact for one layer or ``kernel_size: 1``.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int = 256,
        hidden_dims: list[int] | None = None,
        hidden_ratio: float | None = None,
        kernel_size: int = 1,
        norm: str = "none",
        activation: str = "relu",
        final_activation: bool = True,
        dropout: float = 0.0,
        final_norm: bool = True,
    ) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ConfigError(
                f"conv1d embedding: kernel_size must be odd (symmetric 'same' padding), got {kernel_size}"
            )
        if norm not in NORMS:
            raise ConfigError(f"conv1d embedding: norm must be one of {NORMS}, got {norm!r}")
        dims = layer_widths(in_dim, out_dim, hidden_dims, hidden_ratio, "conv1d embedding")
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()  # empty without norm
        self.acts = nn.ModuleList()
        for i, (d_in, d_out) in enumerate(itertools.pairwise(dims)):
            self.convs.append(nn.Conv1d(d_in, d_out, kernel_size, padding=kernel_size // 2))
            last = i == len(dims) - 2
            if norm == "batch" and (final_norm or not last):
                self.norms.append(MaskedBatchNorm(d_out))
            act = make_activation(activation) if (not last or final_activation) else nn.Identity()
            self.acts.append(nn.Sequential(act, nn.Dropout(dropout)) if dropout else act)
        self.out_dim = out_dim

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """``x [B, N, C]`` (and optionally ``mask [B, N]``) -> ``[B, N, out_dim]``."""
        keep = None if mask is None else mask.unsqueeze(-1).to(x.dtype)
        for i, (conv, act) in enumerate(zip(self.convs, self.acts)):
            if keep is not None:
                x = x * keep
            x = conv(x.transpose(1, 2)).transpose(1, 2)
            if i < len(self.norms):
                x = self.norms[i](x, mask)
            else:  # a transposed view would make export guard on its strides (PAMFN's unnormalised last layer)
                x = x.contiguous()
            x = act(x)
        return x if keep is None else x * keep
