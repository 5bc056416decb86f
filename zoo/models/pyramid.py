"""A temporal pyramid stream: PAMFN's modality-specific branch, one vector per video and a feature per level.

PAMFN (Zeng & Zheng, TIP 2024) scores each modality (RGB, optical flow, audio) with a branch of its own
before fusing them: an embedding ``Conv1d(C, 512, 1)-BN-ReLU-Conv1d(512, D, 1)-BN-ReLU-Dropout``, then
stages of residual temporal convolutions ``x + (Conv1d(k3)-BN-GELU)^2 (x)``, halving the instances
between stages (``AvgPool1d(2, 2)``) and averaging the last over time. The fusion model reads every
level (``levels``): the embedding ``[T]``, the pooled stages ``[T/2]``, ``[T/4]``, ..., the last ``[1]``.

Masks make it exact for padded batches: the convolutions see zeros beyond a video's end, as alone;
halving keeps ``max(L // 2, 1)`` instances of a video of ``L`` (``AvgPool1d``'s ``L // 2``; a video of
one instance keeps it rather than vanishing); batch statistics count valid instances only.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from registry import ConfigError

from ..blocks import FeatureNorm
from ..kinds import EMBEDDINGS, STREAMS
from .base import InstanceStream

Level = tuple[Tensor, Tensor]  # features [B, N, D] and their mask [B, N]


def halve(x: Tensor, mask: Tensor) -> Level:
    """``AvgPool1d(2, 2)`` over the instances of each video: position ``i`` is the mean of ``2i`` and ``2i + 1``.

    A video of ``L`` valid instances keeps ``max(L // 2, 1)`` (the last one of an odd length is dropped,
    as ``AvgPool1d`` drops it; a single instance stays itself). ``x [B, N, D]``, ``mask [B, N]``; the
    result is ``ceil(N / 2)`` long, its mask marking each video's valid positions (one length formula
    for every ``N``, so an exported program keeps the number of instances free).
    """
    keep = mask.unsqueeze(-1).to(x.dtype)
    pad = (0, 0, 0, 1)  # one zero instance, then floor pooling: ceil(N / 2) positions without a branch on N
    sums = F.avg_pool1d(F.pad(x * keep, pad).transpose(1, 2), 2, 2)  # [B, D, ceil(N/2)]
    counts = F.avg_pool1d(F.pad(keep, pad).transpose(1, 2), 2, 2)  # the same divisor: the ratio is a mean
    y = (sums / counts.clamp(min=1e-12)).transpose(1, 2)
    lengths = (mask.sum(1) // 2).clamp(min=1)
    out_mask = torch.arange(y.shape[1], device=x.device).unsqueeze(0) < lengths.unsqueeze(1)
    return y * out_mask.unsqueeze(-1).to(y.dtype), out_mask


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """The mean over each video's valid instances, ``[B, N, D] -> [B, 1, D]`` (``AdaptiveAvgPool1d(1)``)."""
    keep = mask.unsqueeze(-1).to(x.dtype)
    return (x * keep).sum(1, keepdim=True) / keep.sum(1, keepdim=True).clamp(min=1)


@STREAMS.register("pyramid")
class PyramidStream(InstanceStream):
    """PAMFN's modality branch: embed, residual temporal-convolution stages halving the instances, mean.

    PAMFN: ``width: 256, stages: 3``, the embedding ``{type: conv1d, hidden_dims: [512], norm: batch,
    final_activation: true}`` followed by dropout 0.3 (``embed_dropout``), GELU in the stages. ``forward``
    gives the last stage averaged over time ``[B, width]`` (no instance weights); ``levels`` gives the
    embedding and every stage (a fusion model's input).
    """

    def __init__(
        self,
        in_dim: int | None = None,
        width: int = 256,
        stages: int = 3,
        embed: dict[str, Any] | None = None,
        embed_dropout: float = 0.3,
        kernel_size: int = 3,
        activation: str = "gelu",
        input: str | None = None,
        input_norm: bool = False,
    ) -> None:
        super().__init__()
        if in_dim is None:
            raise ConfigError("pyramid stream: in_dim is unknown; give the model 'inputs: {name: width}'")
        if stages < 1:
            raise ConfigError(f"pyramid stream: stages must be >= 1, got {stages}")
        self.input, self.in_dim = input, in_dim
        self.input_norm = FeatureNorm(in_dim) if input_norm else None
        cfg = embed or {"type": "conv1d", "hidden_dims": [512], "norm": "batch", "final_activation": True}
        self.embed = EMBEDDINGS.build({**cfg, "out_dim": width}, in_dim=in_dim)
        self.embed_dropout = nn.Dropout(embed_dropout)
        block = {
            "type": "conv1d",
            "hidden_dims": [width],
            "kernel_size": kernel_size,
            "norm": "batch",
            "activation": activation,
            "final_activation": True,
        }
        self.stages = nn.ModuleList(EMBEDDINGS.build({**block, "out_dim": width}, in_dim=width) for _ in range(stages))
        self.out_dim = self.width = width
        # Every level before the last keeps 2 instances or more when traced for export: ceil(N / 2^k) >= 2.
        self.min_instances = 2 ** (stages - 1) + 1

    def levels(self, x: Tensor, mask: Tensor | None = None) -> list[Level]:
        """The embedding and every stage: ``[(x0 [B, T, D], m0), (x1 [B, T/2, D], m1), ..., (x_S [B, 1, D], m_S)]``."""
        if x.dim() != 3 or x.shape[-1] != self.in_dim:
            raise ConfigError(f"stream {self.input!r} expects features [B, N, {self.in_dim}], got {list(x.shape)}")
        if mask is None:
            mask = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
        keep = mask.unsqueeze(-1).to(x.dtype)
        if self.input_norm is not None:
            x = self.input_norm(x) * keep
        z = self.embed_dropout(self.embed(x, mask)) * keep
        out = [(z, mask)]
        for i, stage in enumerate(self.stages):
            z = (z + stage(z, mask)) * keep
            if i < len(self.stages) - 1:
                z, mask = halve(z, mask)
                keep = mask.unsqueeze(-1).to(z.dtype)
            else:
                z, mask = masked_mean(z, mask), mask[:, :1]
            out.append((z, mask))
        return out

    def forward(self, x: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        return self.levels(x, mask)[-1][0].squeeze(1), None
