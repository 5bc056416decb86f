"""PAMFN's progressive adaptive fusion blocks (Zeng & Zheng, TIP 2024): modalities fused level by level.

A fusion block takes the running fused feature ``c`` and, from every modality's branch, the level of the
same length (``s``) and the level twice as long (``f``). It refines ``c`` with convolutions, fuses the
modalities of ``s`` by attention queried from ``c`` (``ModalityFusion``), mixes the modalities of ``f``
into K candidate fusions (``CrossModalFusion``: softmax weights over modalities, one feed-forward per
candidate) of which a learned policy (hard Gumbel-softmax) decides how many a query may attend to, and
returns ``[c ; s ; f]``. Everything is ``[B, N, D]`` with masks, so a padded batch scores each video as
it would alone (their code runs one unpadded video at test).

Two faithful oddities of their attention: the scores are negated (``softmax(-QK^T / sqrt(d))``) and there
is no output projection. Their policy draws Gumbel noise in evaluation too, so their test scores vary
between runs; here evaluation takes the policy's most likely choice unless ``eval_noise`` is set.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ..kinds import EMBEDDINGS
from .pyramid import halve, masked_mean

Level = tuple[Tensor, Tensor]  # features [B, N, D] and their mask [B, N]


def conv_block(in_dim: int, out_dim: int, hidden: int | None, kernel_size: int, final_activation: bool) -> nn.Module:
    """``Conv1d-BN-ReLU`` layers over the instances (the registered ``conv1d`` embedding, masks honoured);
    without ``final_activation`` the last convolution stands alone (``Conv-BN-ReLU-Conv``)."""
    cfg = {
        "type": "conv1d",
        "out_dim": out_dim,
        "hidden_dims": [hidden] if hidden else [],
        "kernel_size": kernel_size,
        "norm": "batch",
        "activation": "relu",
        "final_activation": final_activation,
        "final_norm": final_activation,
    }
    return EMBEDDINGS.build(cfg, in_dim=in_dim)


def pool(x: Tensor, mask: Tensor, to_one: bool) -> Level:
    """Halve the instances (``AvgPool1d(2, 2)``) or average them to one (``AdaptiveAvgPool1d(1)``)."""
    return (masked_mean(x, mask), mask[:, :1]) if to_one else halve(x, mask)


class ModalityAttention(nn.Module):
    """One query per position attends over a few keys (modalities or candidates): their ``Multi_Head_Attention``."""

    def __init__(self, dim: int, heads: int = 1, dropout: float = 0.1) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"attention: width {dim} is not divisible by {heads} heads")
        self.heads, self.head_dim = heads, dim // heads
        self.q, self.k, self.v = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, query: Tensor, keys: Tensor, bias: Tensor | None = None) -> Tensor:
        """``query [M, 1, D]``, ``keys [M, n, D]``, ``bias [M, 1, n]`` (added to the scores) -> ``[M, 1, D]``."""
        m = query.shape[0]
        # Explicit lengths, never -1: an inferred size makes export guard on divisibility.
        q, k, v = (
            lin(x).view(m, x.shape[1], self.heads, self.head_dim).transpose(1, 2)
            for lin, x in ((self.q, query), (self.k, keys), (self.v, keys))
        )
        scores = -(q @ k.transpose(-2, -1)) / math.sqrt(self.head_dim)  # negated, as their code has it
        if bias is not None:
            scores = scores + bias.unsqueeze(1)
        attn = self.dropout(torch.softmax(scores, dim=-1))
        return (attn @ v).transpose(1, 2).reshape(m, query.shape[1], self.heads * self.head_dim)


class ModalityFusion(nn.Module):
    """``s``'s modalities fused at every position by attention queried from ``c`` (their ``MS_Fusion``)."""

    def __init__(self, dim: int, heads: int = 1, dropout: float = 0.1) -> None:
        super().__init__()
        self.attention = ModalityAttention(dim, heads, dropout)
        self.proj = nn.Linear(dim, dim)

    def forward(self, s: Sequence[Tensor], c: Tensor) -> Tensor:
        b, n, d = c.shape
        query = self.proj(c).reshape(b * n, 1, d)
        keys = torch.stack(list(s), dim=2).reshape(b * n, len(s), d)
        return self.attention(query, keys).reshape(b, n, d)


class CrossModalFusion(nn.Module):
    """K candidate fusions of ``f``'s modalities, attended from ``[c ; s]`` as far as a learned policy allows.

    Candidate k mixes the modalities with softmax weights (over modalities, per position) from one
    ``Conv-BN-ReLU-Conv`` per modality, then runs its own feed-forward (residual) and is pooled to ``c``'s
    length. The policy (``Conv(3D -> K)`` pooled alike) picks, per position, how many candidates the query
    may see (hard Gumbel-softmax; candidates beyond the pick get -1e9, gradients straight through).
    """

    def __init__(
        self, dim: int, candidates: int, modalities: int = 3, heads: int = 1, to_one: bool = False, dropout: float = 0.1
    ) -> None:
        super().__init__()
        self.candidates, self.to_one = candidates, to_one
        self.proj1 = nn.ModuleList(conv_block(dim, candidates, dim, 1, False) for _ in range(modalities))
        self.ffn = nn.ModuleList(conv_block(dim, dim, dim, 3, True) for _ in range(candidates))
        self.attention = ModalityAttention(dim, heads, dropout)
        self.proj2 = nn.Linear(2 * dim, dim)
        self.policy = nn.Linear(modalities * dim, candidates)
        self.eval_noise = False  # set by the model: their evaluation draws Gumbel noise too

    def choose(self, f: Sequence[Tensor], mask: Tensor, tau: Tensor) -> tuple[Tensor, Tensor]:
        """The policy's one-hot pick per pooled position ``[B, n, K]`` and the score bias it makes ``[B, n, K]``."""
        logits, pooled = pool(self.policy(torch.cat(list(f), dim=-1)), mask, self.to_one)
        logits = logits.transpose(1, 2).contiguous()  # [B, K, n]: their layout, so seeded noise is theirs
        if self.training or self.eval_noise:
            # Noise over the positions some video holds only: a video alone draws what their code draws.
            held = int(pooled.sum(1).max())
            pick = F.gumbel_softmax(logits[..., :held], tau, hard=True, dim=1)
            pick = F.pad(pick, (0, logits.shape[-1] - held))
        else:  # the noise-free choice: the most likely number of candidates
            pick = F.one_hot(logits.argmax(1), self.candidates).transpose(1, 2).to(logits.dtype)
        index = torch.arange(self.candidates, device=logits.device, dtype=logits.dtype).view(1, -1, 1)
        chosen = (pick * index).sum(1, keepdim=True)
        bias = torch.zeros_like(pick).masked_fill(index > chosen, -1e9)
        bias = bias + pick - pick.detach()  # the straight-through gradient of the hard pick
        return pick.transpose(1, 2), bias.transpose(1, 2)

    def forward(self, f: Sequence[Tensor], f_mask: Tensor, c: Tensor, s: Tensor, tau: Tensor) -> tuple[Tensor, Tensor]:
        keep = f_mask.unsqueeze(-1).to(c.dtype)
        weights = torch.softmax(torch.stack([p(x, f_mask) for p, x in zip(self.proj1, f)], dim=2), dim=2)
        stacked = torch.stack(list(f), dim=2)  # [B, T, M, D]
        candidates = []
        for k, ffn in enumerate(self.ffn):
            mixed = (weights[..., k : k + 1] * stacked).sum(2) * keep
            candidates.append(pool(ffn(mixed, f_mask) + mixed, f_mask, self.to_one)[0])
        b, n, d = c.shape
        keys = torch.stack(candidates, dim=2).reshape(b * n, self.candidates, d)
        query = -self.proj2(torch.cat([c, s], dim=-1)).reshape(b * n, 1, d)
        pick, bias = self.choose(f, f_mask, tau)
        out = self.attention(query, keys, bias.reshape(b * n, 1, self.candidates))
        return out.reshape(b, n, d), pick


FUSED_PARTS = 3  # a fusion block's output: the refined c, the fused s and the fused f


class FusionBlock(nn.Module):
    """``c`` refined (two 3-wide convolutions plus a 1-wide shortcut), then ``[c ; fused s ; fused f]``."""

    def __init__(
        self, dim: int, candidates: int, modalities: int = 3, ms_heads: int = 1, cm_heads: int = 1, to_one: bool = False
    ) -> None:
        super().__init__()
        # ``c`` is [x ; fused s ; fused f], three parts of ``dim`` whatever the number of modalities (their code
        # writes 3 * dim, which with their three modalities reads either way).
        self.conv = conv_block(FUSED_PARTS * dim, dim, dim, 3, True)
        self.short_cut = conv_block(FUSED_PARTS * dim, dim, None, 1, True)
        self.s_fusion = ModalityFusion(dim, ms_heads)
        self.f_fusion = CrossModalFusion(dim, candidates, modalities, cm_heads, to_one)

    def forward(self, c: Level, f: Sequence[Level], s: Sequence[Level], tau: Tensor) -> tuple[Tensor, Tensor]:
        """``c``: the fused feature and its mask; ``f``, ``s``: per modality, the levels ``c``'s length x2 and x1."""
        x, mask = c
        keep = mask.unsqueeze(-1).to(x.dtype)
        x = (self.conv(x, mask) + self.short_cut(x, mask)) * keep
        fused_s = self.s_fusion([level for level, _ in s], x) * keep
        fused_f, pick = self.f_fusion([level for level, _ in f], f[0][1], x, fused_s, tau)
        return torch.cat([x, fused_s, fused_f * keep], dim=-1), pick
