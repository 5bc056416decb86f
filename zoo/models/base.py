"""The contract of a model: a video's instances -> its score, and which instances mattered."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from torch import Tensor, nn

from ..kinds import MODELS, STREAMS


class Model(nn.Module, metaclass=ABCMeta):
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

    declares: ClassVar[tuple[str, ...]] = ("inputs",)  # set by every component; checked when built

    inputs: dict[str, int]

    @abstractmethod
    def forward(self, batch: dict[str, Tensor]) -> dict[str, Any]: ...

    @abstractmethod
    def instance_weights(
        self, out: Mapping[str, Any], batch: Mapping[str, Tensor]
    ) -> dict[str, list[list[float] | None]]: ...

    @abstractmethod
    def stream_inputs(self) -> dict[str, str]: ...

    @abstractmethod
    def fit_input_stats(self, features: Mapping[str, Iterable[Any]]) -> list[str]: ...

    @abstractmethod
    def example_inputs(
        self, batch: int = 2, lengths: dict[str, int] | None = None, seed: int = 0, ragged: bool = False
    ) -> dict[str, Tensor]: ...

    @abstractmethod
    def dynamic_dims(self) -> dict[str, dict[int, str]]: ...

    def min_instances(self) -> int:
        """The fewest instances per input an exported program is traced for (eager scoring takes any number):
        2 unless a stream pools the instances down (a size that could reach 1 is specialised by export)."""
        return 2


MODELS.contract = Model


class InstanceStream(nn.Module, metaclass=ABCMeta):
    """One kind of instance -> one vector (ACTION-NET's context-aware attention module is one recipe of it).

    Built with ``in_dim`` (the width of the input it reads, when known) and ``input`` (the model input it
    reads); declares ``in_dim``, ``out_dim``, ``input`` and ``input_norm`` (a ``FeatureNorm`` fitted on the
    training features, or None). ``forward(x [B, N, C], mask [B, N] | None) -> (feature [B, out_dim],
    weights)``, weights as the attention unit gives them (``[B, N]``, ``[B, H, N]`` or None); a padded batch
    gives each video what it gives alone.
    """

    declares: ClassVar[tuple[str, ...]] = ("in_dim", "out_dim", "input", "input_norm")  # checked when built
    min_instances: int = 2  # the fewest instances an exported program takes (see Model.min_instances)

    @abstractmethod
    def forward(self, x: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor | None]: ...


STREAMS.contract = InstanceStream
