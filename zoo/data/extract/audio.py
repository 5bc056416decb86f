"""Audio inputs of an extraction: the seconds each clip covers, as the log-mel an audio backbone takes.

An audio input has a clip sampler like an RGB input and is fed the same frame times (``prepare.AudioRun``;
no picture is converted for it), so its instance k covers the seconds of the RGB clip k of the same
sampler: from the clip's first frame for ``length`` frames at the sampler's rate. Each instance is
that span of the audio track (``zoo/data/audio.py``: decoded once per video, mono, at the backbone's
sample rate) as a log-mel spectrogram (``zoo/data/logmel.py``), made in the worker; ``normalize``
runs beside the backbone. A video without the track, or whose track covers too little of it, fails
naming the video and the input: silence is never passed off as its sound.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from ..logmel import LogMel

if TYPE_CHECKING:
    from ...backbones.audio import AudioSpec


class AudioFrontEnd:
    """An audio backbone's front-end, in the place of an RGB input's transform (worker processes pickle it)."""

    def __init__(self, spec: AudioSpec) -> None:
        self.spec = spec
        self.logmel = LogMel(spec)

    def frame_size(self, height: int, width: int) -> None:
        return None  # no picture is converted for an audio input

    def spectrogram(self, wave: np.ndarray) -> Tensor:
        """Samples of one instance -> log-mel ``[frames, mel_bins]`` (padded or cut to the backbone's frames)."""
        return self.logmel(torch.from_numpy(wave))[0]

    def normalize(self, batch: Tensor) -> Tensor:
        """``[B, frames, mel_bins]`` log-mel -> what the backbone takes."""
        return self.logmel.normalize(batch)

    def __repr__(self) -> str:
        return f"AudioFrontEnd({self.spec})"
