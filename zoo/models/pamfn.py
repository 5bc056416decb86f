"""PAMFN (Zeng & Zheng, TIP 2024): modality branches, then their levels fused progressively, then a head.

Each input (RGB, optical flow, audio: any number of named inputs) has a ``pyramid`` branch (the stream
its single-modality stage trained: ``recipes/peers/pamfn_*``). The fusion branch starts from a constant
``c`` as long as the branches' second level and runs three fusion blocks (``pamfn_fusion``): block 1 fuses
levels 0 and 1, block 2 levels 1 and 2 after halving ``c``, block 3 levels 2 and 3 after averaging ``c``
over time; the head scores ``[c ; s ; f]`` of the last block.

The authors load the branches whole from their first stage and stop the gradient of RGB and flow
(``detach``) while the audio branch trains on; the features are dropped out (``feature_dropout``) on the
way into the fusion. The branches' modules keep the stage-one names (``streams.<input>``), so
``train.init_from`` copies them from a stage-one run key for key.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from registry import ConfigError

from ..kinds import HEADS, MODELS, STREAMS
from .init import init_weights
from .pamfn_fusion import FUSED_PARTS, FusionBlock
from .pyramid import PyramidStream, halve, masked_mean
from .scorer import Scorer


@MODELS.register("pamfn")
class PAMFN(Scorer):
    """Progressive adaptive multimodal fusion over ``pyramid`` branches (one per input).

    ``streams``: per input, a ``pyramid`` stream config (``width`` equal for all); ``candidates``: K, the
    candidate fusions per block (RG 10, Fis-V 6); ``detach``: inputs whose branch the fusion's loss does
    not train (the authors: rgb, flow); ``eval_noise``: draw the policy's Gumbel noise in evaluation
    too, as their code does (scores then vary run to run; off: the most likely choice).
    """

    def __init__(
        self,
        streams: dict[str, dict[str, Any] | None],
        inputs: dict[str, int] | None = None,
        head: dict[str, Any] | None = None,
        candidates: int = 10,
        ms_heads: int = 1,
        cm_heads: int = 1,
        feature_dropout: float = 0.5,
        detach: list[str] | None = None,
        tau: float = 10.0,
        eval_noise: bool = False,
        init: str | None = None,
    ) -> None:
        nn.Module.__init__(self)
        inputs = dict(inputs or {})
        self.streams = nn.ModuleDict()
        for name, cfg in streams.items():
            if cfg is None:
                continue
            key = cfg.get("input") or name
            if key not in inputs:
                raise ConfigError(
                    f"pamfn: stream {name!r} reads input {key!r}, which is not in inputs {sorted(inputs)}"
                )
            stream = STREAMS.build({"type": "pyramid", **cfg, "input": key}, in_dim=inputs[key])
            if not isinstance(stream, PyramidStream):
                raise ConfigError(f"pamfn: stream {name!r} must be a pyramid stream (its levels are fused), got {cfg}")
            self.streams[name] = stream
        if len(self.streams) < 2:
            raise ConfigError(f"pamfn fuses modalities: it needs two streams or more, got {list(self.streams)}")
        widths = {s.width for s in self._pyramids()}
        stages = {len(s.stages) for s in self._pyramids()}
        if len(widths) > 1 or stages != {3}:
            raise ConfigError(
                f"pamfn: every stream must be a pyramid of one width and 3 stages, got widths {sorted(widths)} "
                f"and stages {sorted(stages)}"
            )
        unknown = sorted(set(detach or []) - set(self.streams))
        if unknown:
            raise ConfigError(f"pamfn: detach names {unknown}, which are not streams {list(self.streams)}")
        self.detach = list(detach or [])
        for name in self.detach:  # no gradient reaches them: no optimiser holds them (their batch norms still update)
            self.streams[name].requires_grad_(False)
        self.inputs = {s.input: s.in_dim for s in self._stream_list()}
        dim, n = widths.pop(), len(self.streams)
        self.width = dim
        # Their constant start (a parameter that never trains): a buffer here, saved alike.
        self.register_buffer("start", torch.zeros(FUSED_PARTS * dim))
        self.blocks = nn.ModuleList(
            FusionBlock(dim, candidates, n, ms_heads, cm_heads, to_one=(i == 2)) for i in range(3)
        )
        for block in self.blocks:
            block.f_fusion.eval_noise = eval_noise
        self.feature_dropout = nn.Dropout(feature_dropout)
        self.tau = nn.Parameter(torch.tensor(float(tau)))
        head = head or {"type": "mlp", "hidden_dims": [dim // 2], "norm": "batch"}
        self.head = HEADS.build(head, in_dim=FUSED_PARTS * dim)
        if init is not None:
            init_weights(self, init)

    def _pyramids(self) -> list[PyramidStream]:
        return list(self.streams.values())  # type: ignore[arg-type]

    def _check_aligned(self, first: tuple[tuple[Tensor, Tensor], ...]) -> None:
        """Modalities are fused instance by instance: every input must have as many instances per video."""
        lengths = {name: level[1].sum(1) for name, level in zip(self.streams, first)}
        reference = next(iter(lengths.values()))
        if any(not torch.equal(v, reference) for v in lengths.values()):
            shown = {name: v.tolist() for name, v in lengths.items()}
            raise ConfigError(
                f"pamfn fuses its inputs instance by instance, so each video needs as many instances of every "
                f"input; valid instances per video: {shown}"
            )

    def dynamic_dims(self) -> dict[str, dict[int, str]]:
        """The batch and one number of instances shared by every input (the modalities are aligned)."""
        dims: dict[str, dict[int, str]] = {}
        for key in self.inputs:
            dims[key] = dims[f"{key}_mask"] = {0: "batch", 1: "instances"}
        return dims

    def example_inputs(
        self, batch: int = 2, lengths: dict[str, int] | None = None, seed: int = 0, ragged: bool = False
    ) -> dict[str, Tensor]:
        """As the scorer's, but every input of a video as long as the first's (the modalities are aligned)."""
        n = max((lengths or {}).get(k, 8) for k in self.inputs)
        out = super().example_inputs(batch, dict.fromkeys(self.inputs, n), seed, ragged)
        first = next(iter(self.inputs))
        for key in self.inputs:
            out[f"{key}_mask"] = out[f"{first}_mask"].clone()
            out[key] = out[key] * out[f"{key}_mask"].unsqueeze(-1)
        return out

    def forward(self, inputs: dict[str, Tensor]) -> dict[str, Any]:
        levels = {}
        for name, stream in self.streams.items():
            if stream.input not in inputs:
                raise ConfigError(
                    f"pamfn: stream {name!r} needs input {stream.input!r}, got {sorted(inputs)}: PAMFN cannot score "
                    f"with a modality missing (MCMoE can)"
                )
            out = stream.levels(inputs[stream.input], inputs.get(f"{stream.input}_mask"))  # type: ignore[operator]
            if name in self.detach:
                out = [(x.detach(), m) for x, m in out]
            levels[name] = [(self.feature_dropout(x), m) for x, m in out]
        per_level = list(zip(*levels.values()))  # level i -> one (x, mask) per modality
        if not torch.compiler.is_compiling():  # an exported program takes its inputs as checked when traced
            self._check_aligned(per_level[0])
        mask = per_level[1][0][1]
        c = self.start.to(mask.device).expand(*mask.shape, -1) * mask.unsqueeze(-1)
        picks = []
        for i, block in enumerate(self.blocks):
            x, pick = block((c, mask), per_level[i], per_level[i + 1], self.tau)
            picks.append(pick)
            if i == 0:
                c, mask = halve(x, mask)
            elif i == 1:
                c, mask = masked_mean(x, mask), mask[:, :1]
            else:
                c = x
        out = self.head(c.squeeze(1))
        features = {name: lv[-1][0].squeeze(1) for name, lv in levels.items()}
        return {**out, "weights": {name: None for name in self.streams}, "features": features, "fusion_picks": picks}
