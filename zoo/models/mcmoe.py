"""MCMoE: multimodal scoring that completes missing modalities and mixes modality experts.

MCMoE (Xu et al., "Completing Missing Modalities with Mixture of Experts for Incomplete Multimodal AQA",
AAAI 2026; XuHuangbiao/MCMoE, models/model.py ``MoE_AQA``), on GDLT's skeleton: per modality an input
projection (GDLT's ``conv1d`` embedding, ``C -> C/2 -> D``), one transformer encoder shared by all
modalities, completion of the missing ones (``fusion/completion.py``), the mixture of modality experts
and its fusion to one sequence (``fusion/experts.py``), GDLT's grade decoder over that sequence and
GDLT's grade head. In training, modalities are dropped as theirs drops them (``drop``), and the outputs
carry what the ``modality_reconstruction`` loss compares (``completion``).

Inputs are the modalities, aligned in time (one mask for all). A modality is missing for the whole
batch when its key is absent, or per video with ``{name}_present: [B] bool``; at least one must remain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

from registry import ConfigError

from ..errors import DataError
from ..fusion.completion import ModalityCompletion
from ..fusion.experts import ExpertMixture
from ..kinds import ATTENTION, EMBEDDINGS, GRAPH_LAYERS, HEADS, MODELS
from .base import Model
from .init import init_weights

DROPS = ("batch", "video", "none")
AUTHORS_INPUTS = {"rgb": 1024, "audio": 768, "flow": 1024}  # their v, a, f on RG: Video-Swin, AST, I3D
STREAM = "mixture"  # the one sequence the decoder reads: its weights and features are reported under this name


def combinations(m: int) -> Tensor:
    """The modality sets training keeps, ``[S, M]`` bool: every non-empty proper subset, singles first.

    For three modalities (v, a, f) this is their ``generate_modality_mask`` list, in its order.
    """
    rows = [[bool(k >> (m - 1 - j) & 1) for j in range(m)] for k in range(1, 2**m - 1)]
    rows.sort(key=lambda r: (sum(r), [not b for b in r]))
    return torch.tensor(rows, dtype=torch.bool).view(-1, m)


@MODELS.register("mcmoe")
class MCMoE(Model):
    """Modalities -> embed -> shared encoder -> completion -> expert mixture -> grade decoder -> grade head.

    ``inputs``: ``{modality: width}`` (default theirs on RG; the order is the experts' and the router's); ``width`` D;
    ``embed`` (per modality), ``encoder`` (graph layers, shared), ``decoder`` (attention) and ``head``
    default to MCMoE's RG settings. ``generator_heads``: the completion's attention heads (theirs: 4).
    ``drop``: in training keep a random non-empty proper subset of the modalities, one for the batch
    (``batch``, theirs), one per video (``video``) or none (``none``). ``init`` re-initialises the encoder
    and the decoder (their ``nn.Transformer`` Xavier reset; the other parts keep PyTorch's).
    """

    def __init__(
        self,
        inputs: dict[str, int] | None = None,
        width: int = 256,
        embed: dict[str, Any] | None = None,
        encoder: dict[str, Any] | None = None,
        decoder: dict[str, Any] | None = None,
        head: dict[str, Any] | None = None,
        generator_heads: int = 4,
        expert_kernel: int = 3,
        drop: str = "batch",
        init: str | None = None,
    ) -> None:
        super().__init__()
        inputs = inputs or dict(AUTHORS_INPUTS)
        if drop not in DROPS:
            raise ConfigError(f"mcmoe: drop must be one of {DROPS}, got {drop!r}")
        self.inputs = dict(inputs)
        self.names = list(self.inputs)
        self.width, self.drop = width, drop
        cfg = embed or {"type": "conv1d", "hidden_ratio": 0.5, "norm": "batch", "final_activation": False}
        self.embeds = nn.ModuleDict(
            {n: EMBEDDINGS.build({**cfg, "out_dim": width}, in_dim=c) for n, c in self.inputs.items()}
        )
        enc = encoder or {
            "type": "stack",
            "num_layers": 3,
            "activation": "none",
            "norm": "layer",
            "layer": {"type": "transformer", "heads": 2, "ff_ratio": 3.0, "dropout": 0.3},
        }
        self.encoder = GRAPH_LAYERS.build(enc, in_dim=width)
        if self.encoder.needs_graph or self.encoder.out_dim != width:
            raise ConfigError(
                f"mcmoe: the encoder must keep the width {width} and need no graph (transformer layers); "
                f"{type(self.encoder).__name__} gives {self.encoder.out_dim}"
            )
        self.completion = ModalityCompletion(self.names, width, heads=generator_heads)
        self.mixture = ExpertMixture(self.names, width, kernel_size=expert_kernel)
        dec = decoder or {"type": "grade_decoder", "queries": 4, "layers": 3, "heads": 2, "ff_ratio": 3.0}
        self.decoder = ATTENTION.build(dec, in_dim=width)
        self.head = HEADS.build(head or {"type": "grade", "grades": 4}, in_dim=self.decoder.out_dim)
        self.register_buffer("keep_sets", combinations(len(self.names)), persistent=False)
        if init is not None:
            init_weights(self.encoder, init)
            init_weights(self.decoder, init)

    # -- the forward ---------------------------------------------------------------------------------
    def _mask(self, batch: Mapping[str, Tensor], given: list[str]) -> Tensor:
        first = batch[given[0]]
        for n in given:
            x = batch[n]
            if x.dim() != 3 or x.shape[-1] != self.inputs[n]:
                raise ConfigError(f"mcmoe: input {n!r} must be [B, N, {self.inputs[n]}], got {list(x.shape)}")
            if x.shape[:2] != first.shape[:2]:
                raise DataError(
                    f"mcmoe: modalities are aligned in time, but {given[0]!r} is {list(first.shape[:2])} and "
                    f"{n!r} {list(x.shape[:2])} (batch, instances); cut them to the same clips"
                )
        masks = [batch[f"{n}_mask"] for n in given if f"{n}_mask" in batch]
        if not masks:
            return torch.ones(first.shape[:2], dtype=torch.bool, device=first.device)
        for m in masks[1:]:  # a check on values: eager only (an exported program takes one mask as given)
            if m.shape != masks[0].shape or (not torch.compiler.is_compiling() and not torch.equal(m, masks[0])):
                raise DataError(f"mcmoe: the modalities {given} must share one mask (the same valid clips)")
        return masks[0]

    def _present(self, batch: Mapping[str, Tensor], given: list[str], size: int, device: torch.device) -> Tensor:
        cols = []
        for n in self.names:
            if n not in given:
                cols.append(torch.zeros(size, dtype=torch.bool, device=device))
            else:
                cols.append(batch.get(f"{n}_present", torch.ones(size, dtype=torch.bool, device=device)).bool())
        return torch.stack(cols, 1)

    def _dropped(self, present: Tensor) -> Tensor:
        """Training: keep a random modality set (theirs: one for the batch); never leave a video with none."""
        if not self.training or self.drop == "none" or len(self.names) < 2:
            return present
        count = 1 if self.drop == "batch" else present.shape[0]
        pick = torch.randint(0, self.keep_sets.shape[0], (count,), device=present.device)
        kept = present & self.keep_sets[pick]
        return torch.where(kept.any(1, keepdim=True), kept, present)

    def forward(self, batch: dict[str, Tensor]) -> dict[str, Any]:
        given = [n for n in self.names if n in batch]
        if not given:
            raise ConfigError(f"mcmoe: the batch holds none of its modalities {self.names}; got {sorted(batch)}")
        mask = self._mask(batch, given)
        size = mask.shape[0]
        available = self._present(batch, given, size, mask.device)
        flagged = [n for n in given if f"{n}_present" in batch]
        if flagged and not bool(available.any(1).all()):
            lacking = (~available.any(1)).nonzero().flatten().tolist()
            raise DataError(f"mcmoe: video(s) {lacking} of the batch have none of {self.names} present; one is needed")
        present = self._dropped(available)
        keep = mask.unsqueeze(-1).to(batch[given[0]].dtype)
        encoded: dict[str, Tensor] = {}
        for n in given:  # the encoder is shared: each modality through it on its own, as theirs
            z = self.embeds[n](batch[n], mask) * keep
            encoded[n] = self.encoder(z, None, mask) * keep
        feats = {}
        ref = encoded[given[0]]
        for i, n in enumerate(self.names):
            if n in encoded:
                feats[n] = torch.where(present[:, i].view(-1, 1, 1), encoded[n], 0.0)  # never reads a missing one
            else:
                feats[n] = ref.new_zeros(ref.shape)
        # Which modalities may be missing is known from the keys (and the flags' presence), not their values.
        dropping = self.training and self.drop != "none" and len(self.names) > 1
        maybe = [n for n in self.names if n not in given or n in flagged or dropping]
        completed, generated = self.completion(feats, present, mask, generate=maybe) if maybe else (feats, {})
        fused, mixed = self.mixture(completed, mask)
        feature, weights = self.decoder(fused, mask)
        out = {**self.head(feature), "weights": {STREAM: weights}, "features": {STREAM: feature}}
        if self.training:
            out["completion"] = self._completion_terms(encoded, generated, mixed, available, present, mask)
        return out

    def _completion_terms(
        self,
        encoded: dict[str, Tensor],
        generated: dict[str, Tensor],
        mixed: dict[str, Tensor],
        available: Tensor,
        present: Tensor,
        mask: Tensor,
    ) -> dict[str, Any]:
        """What the reconstruction loss compares, for the modalities whose real features the batch holds."""
        idx = {n: i for i, n in enumerate(self.names)}
        real = [n for n in self.names if n in encoded]
        return {
            "mask": mask,
            # generated vs the real encoded features, on the videos that had the modality but had it dropped
            "generated": {n: generated[n] for n in real if n in generated},
            "target": {n: encoded[n] for n in real if n in generated},
            "dropped": {n: available[:, idx[n]] & ~present[:, idx[n]] for n in real if n in generated},
            # each modality's mixture (possibly of a generated sequence) vs its own expert on the real one
            "mixed": {n: mixed[n] for n in real},
            "own": {n: self.mixture.own(n, encoded[n], mask) for n in real},
            "has": {n: available[:, idx[n]] for n in real},
        }

    # -- what the engine asks ------------------------------------------------------------------------
    def stream_inputs(self) -> dict[str, str]:
        return {STREAM: self.names[0]}

    def instance_weights(
        self, out: Mapping[str, Any], batch: Mapping[str, Tensor]
    ) -> dict[str, list[list[float] | None]]:
        """The decoder's cross-attention per valid clip (averaged over the grade queries), per video."""
        w = out["weights"][STREAM].detach().float()
        w = w.mean(1) if w.dim() == 3 else w
        given = [n for n in self.names if n in batch]
        mask = next((batch[f"{n}_mask"] for n in given if f"{n}_mask" in batch), None)
        return {STREAM: [(w[b][mask[b]] if mask is not None else w[b]).tolist() for b in range(w.shape[0])]}

    def fit_input_stats(self, features: Mapping[str, Iterable[Any]]) -> list[str]:
        return []  # MCMoE standardises nothing: its input projections end in batch norm

    def example_inputs(
        self, batch: int = 2, lengths: dict[str, int] | None = None, seed: int = 0, ragged: bool = False
    ) -> dict[str, Tensor]:
        """Random aligned modalities sharing one length and mask (the first input's length in ``lengths``)."""
        g = torch.Generator().manual_seed(seed)
        n = (lengths or {}).get(self.names[0], 8)
        mask = torch.ones(batch, n, dtype=torch.bool)
        if ragged:
            valid = torch.randint(max(1, n // 2), n + 1, (batch,), generator=g)
            valid[0] = n
            mask = torch.arange(n).unsqueeze(0) < valid.unsqueeze(1)
        out: dict[str, Tensor] = {}
        for key, dim in self.inputs.items():
            out[key] = torch.randn(batch, n, dim, generator=g) * mask.unsqueeze(-1)
            out[f"{key}_mask"] = mask.clone()
        return out

    def dynamic_dims(self) -> dict[str, dict[int, str]]:
        """The batch and the (shared) number of clips may change size."""
        dims: dict[str, dict[int, str]] = {}
        for key in self.inputs:
            dims[key] = dims[f"{key}_mask"] = {0: "batch", 1: "clips"}
        return dims
