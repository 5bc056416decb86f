"""Video decoding with PyAV, streamed frame by frame and resampled to a target rate by timestamps.

``VideoReader(path)`` checks the file at once (missing, empty, not a video, no video stream are a
``VideoError`` naming the file) and ``iter_frames(fps)`` yields ``Frame``s without ever holding
more than one decoded frame. Each iteration opens its own container and closes it when the
iteration ends, fails, is closed or is garbage-collected; ``close()`` (or leaving ``with``) closes
any iteration still open.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from ..errors import DataError

# Files the zoo treats as videos (extraction folders, predict, annotations checks).
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
# A frame counts for target time t when it lies at most this far before it (float rounding of pts).
_TIME_EPS = 1e-4
# A stream whose header promises N frames but decodes fewer than this share of them was cut short.
_MIN_DECODED_SHARE = 0.9


class VideoError(DataError):
    """A video that cannot be opened or decoded; the message names the file."""


class Frame(NamedTuple):
    """One decoded frame: its position in the source stream, its time in seconds, RGB uint8 [H, W, 3]."""

    index: int
    time: float
    image: np.ndarray


class VideoReader:
    """Frames of one video file, decoded with threads and resampled by timestamps.

    >>> with VideoReader("Ball_001.mp4") as video:          # doctest: +SKIP
    ...     for frame in video.iter_frames(fps=5.0):
    ...         frame.image.shape                             # (H, W, 3) uint8 RGB
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._live: set[Any] = set()  # containers of iterations still running
        container = self._open()
        try:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            self.fps = float(rate) if rate else 0.0
            if not self.fps > 0:
                raise VideoError(f"{self.path}: the video stream has no frame rate")
            self.size = (int(stream.codec_context.height), int(stream.codec_context.width))
            if min(self.size) <= 0:
                raise VideoError(f"{self.path}: the video stream has no frame size (got H, W = {self.size})")
            self.duration = _duration(container, stream, self.fps)
            self._header_frames = int(stream.frames or 0)
            self.num_frames = self._header_frames or max(1, round(self.duration * self.fps))
        finally:
            container.close()

    # -- opening and closing ------------------------------------------------------------------
    def _open(self) -> Any:
        if not self.path.exists():
            raise VideoError(f"video file {self.path} does not exist")
        if self.path.is_file() and self.path.stat().st_size == 0:
            raise VideoError(f"video file {self.path} is empty (0 bytes)")
        try:
            container = av.open(str(self.path))
        except (av.FFmpegError, OSError) as e:
            raise VideoError(f"cannot open {self.path} as a video: {e}") from e
        if not container.streams.video:
            kinds = ", ".join(s.type for s in container.streams) or "none"
            container.close()
            raise VideoError(f"{self.path} has no video stream (streams found: {kinds})")
        return container

    def close(self) -> None:
        """Close the containers of iterations that are still open."""
        for container in list(self._live):
            container.close()
        self._live.clear()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        h, w = self.size
        return f"VideoReader({str(self.path)!r}, {w}x{h}, {self.fps:g} fps, {self.duration:.2f} s)"

    # -- decoding -----------------------------------------------------------------------------
    def iter_frames(self, fps: float | None = None) -> Iterator[Frame]:
        """Frames at ``fps`` (the first frame at or after each time k/fps; never duplicated), or all if None."""
        if fps is not None and not fps > 0:
            raise ValueError(f"fps must be positive or None (every frame), got {fps!r}")
        return self._generate(fps)

    def _generate(self, fps: float | None) -> Iterator[Frame]:
        container = self._open()
        self._live.add(container)
        decoded, t = 0, 0.0
        try:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            start = None if stream.start_time is None else float(stream.start_time * stream.time_base)
            next_target = 0.0
            # One reformatter keeps its colour-conversion context between frames; to_ndarray()
            # alone builds a new one per frame, which costs more than the decoding of small frames.
            to_rgb = VideoReformatter()
            frames = container.decode(stream)
            while True:
                try:
                    frame = next(frames)
                except StopIteration:
                    break
                except av.FFmpegError as e:
                    raise VideoError(
                        f"{self.path}: decoding failed after {decoded} frames ({t:.2f} s); truncated or corrupt? {e}"
                    ) from e
                if frame.pts is None or frame.time is None:
                    t = decoded / self.fps
                else:
                    if start is None:
                        start = float(frame.time)
                    t = float(frame.time) - start
                index, decoded = decoded, decoded + 1
                if fps is not None:
                    if t < next_target - _TIME_EPS:
                        continue
                    next_target = (math.floor(t * fps + _TIME_EPS * fps) + 1) / fps
                yield Frame(index, t, to_rgb.reformat(frame, format="rgb24").to_ndarray())
            if self._header_frames and decoded < _MIN_DECODED_SHARE * self._header_frames:
                raise VideoError(
                    f"{self.path}: decoded only {decoded} of the {self._header_frames} frames its header "
                    "promises; the file is truncated or corrupt"
                )
        finally:
            self._live.discard(container)
            container.close()


def _duration(container: Any, stream: Any, fps: float) -> float:
    """Seconds, from the stream, else the container, else the frame count."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return (stream.frames or 0) / fps
