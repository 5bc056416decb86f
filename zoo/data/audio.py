"""A video's audio track with PyAV: decoded once, resampled (FFmpeg's swresample) and downmixed to mono.

``read_audio(path, sample_rate)`` -> ``AudioTrack``: float32 samples in [-1, 1] and where they sit on
the video's clock (``offset``: seconds of the first sample after the video stream's start, the origin
of every frame time the extractor uses). ``track.span(start, seconds)`` cuts the samples of a span of
video time, zero-filled where the track has none (before it starts, after it ends). A file without
an audio stream is a ``NoAudioError`` naming it, never silence. Mono is the mean of the channels (a
stereo file whose channels are equal gives the mono file's samples; FFmpeg's own downmix would add 3 dB).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from ..errors import DataError


class NoAudioError(DataError):
    """A video without the audio track an input needs; the message names the video."""


@dataclass
class AudioTrack:
    """Mono float32 samples at ``sample_rate``; the first is ``offset`` seconds after the video's start."""

    samples: np.ndarray
    sample_rate: int
    offset: float = 0.0
    source_rate: int = 0  # the stream's own rate and channels, for the record
    source_channels: int = 0

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    def span(self, start: float, seconds: float) -> np.ndarray:
        """The samples of video time ``[start, start + seconds)``; zeros where the track has none."""
        n = round(seconds * self.sample_rate)
        first = round((start - self.offset) * self.sample_rate)
        out = np.zeros(n, np.float32)
        lo, hi = max(first, 0), min(first + n, len(self.samples))
        if hi > lo:
            out[lo - first : hi - first] = self.samples[lo:hi]
        return out

    def facts(self) -> dict[str, Any]:
        """What the manifest records of the track."""
        return {
            "sample_rate": self.source_rate,
            "channels": self.source_channels,
            "duration": round(self.duration, 3),
            "offset": round(self.offset, 4),
        }


def _mono(frame: Any) -> np.ndarray:
    """One resampled frame (planar float: [channels, samples]) -> its mean over channels."""
    return frame.to_ndarray().mean(axis=0, dtype=np.float32)


def _start(stream: Any) -> float | None:
    return None if stream.start_time is None else float(stream.start_time * stream.time_base)


def read_audio(path: str | os.PathLike[str], sample_rate: int, track: int = 0) -> AudioTrack:
    """Audio stream ``track`` of ``path``, mono at ``sample_rate``; a ``NoAudioError`` when there is none."""
    path = Path(path)
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as e:
        raise DataError(f"cannot open {path} to read its audio: {e}") from e
    with container:
        streams = container.streams.audio
        if len(streams) <= track:
            have = f"only {len(streams)} audio stream(s)" if streams else "no audio stream"
            raise NoAudioError(f"{path}: the video has {have}, so audio track {track} cannot be read")
        stream = streams[track]
        video = container.streams.video[0] if container.streams.video else None
        origin = (_start(video) if video is not None else None) or 0.0
        resampler = av.AudioResampler(format="fltp", rate=sample_rate)  # the source's channels kept: mixed below
        chunks: list[np.ndarray] = []
        first: float | None = None
        try:
            for frame in container.decode(stream):
                if first is None:
                    first = float(frame.time) if frame.time is not None else (_start(stream) or 0.0)
                chunks += [_mono(f) for f in resampler.resample(frame)]
            chunks += [_mono(f) for f in resampler.resample(None)]  # what swresample holds back
        except av.FFmpegError as e:
            raise DataError(f"{path}: decoding its audio failed after {sum(map(len, chunks))} samples: {e}") from e
        samples = np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)
        return AudioTrack(
            samples,
            sample_rate,
            offset=(first if first is not None else 0.0) - origin,
            source_rate=int(stream.rate or 0),
            source_channels=int(stream.channels or 0),
        )
