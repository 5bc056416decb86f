"""Auxiliary losses on what a model computes besides the score; combine them with a score loss in ``sum``.

``loss: {type: sum, terms: [{type: mse}, {type: diversity, stream: attentive, weight: 0.0016}]}``
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from registry import ConfigError

from ..kinds import LOSSES
from .base import Loss


@LOSSES.register("diversity")
class AttentionDiversity(Loss):
    """MS-LSTM / Lin et al.: ||A A^T - I||_F^2 of a stream's multi-row attention A [B, H, N], mean over the batch.

    ``stream`` names the stream; by default every stream whose weights have several rows. Padded
    instances carry zero weight, so they add nothing.
    """

    requires = ("weights",)

    def __init__(self, stream: str | None = None) -> None:
        super().__init__()
        self.stream = stream

    def forward(self, outputs: dict[str, Any], target: Tensor) -> Tensor:
        weights = outputs.get("weights") or {}
        if self.stream is not None:
            if self.stream not in weights:
                raise ConfigError(f"loss 'diversity': no stream {self.stream!r}; the streams are {sorted(weights)}")
            chosen = {self.stream: weights[self.stream]}
        else:
            chosen = {k: w for k, w in weights.items() if w is not None and w.dim() == 3}
        if not chosen:
            shapes = {k: None if w is None else list(w.shape) for k, w in weights.items()}
            raise ConfigError(
                "loss 'diversity' needs a stream whose attention has several rows [B, H, N] "
                f"(e.g. attention: {{type: self_attentive}}); the streams' weights are {shapes}"
            )
        total = target.new_zeros(())
        for name, a in chosen.items():
            if a is None or a.dim() != 3:
                shape = None if a is None else list(a.shape)
                raise ConfigError(f"loss 'diversity': stream {name!r} has weights {shape}, expected [B, H, N]")
            eye = torch.eye(a.shape[1], device=a.device, dtype=a.dtype)
            total = total + ((a @ a.transpose(1, 2) - eye) ** 2).sum((1, 2)).mean()
        return total


@LOSSES.register("triplet")
class GradeTriplet(Loss):
    """GDLT: hardest-triplet loss on the decoded grade queries, labelled by grade, cosine distance.

    The B*K query embeddings ``outputs[key] [B, K, D]`` are labelled by their grade k. For each one,
    the farthest embedding of the same grade (another video) and the nearest of another grade (any
    video) give ``relu(d_pos - d_neg + margin)``, with ``d = 1 - cos``; the loss is the mean. Zero once
    every grade is closer to itself than to any other grade by ``margin``. GDLT uses margin 1.0.
    ``labels: each`` gives every query of every video a label of its own (CoFInAl's ``loss_align 2``):
    no positives then, only the nearest other query pushed beyond ``margin``.
    """

    def __init__(self, margin: float = 1.0, key: str = "queries", labels: str = "grade") -> None:
        super().__init__()
        if labels not in ("grade", "each"):
            raise ConfigError(f"loss 'triplet': labels must be 'grade' or 'each', got {labels!r}")
        self.margin, self.key, self.labels = margin, key, labels
        self.requires = (key,)

    def forward(self, outputs: dict[str, Any], target: Tensor) -> Tensor:
        if self.key not in outputs:
            raise ConfigError(
                f"loss 'triplet' needs the model output {self.key!r} [B, K, D] (head: {{type: grade}} gives "
                f"'queries'); the outputs are {sorted(outputs)}"
            )
        q = outputs[self.key]
        b, k, d = q.shape
        z = F.normalize(q.reshape(b * k, d), dim=-1)
        dist = 1 - z @ z.T
        each = torch.arange(b * k, device=q.device)
        label = torch.arange(k, device=q.device).repeat(b) if self.labels == "grade" else each
        same = label.unsqueeze(0) == label.unsqueeze(1)
        other = torch.eye(b * k, dtype=torch.bool, device=q.device).logical_not()
        d_pos = dist.masked_fill(~(same & other), 0.0).amax(1)  # no other video: 0, as in GDLT
        d_neg = dist.masked_fill(same, float("inf")).amin(1)
        return F.relu(d_pos - d_neg + self.margin).mean()
