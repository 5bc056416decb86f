"""MCMoE's completion of missing modalities: each one generated from the modalities a video has.

MCMoE (XuHuangbiao/MCMoE, models/model.py ``ExtremeModalityGenerator``): a missing modality starts as
zeros ``[B, N, D]`` and is refined by two ``nn.MultiheadAttention(D, 4)`` layers reading the
concatenated instances of the present modalities (keys and values), then scaled by a gate
``sigmoid(Linear(2D, D)([mean over time of it ; mean of the context]))``. Zero queries make every
instance of the generated sequence the same vector, so one query row is computed and repeated.

``ModalityCompletion`` holds a generator per modality and completes a batch in which each video may
lack different modalities (``present [B, M]``); the context of a video is its own present modalities
only (their code: the modalities present before any is generated), and padded instances are no keys.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from registry import ConfigError


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """``[B, L, D]`` averaged over each row's valid instances -> ``[B, D]``."""
    keep = mask.unsqueeze(-1).to(x.dtype)
    return (x * keep).sum(1) / keep.sum(1).clamp(min=1)


class ModalityGenerator(nn.Module):
    """Zero queries -> ``layers`` cross-attentions over the context -> gated: one missing modality ``[B, N, D]``."""

    def __init__(self, dim: int, heads: int = 4, layers: int = 2) -> None:
        super().__init__()
        if dim % heads:
            raise ConfigError(f"modality generator: width {dim} must be divisible by heads={heads}")
        self.cross_attn = nn.ModuleList(nn.MultiheadAttention(dim, heads, batch_first=True) for _ in range(layers))
        self.gate = nn.Sequential(nn.Linear(2 * dim, dim), nn.Sigmoid())

    def forward(self, context: Tensor, context_mask: Tensor, mask: Tensor) -> Tensor:
        """``context [B, L, D]``, ``context_mask [B, L]`` (each row with a valid key), ``mask [B, N]``."""
        q = context.new_zeros(context.shape[0], 1, context.shape[-1])
        for attn in self.cross_attn:
            q = attn(q, context, context, key_padding_mask=~context_mask, need_weights=False)[0]
        q = q.squeeze(1)
        gate = self.gate(torch.cat([q, masked_mean(context, context_mask)], -1))
        out = (gate * q).unsqueeze(1).expand(-1, mask.shape[1], -1)
        return out * mask.unsqueeze(-1).to(out.dtype)


class ModalityCompletion(nn.Module):
    """``{name: [B, N, D]}`` and ``present [B, M]`` -> every modality, the missing ones generated.

    Returns ``(completed, generated)``: ``completed[name]`` is the video's own features where present,
    the generated ones elsewhere; ``generated`` holds the generator's output for each modality that was
    generated for at least one video (the reconstruction loss compares it with the real features).
    """

    def __init__(self, names: list[str], dim: int, heads: int = 4, layers: int = 2) -> None:
        super().__init__()
        self.names = list(names)
        self.generators = nn.ModuleDict({n: ModalityGenerator(dim, heads, layers) for n in names})

    def forward(
        self, feats: dict[str, Tensor], present: Tensor, mask: Tensor, generate: list[str] | None = None
    ) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """``generate`` names the modalities to generate (default: all); the others are taken as they are."""
        completed, generated = dict(feats), {}
        for i, name in enumerate(self.names):
            if generate is not None and name not in generate:
                continue
            others = [j for j in range(len(self.names)) if j != i]
            if not others:
                raise ConfigError(f"modality completion: {name!r} is missing and there is no other modality")
            context = torch.cat([feats[self.names[j]] for j in others], 1)
            valid = torch.cat([mask & present[:, j : j + 1] for j in others], 1)
            # A video that has this modality may have no other: it is not generated for, any key will do.
            valid = valid | ~valid.any(1, keepdim=True)
            gen = self.generators[name](context, valid, mask)
            generated[name] = gen
            completed[name] = torch.where(present[:, i].view(-1, 1, 1), feats[name], gen)
        return completed, generated
