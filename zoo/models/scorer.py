"""The multi-stream scorer: streams -> fusion -> head -> score, with each stream's instance weights."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

from registry import ConfigError

from ..kinds import FUSION, HEADS, MODELS, STREAMS
from .base import Model
from .init import init_weights
from .stream import Stream


@MODELS.register("scorer")
class Scorer(Model):
    """Scores a video from one or more streams of instances (ACTION-NET: dynamic + static).

    ``inputs`` names the model's inputs and their feature widths (``{dynamic: 1024}``); each
    stream reads the input of its own name unless it says ``input:``. The forward takes a dict
    ``{name: [B, N, C], name_mask: [B, N] (optional)}`` and returns ``{"score": [B], "weights":
    {stream: [B, N] or None}, "features": {stream: [B, D]}, ...what the head adds}``.
    """

    def __init__(
        self,
        streams: dict[str, dict[str, Any] | None],
        inputs: dict[str, int] | None = None,
        fusion: dict[str, Any] | None = None,
        head: dict[str, Any] | None = None,
        init: str | None = None,
    ) -> None:
        super().__init__()
        inputs = dict(inputs or {})
        self.streams = nn.ModuleDict()
        for name, cfg in streams.items():
            if cfg is None:  # a recipe may switch a stream off with `name: null`
                continue
            key = cfg.get("input") or name
            if key not in inputs and not cfg.get("backbone") and not cfg.get("in_dim"):
                raise ConfigError(
                    f"scorer: stream {name!r} reads input {key!r}, which is not in inputs {sorted(inputs)}"
                )
            self.streams[name] = STREAMS.build({**cfg, "input": key}, in_dim=inputs.get(key))
        if not self.streams:
            raise ConfigError("scorer: no streams left; a model needs at least one")
        self.inputs = {s.input: s.in_dim for s in self._stream_list()}
        self.fusion = FUSION.build(
            fusion or {"type": "concat"}, in_dims={n: s.out_dim for n, s in self.streams.items()}
        )
        self.head = HEADS.build(head or {"type": "mlp"}, in_dim=self.fusion.out_dim)
        if init is not None:
            init_weights(self, init)

    def _stream_list(self) -> list[Stream]:
        return list(self.streams.values())  # type: ignore[arg-type]

    def forward(self, inputs: dict[str, Tensor]) -> dict[str, Any]:
        features: dict[str, Tensor] = {}
        weights: dict[str, Tensor | None] = {}
        for name, stream in self.streams.items():
            if stream.input not in inputs:
                raise ConfigError(
                    f"scorer: stream {name!r} needs input {stream.input!r}; got {sorted(inputs)}: this model cannot "
                    f"score with {stream.input!r} missing (a model that completes missing modalities can: peers/mcmoe)"
                )
            features[name], weights[name] = stream(inputs[stream.input], inputs.get(f"{stream.input}_mask"))
        out = self.head(self.fusion(features))
        return {**out, "weights": weights, "features": features}

    # -- what the engine asks --------------------------------------------------------------------
    def stream_inputs(self) -> dict[str, str]:
        return {name: stream.input for name, stream in self.streams.items()}

    def instance_weights(
        self, out: Mapping[str, Any], batch: Mapping[str, Tensor]
    ) -> dict[str, list[list[float] | None]]:
        """Per stream, per video: the weight of each valid instance (multi-head weights averaged over heads)."""
        result: dict[str, list[list[float] | None]] = {}
        for name, w in out["weights"].items():
            key = self.streams[name].input
            mask = batch.get(f"{key}_mask")
            size = batch[key].shape[0]
            if w is None:
                result[name] = [None] * size
                continue
            w = w.detach().float()
            w = w.mean(1) if w.dim() == 3 else w
            rows = []
            for b in range(size):
                rows.append((w[b][mask[b]] if mask is not None else w[b]).tolist())
            result[name] = rows
        return result

    def fit_input_stats(self, features: Mapping[str, Iterable[Any]]) -> list[str]:
        """Fit each stream's ``input_norm`` on training features ``{input: [n_i, C] arrays}``; returns those fitted."""
        fitted = []
        for stream in self._stream_list():
            if stream.input_norm is not None:
                stream.input_norm.fit(features[stream.input])
                fitted.append(stream.input)
        return fitted

    # -- export ----------------------------------------------------------------------------------
    def example_inputs(
        self, batch: int = 2, lengths: dict[str, int] | None = None, seed: int = 0, ragged: bool = False
    ) -> dict[str, Tensor]:
        """Random feature inputs of the model's shapes (for export, benchmarks and tests).

        Where a stream standardises its input with fitted statistics, the features are drawn around
        them (``mean + std * N(0, 1)``), as real features are: a check with unit-scale noise would feed
        a trained model inputs 1e6 standard deviations away from anything it saw. ``ragged`` pads every
        video but the first to a random shorter length, masks marking it.
        """
        g = torch.Generator().manual_seed(seed)
        norms = {s.input: s.input_norm for s in self._stream_list() if s.input_norm is not None}
        out: dict[str, Tensor] = {}
        for key, dim in self.inputs.items():
            n = (lengths or {}).get(key, 8)
            mask = torch.ones(batch, n, dtype=torch.bool)
            if ragged:
                valid = torch.randint(max(1, n // 2), n + 1, (batch,), generator=g)
                valid[0] = n
                mask = torch.arange(n).unsqueeze(0) < valid.unsqueeze(1)
            x = torch.randn(batch, n, dim, generator=g)
            if key in norms:
                x = norms[key].mean.detach().cpu() + norms[key].std.detach().cpu() * x
            out[key] = x * mask.unsqueeze(-1)
            out[f"{key}_mask"] = mask
        return out

    def min_instances(self) -> int:
        return max(s.min_instances for s in self._stream_list())

    def dynamic_dims(self) -> dict[str, dict[int, str]]:
        """Which input axes may change size: the batch, and each input's number of instances."""
        dims: dict[str, dict[int, str]] = {}
        for key in self.inputs:
            dims[key] = dims[f"{key}_mask"] = {0: "batch", 1: f"{key}_len"}
        return dims
