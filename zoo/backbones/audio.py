"""What every audio backbone shares: the spectrogram it expects and its feature size (``audio_backbones``).

An audio backbone turns one instance's log-mel spectrogram ``[B, frames, mel_bins]`` (float, already
normalised) into ``[B, feature_dim]``. ``input_spec`` (an ``AudioSpec``) says how the spectrogram is
made: sample rate, window and hop, mel bins, the number of frames the network takes (shorter spans are
padded, longer ones cut) and the normalisation, so the extractor's front-end (``zoo/data/logmel.py``)
makes exactly what the network was trained on.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from torch import Tensor, nn

from ..errors import DataError
from ..kinds import AUDIO_BACKBONES


@dataclass(frozen=True)
class AudioSpec:
    """The spectrogram an audio backbone was trained on: Kaldi-style log-mel filterbanks of mono audio.

    ``window_ms``/``hop_ms``: the analysis window and its step; ``frames``: the spectrogram frames the
    network takes (``frames * hop_ms`` ms of audio; a shorter span is padded with zeros, a longer one
    cut); ``mean``/``std``: the log-mel values are fed as ``(x - mean) / std``.
    """

    sample_rate: int = 16000
    mel_bins: int = 128
    frames: int = 1024
    window_ms: float = 25.0
    hop_ms: float = 10.0
    mean: float = 0.0
    std: float = 1.0
    kind: str = "audio"

    def __post_init__(self) -> None:
        for name in ("sample_rate", "mel_bins", "frames"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"AudioSpec.{name} must be a positive int, got {value!r}")
        if not (self.window_ms > 0 and self.hop_ms > 0 and self.std > 0):
            raise ValueError(f"AudioSpec window_ms, hop_ms and std must be positive, got {self}")

    @property
    def shape(self) -> tuple[int, int]:
        """One instance as the network takes it: ``(frames, mel_bins)``."""
        return (self.frames, self.mel_bins)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class AudioBackbone(nn.Module, metaclass=ABCMeta):
    """Log-mel spectrograms -> one feature vector per instance; says ``feature_dim`` and ``input_spec`` up front.

    ``forward(x)`` takes normalised float spectrograms ``[B, frames, mel_bins]`` (the sizes of
    ``input_spec``, an ``AudioSpec``) and returns ``[B, feature_dim]``; a wrong shape is an error naming
    the backbone and what it expects. Weights are random unless read from a local path (never
    downloaded at run time); ``freeze`` keeps them fixed. The library's network is ``self.net``.
    """

    declares: ClassVar[tuple[str, ...]] = ("name", "feature_dim", "input_spec", "net")  # checked when built

    feature_dim: int
    input_spec: AudioSpec
    net: nn.Module

    def __init__(self, name: str, feature_dim: int, input_spec: AudioSpec) -> None:
        super().__init__()
        self.name = name
        self.feature_dim = int(feature_dim)
        self.input_spec = input_spec
        self.frozen = False

    @abstractmethod
    def forward(self, x: Tensor) -> Tensor: ...

    def freeze(self) -> AudioBackbone:
        """No gradients, and eval mode (dropout) even under ``.train()``."""
        self.frozen = True
        self.requires_grad_(False)
        return self.train(False)

    def train(self, mode: bool = True) -> AudioBackbone:
        return super().train(mode and not self.frozen)

    def check_input(self, x: Tensor) -> None:
        """Raise a DataError naming this backbone and the shape it takes when ``x`` cannot be right."""
        want = list(self.input_spec.shape)
        if isinstance(x, Tensor) and x.dim() == 3 and list(x.shape[1:]) == want and x.is_floating_point():
            return
        got = list(x.shape) if isinstance(x, Tensor) else type(x).__name__
        alone = isinstance(x, Tensor) and x.dim() == 2
        hint = " One spectrogram without the batch dimension? Use x[None]." if alone else ""
        raise DataError(
            f"{self.name} expects float log-mel spectrograms [B, frames, mel_bins] = [B, {want[0]}, {want[1]}], "
            f"got {got}.{hint}"
        )


AUDIO_BACKBONES.contract = AudioBackbone
