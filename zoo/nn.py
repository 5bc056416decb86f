"""Small building blocks shared by several kinds of component."""

from __future__ import annotations

import torch
from torch import Tensor, nn

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "elu": nn.ELU, "tanh": nn.Tanh, "silu": nn.SiLU, "none": nn.Identity}


def activation(name: str) -> nn.Module:
    """An activation module by name (relu, gelu, elu, tanh, silu, none)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose from {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def masked_softmax(logits: Tensor, mask: Tensor, dim: int = -1) -> Tensor:
    """Softmax over the valid entries only; padded entries get exactly zero weight."""
    logits = logits.masked_fill(~mask, float("-inf"))
    return torch.softmax(logits, dim=dim).nan_to_num(0.0)


def full_mask(x: Tensor) -> Tensor:
    """An all-valid mask ``[B, N]`` for ``x [B, N, ...]``."""
    return torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
