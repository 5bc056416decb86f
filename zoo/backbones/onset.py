"""The onset-strength envelope of log-mel audio, as the audio backbone ``onset``: where in a clip sounds start.

``[B, frames, mel_bins]`` log-mel -> ``[B, bands * bins]``: the spectral flux (the rise of each mel bin from one
frame to the next, negative changes dropped, averaged over the bins of each of ``bands`` equal groups), the
onset-detection function beat trackers start from (Böck & Widmer 2013; ``librosa.onset.onset_strength``),
averaged over ``bins`` equal spans of the clip. It has no weights: it keeps *when* in the clip the beats fall,
which a randomly initialised network pooled over the clip mostly loses, and costs next to nothing.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from registry import ConfigError

from ..kinds import AUDIO_BACKBONES
from .audio import AudioBackbone, AudioSpec


class SpectralFlux(nn.Module):
    """``[B, frames, mel_bins]`` -> ``[B, bands * bins]``: half-wave rectified flux per band, pooled in time."""

    def __init__(self, bands: int, bins: int) -> None:
        super().__init__()
        self.bands, self.bins = bands, bins

    def forward(self, x: Tensor) -> Tensor:
        rise = torch.relu(x[:, 1:] - x[:, :-1])  # [B, frames - 1, mel]: only what starts sounding
        rise = F.pad(rise, (0, 0, 1, 0))  # frame 0 has nothing before it: no onset there
        b, t, m = rise.shape
        per_band = rise.reshape(b, t, self.bands, m // self.bands).mean(-1)  # [B, frames, bands]
        pooled = F.adaptive_avg_pool1d(per_band.transpose(1, 2), self.bins)  # [B, bands, bins]
        return pooled.flatten(1)


@AUDIO_BACKBONES.register("onset")
class OnsetEnvelope(AudioBackbone):
    """Onset strength over time: ``frames`` log-mel frames of ``mel_bins`` -> ``bands * bins`` values, no weights.

    ``frames``: the log-mel frames a clip makes (25 ms windows every 10 ms: 78 for 0.8 s). Set it to exactly that:
    a shorter clip is padded with zeros, and the step into the padding would read as an onset at its end.
    ``bins``: time spans the envelope is averaged over; ``bands``: groups of mel bins kept apart (``mel_bins``
    divisible by it).
    """

    def __init__(self, frames: int = 78, mel_bins: int = 64, bins: int = 16, bands: int = 1, freeze: bool = False):
        for key, value in (("frames", frames), ("mel_bins", mel_bins), ("bins", bins), ("bands", bands)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"onset: {key} must be a positive int, got {value!r}")
        if bins > frames:
            raise ConfigError(f"onset: bins ({bins}) cannot exceed frames ({frames}): a bin is at least one frame")
        if mel_bins % bands:
            raise ConfigError(f"onset: mel_bins ({mel_bins}) must divide into bands ({bands}) equal groups")
        spec = AudioSpec(mel_bins=mel_bins, frames=frames)  # 16 kHz, 25 ms windows every 10 ms: AST's front-end
        super().__init__("onset", bands * bins, spec)
        self.net = SpectralFlux(bands, bins)
        if freeze:  # nothing to train; the key is accepted as every audio backbone's
            self.freeze()

    def forward(self, x: Tensor) -> Tensor:
        self.check_input(x)
        return self.net(x)
