"""The contract of a model: a video's instances -> its score, and which instances mattered."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from torch import Tensor, nn

from ..kinds import MODELS


class Model(nn.Module):
    """A whole scorer, as the engine, the exporters and the checkpoints see it.

    ``inputs``: ``{input name: feature width}``. ``forward(batch) -> {"score": [B], "weights":
    {stream: [B, N] | [B, H, N] | None}, "features": {stream: [B, D]}, ...what the head adds}``, where
    ``batch`` holds ``{input: [B, N, C], input_mask: [B, N] (optional)}``; any number of instances,
    a padded batch scoring each video as it would alone. Beyond the forward it answers:

    * ``instance_weights(out, batch)``: each stream's weight of every valid instance, per video;
    * ``stream_inputs()``: which input each stream reads;
    * ``fit_input_stats(features)``: fit what it standardises from the training features (or nothing);
    * ``example_inputs(...)`` and ``dynamic_dims()``: inputs and dynamic axes for export.
    """

    inputs: dict[str, int]

    def instance_weights(
        self, out: Mapping[str, Any], batch: Mapping[str, Tensor]
    ) -> dict[str, list[list[float] | None]]:
        raise NotImplementedError

    def stream_inputs(self) -> dict[str, str]:
        raise NotImplementedError

    def fit_input_stats(self, features: Mapping[str, Iterable[Any]]) -> list[str]:
        raise NotImplementedError

    def example_inputs(
        self, batch: int = 2, lengths: dict[str, int] | None = None, seed: int = 0, ragged: bool = False
    ) -> dict[str, Tensor]:
        raise NotImplementedError

    def dynamic_dims(self) -> dict[str, dict[int, str]]:
        raise NotImplementedError


MODELS.contract = Model
