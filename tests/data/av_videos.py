"""Tiny MP4s with a sound track, written with PyAV, for the audio and flow extraction tests."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from tests.data.conftest import make_frames


def tone(seconds: float, rate: int, start: float = 0.0, stop: float | None = None, hz: float = 440.0) -> np.ndarray:
    """A sine of ``hz`` between ``start`` and ``stop`` seconds (the whole span by default), silence elsewhere."""
    t = np.arange(round(seconds * rate)) / rate
    on = (t >= start) & (t < (seconds if stop is None else stop))
    return (0.5 * np.sin(2 * np.pi * hz * t) * on).astype(np.float32)


def write_av(
    path: Path,
    seconds: float = 2.0,
    fps: int = 25,
    size: tuple[int, int] = (48, 64),
    sound: Callable[[float, int], np.ndarray] | None = tone,
    rate: int = 44100,
    codec: str = "aac",
) -> Path:
    """H.264 video of ``seconds`` (the moving square of ``make_frames``, ``size`` = height, width) with a stereo
    ``codec`` track of ``sound(seconds, rate)`` (both channels equal), or no audio stream when ``sound`` is None."""
    height, width = size
    frames = make_frames(round(seconds * fps), max(size))[:, :height, :width]
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps)
        video.height, video.width, video.pix_fmt = height, width, "yuv420p"
        video.options = {"preset": "ultrafast", "crf": "18"}
        audio = container.add_stream(codec, rate=rate, layout="stereo") if sound is not None else None
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode())
        if audio is not None:
            wave = sound(seconds, rate)
            step = audio.codec_context.frame_size or 1024
            for start in range(0, len(wave), step):
                chunk = np.ascontiguousarray(np.repeat(wave[None, start : start + step], 2, axis=0))
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
                frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
                container.mux(audio.encode(frame))
            container.mux(audio.encode())
    return path
