"""MCMoE's mixture of modality experts: every modality read by every modality's expert, mixed by a router.

MCMoE (Xu et al., AAAI 2026; XuHuangbiao/MCMoE, models/model.py ``MoE_AQA``): one expert per modality
``Conv1d(D, D/2, 3) - BN - GELU - Conv1d(D/2, D, 1) - BN``; each modality's sequence goes through all
M experts, a router ``Linear(D, D/2) - GELU - Linear(D/2, M)`` (softmax over the experts) mixes them per
instance, and the M mixed sequences are concatenated and fused by ``Conv1d(M D, 2D, 1) - BN - ReLU -
Conv1d(2D, D, 1) - BN``. ``ExpertMixture`` is that on sequences (with masks: a padded batch gives each
video what it gives alone); the registered fusion ``experts`` is the same on one vector per stream.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from registry import ConfigError

from ..blocks import MaskedBatchNorm
from ..embeddings.conv1d import Conv1dEmbedding
from ..kinds import FUSION
from .base import Fusion


class Expert(nn.Module):
    """``Conv1d(D, D/2, 3) - BN - GELU - Conv1d(D/2, D, 1) - BN`` over ``[B, N, D]``, padding unread."""

    def __init__(self, dim: int, kernel_size: int = 3) -> None:
        super().__init__()
        if dim < 2 or kernel_size % 2 == 0:
            raise ConfigError(f"expert: needs a width >= 2 and an odd kernel_size, got {dim} and {kernel_size}")
        self.convs = nn.ModuleList(
            [nn.Conv1d(dim, dim // 2, kernel_size, padding=kernel_size // 2), nn.Conv1d(dim // 2, dim, 1)]
        )
        self.norms = nn.ModuleList([MaskedBatchNorm(dim // 2), MaskedBatchNorm(dim)])
        self.act = nn.GELU()

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        keep = mask.unsqueeze(-1).to(x.dtype)
        x = self.convs[0]((x * keep).transpose(1, 2)).transpose(1, 2)  # zeros beyond a video's end, as alone
        x = self.act(self.norms[0](x, mask))
        x = self.convs[1](x.transpose(1, 2)).transpose(1, 2)
        return self.norms[1](x, mask)


class ExpertMixture(nn.Module):
    """M modalities ``{name: [B, N, D]}`` -> (fused ``[B, N, D]``, each modality's mixture ``{name: [B, N, D]}``).

    The experts are called one modality at a time in MCMoE's order (batch statistics per call, as theirs).
    ``own(name, x, mask)`` is a modality's own expert on its features (MCMoE's KL target).
    """

    def __init__(self, names: list[str], dim: int, kernel_size: int = 3) -> None:
        super().__init__()
        if not names:
            raise ConfigError("expert mixture: needs at least one modality")
        if dim < 2:
            raise ConfigError(f"expert mixture: width must be >= 2, got {dim}")
        self.names, self.dim = list(names), dim
        self.experts = nn.ModuleDict({n: Expert(dim, kernel_size) for n in names})
        self.router = nn.Sequential(nn.Linear(dim, dim // 2), nn.GELU(), nn.Linear(dim // 2, len(names)))
        m = len(names)
        self.fusion = Conv1dEmbedding(
            m * dim, dim, hidden_dims=[2 * dim], kernel_size=1, norm="batch", activation="relu", final_activation=False
        )

    def own(self, name: str, x: Tensor, mask: Tensor) -> Tensor:
        return self.experts[name](x, mask)

    def forward(self, feats: dict[str, Tensor], mask: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        missing = [n for n in self.names if n not in feats]
        if missing:
            raise ConfigError(f"expert mixture: no features for modalities {missing}; it mixes {self.names}")
        mixed: dict[str, Tensor] = {}
        for name in self.names:
            x = feats[name]
            outs = torch.stack([self.experts[e](x, mask) for e in self.names], -2)  # [B, N, M, D]
            route = torch.softmax(self.router(x), -1)  # [B, N, M]
            mixed[name] = (outs * route.unsqueeze(-1)).sum(-2)
        fused = self.fusion(torch.cat([mixed[n] for n in self.names], -1), mask)
        return fused, mixed


@FUSION.register("experts")
class ExpertFusion(Fusion):
    """MCMoE's mixture of modality experts on one vector per stream (a sequence of one instance each).

    Streams whose width is not ``dim`` (default: the widest) are projected to it first. The vector of
    each stream goes through every stream's expert (the width-3 convolution sees only its centre on
    one instance), a router mixes them, and the mixtures are fused to ``dim``.
    """

    def __init__(self, in_dims: dict[str, int], dim: int | None = None, kernel_size: int = 3) -> None:
        super().__init__()
        self.names = list(in_dims)
        self.out_dim = dim or max(in_dims.values())
        self.proj = nn.ModuleDict(
            {n: nn.Identity() if d == self.out_dim else nn.Linear(d, self.out_dim) for n, d in in_dims.items()}
        )
        self.mixture = ExpertMixture(self.names, self.out_dim, kernel_size)

    def forward(self, features: dict[str, Tensor]) -> Tensor:
        seqs = {n: self.proj[n](features[n]).unsqueeze(1) for n in self.names}
        first = seqs[self.names[0]]
        mask = torch.ones(first.shape[:2], dtype=torch.bool, device=first.device)
        return self.mixture(seqs, mask)[0].squeeze(1)
