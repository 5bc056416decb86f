"""Small building blocks shared by several kinds of component (masked softmax, batch norm, standardisation)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor, nn

from registry import ConfigError

from .errors import DataError

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "elu": nn.ELU, "tanh": nn.Tanh, "silu": nn.SiLU, "none": nn.Identity}


def activation(name: str) -> nn.Module:
    """An activation module by name (relu, gelu, elu, tanh, silu, none)."""
    if name not in ACTIVATIONS:
        raise ConfigError(f"unknown activation {name!r}; choose from {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def masked_softmax(logits: Tensor, mask: Tensor, dim: int = -1) -> Tensor:
    """Softmax over the valid entries only; padded entries get exactly zero weight."""
    logits = logits.masked_fill(~mask, float("-inf"))
    return torch.softmax(logits, dim=dim).nan_to_num(0.0)


def layer_widths(
    in_dim: int, out_dim: int, hidden_dims: list[int] | None, hidden_ratio: float | None, who: str
) -> list[int]:
    """``[in_dim, *hidden, out_dim]``: hidden widths given, or one hidden layer of ``in_dim * hidden_ratio``."""
    if hidden_dims is not None and hidden_ratio is not None:
        raise ConfigError(f"{who}: give hidden_dims or hidden_ratio, not both")
    hidden = list(hidden_dims or ([max(1, round(in_dim * hidden_ratio))] if hidden_ratio else []))
    return [in_dim, *hidden, out_dim]


class MaskedBatchNorm(nn.BatchNorm1d):
    """BatchNorm over the channels of ``[B, N, C]`` whose training statistics count valid instances only.

    With a mask, padded instances neither enter the batch statistics nor get a value (they stay zero);
    in eval mode it is the usual per-channel affine map with the running statistics.
    """

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:  # type: ignore[override]
        if self.training:
            rows = int(mask.sum()) if mask is not None else x[..., 0].numel()
            if rows < 2:  # torch's own error names no component and no remedy
                raise DataError(
                    f"a batch norm over instances ({self.num_features} channels) got {rows} value(s) per channel in "
                    "a training batch (one video with a single instance?): batch statistics of one value are "
                    "undefined. Train with a larger train.batch_size, on longer videos, or with norm: none"
                )
        if self.training and mask is not None:
            out = x.new_zeros(x.shape)
            out[mask] = super().forward(x[mask])  # only the valid rows [M, C] are normalised
            return out
        y = super().forward(x.reshape(-1, x.shape[-1])).reshape(x.shape)
        return y if mask is None else y * mask.unsqueeze(-1).to(y.dtype)


class FeatureNorm(nn.Module):
    """Per-channel standardisation ``(x - mean) / std`` with statistics fitted once on training features.

    Features of randomly initialised or foreign backbones can sit far from zero with tiny spread;
    the statistics live in buffers, so checkpoints, predictions and exports apply the same ones.
    """

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))
        self.eps = eps

    @torch.no_grad()
    def fit(self, arrays: Iterable[Any]) -> None:
        """Set the statistics from ``[n_i, dim]`` arrays (numpy or torch), accumulated in float64."""
        total, sq, n = 0.0, 0.0, 0
        for a in arrays:
            t = torch.as_tensor(a, dtype=torch.float64)
            total = total + t.sum(0)
            sq = sq + (t * t).sum(0)
            n += t.shape[0]
        if n == 0:
            raise RuntimeError(
                "FeatureNorm.fit: no instances to fit the statistics on (the data layer lets no empty split through)"
            )
        mean = total / n
        std = (sq / n - mean * mean).clamp(min=0).sqrt()
        # A channel constant in training (a dead ReLU) must not turn a small change at test time into a
        # huge value: floor every spread at a hundredth of the typical one.
        floor = max(float(std.median()) * 1e-2, self.eps)
        self.mean.copy_(mean.to(self.mean.dtype))
        self.std.copy_(std.clamp(min=floor).to(self.std.dtype))

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std
