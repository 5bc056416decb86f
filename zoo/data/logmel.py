"""Log-mel filterbanks as Kaldi computes them (``compute-fbank-feats``), in torch: the AST front-end.

``LogMel(spec)(wave)``: mono float audio ``[N]`` or ``[B, N]`` at ``spec.sample_rate`` -> ``[B, frames,
mel_bins]``, padded with zeros (or cut) to ``spec.frames``, not yet normalised (``normalize`` does it,
beside the backbone). Frames of ``window_ms`` every ``hop_ms`` (no centring: Kaldi's ``snip_edges``),
each with its mean removed, pre-emphasised (0.97), Hann-windowed (symmetric), zero-padded to a power of
two, power spectrum, triangular mel filters spaced on Kaldi's mel scale from 20 Hz to Nyquist, natural
log floored at float32's epsilon. These are the settings of ``torchaudio.compliance.kaldi.fbank`` as
``ASTFeatureExtractor`` calls it (torchaudio is not needed; the tests compare with the extractor).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from ..backbones.audio import AudioSpec

PREEMPHASIS = 0.97
LOW_HZ = 20.0
LOG_FLOOR = torch.finfo(torch.float32).eps


def kaldi_mel(hz: Tensor) -> Tensor:
    return 1127.0 * torch.log1p(hz / 700.0)


def mel_filters(mel_bins: int, n_fft: int, sample_rate: int, low_hz: float = LOW_HZ) -> Tensor:
    """``[mel_bins, n_fft // 2 + 1]`` triangles in Kaldi's mel space (the Nyquist bin gets no weight, as in Kaldi)."""
    high = kaldi_mel(torch.tensor(sample_rate / 2.0, dtype=torch.float64))
    low = kaldi_mel(torch.tensor(float(low_hz), dtype=torch.float64))
    delta = (high - low) / (mel_bins + 1)
    edges = low + delta * torch.arange(mel_bins + 2, dtype=torch.float64)
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    mel = kaldi_mel(sample_rate / n_fft * torch.arange(n_fft // 2, dtype=torch.float64))[None]
    weights = torch.clamp(torch.minimum((mel - left) / (centre - left), (right - mel) / (right - centre)), min=0)
    return torch.cat([weights, torch.zeros(mel_bins, 1, dtype=torch.float64)], dim=1).float()


class LogMel:
    """Kaldi-style log-mel filterbanks for one ``AudioSpec`` (a small object: worker processes pickle it)."""

    def __init__(self, spec: AudioSpec) -> None:
        self.spec = spec
        self.window = round(spec.sample_rate * spec.window_ms / 1000)
        self.hop = round(spec.sample_rate * spec.hop_ms / 1000)
        self.n_fft = 1 << math.ceil(math.log2(self.window))
        self._filters: Tensor | None = None

    @property
    def filters(self) -> Tensor:
        if self._filters is None:
            self._filters = mel_filters(self.spec.mel_bins, self.n_fft, self.spec.sample_rate)
        return self._filters

    def samples(self, frames: int | None = None) -> int:
        """The audio samples that make ``frames`` spectrogram frames (default: the spec's)."""
        n = self.spec.frames if frames is None else frames
        return self.window + (n - 1) * self.hop

    def __call__(self, wave: Tensor) -> Tensor:
        """``[N]`` or ``[B, N]`` float audio -> ``[B, spec.frames, mel_bins]`` log-mel (not normalised)."""
        x = wave.float()
        x = x[None] if x.dim() == 1 else x
        if x.shape[-1] < self.window:  # less than one window: pad (the frames past it are padding anyway)
            x = torch.nn.functional.pad(x, (0, self.window - x.shape[-1]))
        frames = x.unfold(-1, self.window, self.hop)  # [B, n, window]
        frames = frames - frames.mean(dim=-1, keepdim=True)
        shifted = torch.cat([frames[..., :1], frames[..., :-1]], dim=-1)
        frames = frames - PREEMPHASIS * shifted
        frames = frames * torch.hann_window(self.window, periodic=False, dtype=frames.dtype)
        power = torch.fft.rfft(frames, n=self.n_fft).abs().pow(2)
        mel = torch.clamp(power @ self.filters.T, min=LOG_FLOOR).log()
        n = mel.shape[1]
        if n < self.spec.frames:
            mel = torch.nn.functional.pad(mel, (0, 0, 0, self.spec.frames - n))
        return mel[:, : self.spec.frames].contiguous()

    def normalize(self, mel: Tensor) -> Tensor:
        """Log-mel -> what the backbone takes: ``(x - mean) / std``."""
        return (mel.float() - self.spec.mean) / self.spec.std
