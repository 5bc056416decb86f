"""Video decoding with PyAV: each frame decoded once, converted (and resized, by FFmpeg) only when asked.

``VideoReader(path)`` checks the file at once (missing, empty, not a video, no video stream are a
``VideoError`` naming the file). ``frames()`` yields every ``DecodedFrame`` once, in order; a frame
becomes RGB ``uint8 [h, w, 3]`` through ``frame.rgb(size)``, which FFmpeg's scaler converts and
resizes in one pass (no full-resolution RGB array when a smaller one is wanted). ``iter_frames(fps)``
yields ``Frame``s resampled to ``fps`` by their timestamps. Each iteration opens its own container
and closes it when it ends, fails, is closed or is garbage-collected.

What changes the meaning of the frames is honoured or named, never ignored:

* a display rotation (a phone's portrait video stored sideways) is applied: ``size`` and every
  ``rgb()`` are the picture as it is meant to be seen;
* a decode error mid-file is a ``VideoError``; a file cut short (fewer frames than its header
  counts, or fewer seconds than its container states) is one when more than ``max_missing`` of
  them are missing (``missing`` tells how many were, after a full pass);
* a variable frame rate is detected (``variable_rate``) so that readers which need evenly spaced
  frames can refuse it; samplers that resample by timestamps honour it.
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
# The share of the frames (or seconds) a header promises that may fail to decode (extract.max_missing_frames).
MAX_MISSING = 0.02
# Above this share of missing frames a video is noted (warned about) even when it passes.
WARN_MISSING = 0.01
# A frame interval this far from the stream's nominal one (as a share of it) marks a variable frame rate.
_VFR_SLACK = 0.5


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
    pass (bilinear, area-weighted when shrinking). Both are the picture as it is displayed: a stream
    with a display rotation is resized in its stored orientation and turned (``quarter_turns``
    counter-clockwise). Results are cached per size, so inputs that want the same size share one
    conversion.
    """

    __slots__ = ("_cache", "_frame", "_reformatters", "index", "quarter_turns", "time")

    def __init__(
        self, index: int, time: float, frame: Any, reformatters: dict[Any, VideoReformatter], quarter_turns: int = 0
    ) -> None:
        self.index, self.time = index, time
        self._frame, self._reformatters = frame, reformatters
        self.quarter_turns = quarter_turns
        self._cache: dict[tuple[int, int] | None, np.ndarray] = {}

    def rgb(self, size: tuple[int, int] | None = None) -> np.ndarray:
        if size not in self._cache:
            # One reformatter per output size: each keeps its scaler context, which changing sizes would rebuild.
            reformatter = self._reformatters.setdefault(size, VideoReformatter())
            if size is None:
                out = reformatter.reformat(self._frame, format="rgb24")
            else:
                h, w = size if self.quarter_turns % 2 == 0 else size[::-1]  # stored orientation
                out = reformatter.reformat(self._frame, width=w, height=h, format="rgb24")
            image = out.to_ndarray()
            if self.quarter_turns:
                image = np.ascontiguousarray(np.rot90(image, self.quarter_turns))
            self._cache[size] = image
        return self._cache[size]


def quarter_turns(rotation: float | None) -> int:
    """Counter-clockwise quarter turns for a display rotation in degrees (PyAV's ``VideoFrame.rotation``).

    Only multiples of 90 degrees are pictures turned on their side; anything else cannot be shown
    in a rectangle without resampling, and is refused by the reader.
    """
    degrees = float(rotation or 0.0) % 360.0
    turns = round(degrees / 90.0)
    if abs(degrees - 90.0 * turns) > 1.0:
        raise ValueError(f"display rotation {rotation} degrees is not a multiple of 90")
    return turns % 4


class VideoReader:
    """Frames of one video file, decoded with threads, each once.

    >>> with VideoReader("Ball_001.mp4") as video:          # doctest: +SKIP
    ...     for frame in video.iter_frames(fps=5.0):
    ...         frame.image.shape                             # (H, W, 3) uint8 RGB
    """

    def __init__(self, path: str | os.PathLike, threads: int = 0, max_missing: float = MAX_MISSING) -> None:
        self.path = Path(path)
        self.threads = int(threads)  # decoding threads; 0 lets FFmpeg choose
        self.max_missing = float(max_missing)
        self._live: set[Any] = set()  # containers of iterations still running
        container = self._open()
        try:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            self.fps = float(rate) if rate else 0.0
            if not self.fps > 0:
                raise VideoError(f"{self.path}: the video stream has no frame rate")
            stored = (int(stream.codec_context.height), int(stream.codec_context.width))
            if min(stored) <= 0:
                raise VideoError(f"{self.path}: the video stream has no frame size (got H, W = {stored})")
            self.rotation = self._first_rotation(container, stream)
            try:
                self.quarter_turns = quarter_turns(self.rotation)
            except ValueError as e:
                raise VideoError(f"{self.path}: {e}; it cannot be shown upright without resampling") from None
            self.size = stored if self.quarter_turns % 2 == 0 else stored[::-1]  # as displayed
            self.duration = _duration(container, stream, self.fps)
            self._header_frames = int(stream.frames or 0)
            self.num_frames = self._header_frames or max(1, round(self.duration * self.fps))
        finally:
            container.close()
        # Known after one full pass of frames(): frames decoded, the share missing, irregular intervals.
        self.decoded: int | None = None
        self.missing: float | None = None
        self.variable_rate = False

    def _first_rotation(self, container: Any, stream: Any) -> float:
        """The display rotation of the stream (degrees counter-clockwise), read from its first frame."""
        try:
            for frame in container.decode(stream):
                return float(frame.rotation or 0.0)
        except av.FFmpegError as e:
            raise VideoError(f"{self.path}: its first frame cannot be decoded: {e}") from e
        raise VideoError(f"{self.path}: the video stream holds no frame")

    def facts(self) -> dict[str, Any]:
        """What the manifest records of the source: rate, size, duration, rotation, frames, missing share."""
        return {
            "fps": round(self.fps, 4),
            "size": list(self.size),
            "duration": round(self.duration, 3),
            "rotation": self.rotation,
            "frames_expected": self.num_frames,
            "frames_decoded": self.decoded,
            "missing": None if self.missing is None else round(self.missing, 4),
            "variable_rate": self.variable_rate,
        }

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
        rate = RateWatch(self.fps)
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
                self.variable_rate |= rate.irregular(t)
                yield DecodedFrame(index, t, frame, reformatters, self.quarter_turns)
            self.decoded = decoded
            if self._header_frames:
                self.missing = check_complete(self.path, decoded, self._header_frames, "frames", self.max_missing)
            else:  # MKV, WebM: the container states a duration, not a frame count
                covered = t + 1.0 / self.fps if decoded else 0.0
                self.missing = check_complete(self.path, covered, self.duration, "seconds", self.max_missing)
        finally:
            self._live.discard(container)
            container.close()


class RateWatch:
    """Tells, frame by frame, whether the interval since the previous frame is far from the nominal one."""

    def __init__(self, fps: float) -> None:
        self.step, self.last = 1.0 / fps, None

    def irregular(self, t: float) -> bool:
        last, self.last = self.last, t
        return last is not None and abs((t - last) - self.step) > _VFR_SLACK * self.step


def check_complete(path: Path, got: float, promised: float, unit: str, max_missing: float) -> float:
    """The share of ``promised`` frames (or seconds) that did not decode; above ``max_missing`` an error."""
    if not promised > 0:
        return 0.0
    missing = max(0.0, 1.0 - got / promised)
    if missing > max_missing:
        if unit == "frames":
            what = f"{got:.0f} of the {promised:.0f} frames its header promises"
        else:
            what = f"{got:.2f} s of the {promised:.2f} s its container states"
        raise VideoError(
            f"{path}: decoded only {what} ({missing:.1%} missing, more than the {max_missing:.1%} "
            "extract.max_missing_frames allows); the file is truncated or corrupt"
        )
    return missing


def _duration(container: Any, stream: Any, fps: float) -> float:
    """Seconds, from the stream, else the container, else the frame count."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return (stream.frames or 0) / fps
