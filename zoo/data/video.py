"""Video decoding with PyAV: each frame decoded once, converted (and resized, by FFmpeg) only when asked.

``VideoReader(path)`` checks the file at once (missing, empty, not a video, no video stream are a
``VideoError`` naming the file). ``frames()`` yields every ``DecodedFrame`` once, in order; a frame
becomes RGB ``uint8 [h, w, 3]`` through ``frame.rgb(size)``, which FFmpeg's scaler converts and
resizes in one pass (no full-resolution RGB array when a smaller one is wanted). ``iter_frames(fps)``
yields ``Frame``s resampled to ``fps`` by their timestamps. A file cut short is an error, whether
its header counts its frames (MP4) or only states its duration (MKV, WebM). Each iteration opens its
own container and closes it when it ends, fails, is closed or is garbage-collected.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from ..errors import DataError

# Files the zoo treats as videos (extraction folders, predict, annotation checks).
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
# A frame counts for target time t when it lies at most this far before it (float rounding of pts).
_TIME_EPS = 1e-4
# A stream that decodes less than this share of the frames (or seconds) its header promises was cut short.
_MIN_DECODED_SHARE = 0.9


class VideoError(DataError):
    """A video that cannot be opened or decoded; the message names the file."""


class Frame(NamedTuple):
    """One frame as samplers see it: its position in the source stream, its time in seconds, RGB uint8 [H, W, 3]."""

    index: int
    time: float
    image: np.ndarray


class Timed(Protocol):
    time: float


class Resampler:
    """Which frames make a stream at ``fps``: the first frame at or after each time k/fps, never one twice.

    ``take(t)`` is asked once per decoded frame, in order; None takes every frame.
    """

    def __init__(self, fps: float | None) -> None:
        if fps is not None and not fps > 0:
            raise ValueError(f"fps must be positive or None (every frame), got {fps!r}")
        self.fps = fps
        self.next_target = 0.0

    def take(self, t: float) -> bool:
        if self.fps is None:
            return True
        if t < self.next_target - _TIME_EPS:
            return False
        self.next_target = (math.floor(t * self.fps + _TIME_EPS * self.fps) + 1) / self.fps
        return True


def resample(frames: Iterable[Any], fps: float | None) -> Iterator[Any]:
    """The frames (anything with ``.time``) that a stream at ``fps`` keeps."""
    keep = Resampler(fps)
    return (f for f in frames if keep.take(f.time))


class DecodedFrame:
    """One decoded frame: ``index`` in the stream, ``time`` in seconds, and ``rgb(size)`` on demand.

    ``rgb()`` is the frame at its own size; ``rgb((h, w))`` is converted and resized by FFmpeg in one
    pass (bilinear, area-weighted when shrinking). Results are cached per size, so inputs that want the
    same size share one conversion.
    """

    __slots__ = ("_cache", "_frame", "_reformatters", "index", "time")

    def __init__(self, index: int, time: float, frame: Any, reformatters: dict[Any, VideoReformatter]) -> None:
        self.index, self.time = index, time
        self._frame, self._reformatters = frame, reformatters
        self._cache: dict[tuple[int, int] | None, np.ndarray] = {}

    def rgb(self, size: tuple[int, int] | None = None) -> np.ndarray:
        if size not in self._cache:
            # One reformatter per output size: each keeps its scaler context, which changing sizes would rebuild.
            reformatter = self._reformatters.setdefault(size, VideoReformatter())
            if size is None:
                out = reformatter.reformat(self._frame, format="rgb24")
            else:
                h, w = size
                out = reformatter.reformat(self._frame, width=w, height=h, format="rgb24")
            self._cache[size] = out.to_ndarray()
        return self._cache[size]


class VideoReader:
    """Frames of one video file, decoded with threads, each once.

    >>> with VideoReader("Ball_001.mp4") as video:          # doctest: +SKIP
    ...     for frame in video.iter_frames(fps=5.0):
    ...         frame.image.shape                             # (H, W, 3) uint8 RGB
    """

    def __init__(self, path: str | os.PathLike, threads: int = 0) -> None:
        self.path = Path(path)
        self.threads = int(threads)  # decoding threads; 0 lets FFmpeg choose
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
        """RGB frames at ``fps`` (the first frame at or after each time k/fps; never duplicated), or all if None."""
        keep = Resampler(fps)  # checks fps now, not at the first frame
        return self._rgb_frames(keep)

    def _rgb_frames(self, keep: Resampler) -> Iterator[Frame]:
        for f in self.frames():
            if keep.take(f.time):
                yield Frame(f.index, f.time, f.rgb())

    def frames(self) -> Iterator[DecodedFrame]:
        """Every frame, decoded once, in order; an error names the file when it is corrupt or cut short."""
        container = self._open()
        self._live.add(container)
        decoded, t = 0, 0.0
        try:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            stream.codec_context.thread_count = self.threads
            start = None if stream.start_time is None else float(stream.start_time * stream.time_base)
            # Reformatters keep their conversion context between frames; to_ndarray() alone builds a new
            # one per frame, which costs more than the decoding of small frames.
            reformatters: dict[Any, VideoReformatter] = {}
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
                yield DecodedFrame(index, t, frame, reformatters)
            self._check_complete(decoded, t)
        finally:
            self._live.discard(container)
            container.close()

    def _check_complete(self, decoded: int, last_time: float) -> None:
        """A file cut short: fewer frames than its header counts, or fewer seconds than its container states."""
        if self._header_frames and decoded < _MIN_DECODED_SHARE * self._header_frames:
            raise VideoError(
                f"{self.path}: decoded only {decoded} of the {self._header_frames} frames its header "
                "promises; the file is truncated or corrupt"
            )
        covered = last_time + 1.0 / self.fps if decoded else 0.0
        if not self._header_frames and self.duration > 0 and covered < _MIN_DECODED_SHARE * self.duration:
            raise VideoError(
                f"{self.path}: decoded only {covered:.2f} s of the {self.duration:.2f} s its container states "
                f"({decoded} frames); the file is truncated or corrupt"
            )


def _duration(container: Any, stream: Any, fps: float) -> float:
    """Seconds, from the stream, else the container, else the frame count."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return (stream.frames or 0) / fps
