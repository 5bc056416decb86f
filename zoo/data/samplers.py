"""Samplers: which decoded frames make each instance (a clip for a video backbone, a frame for an image one).

Every sampler has ``fps`` (the rate it asks ``VideoReader.iter_frames`` for; None = every frame)
and is called as ``sampler(frames, num_frames=None)`` on an iterable of ``Frame``s, yielding
``Instance``s. They stream: at most one clip (plus the overlap a stride needs, or the few context
frames) is held at a time, so a 90-second routine never sits in memory.

>>> sampler = SAMPLERS.build({"type": "clips", "length": 16, "fps": 5.0})   # doctest: +SKIP
>>> with VideoReader(path) as video:                                         # doctest: +SKIP
...     for clip in sampler(video.iter_frames(sampler.fps), video.num_frames):
...         clip.frames.shape                                                # (16, H, W, 3)
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from ..kinds import SAMPLERS

from .video import Frame
from registry import ConfigError

_TIME_EPS = 1e-4  # seconds of slack when comparing frame times with target times


@dataclass
class Instance:
    """One instance of a video: its number, its time in seconds and its frames uint8 [T, H, W, 3]."""

    index: int
    time: float
    frames: np.ndarray


def _positive(name: str, value: float | None, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if value is None or not value > 0:
        raise ConfigError(f"{name} must be positive{' or None' if allow_none else ''}, got {value!r}")


@SAMPLERS.register("clips")
class ClipSampler:
    """Consecutive clips of `length` frames at `fps` (ACTION-NET dynamic stream: 16 frames at 5 fps).

    ``stride`` frames between clip starts (None = ``length``, no overlap). A trailing partial clip
    is dropped, or padded by repeating its last frame when ``pad_last`` is true (also a video
    shorter than one clip then gives one clip). ``Instance.time`` is the time of a clip's first frame.
    """

    def __init__(self, length: int = 16, fps: float | None = 5.0, stride: int | None = None, pad_last: bool = False):
        _positive("clips: length", length)
        _positive("clips: fps", fps, allow_none=True)
        _positive("clips: stride", stride, allow_none=True)
        self.length = int(length)
        self.fps = None if fps is None else float(fps)
        self.stride = self.length if stride is None else int(stride)
        self.pad_last = bool(pad_last)

    def __call__(self, frames: Iterable[Frame], num_frames: int | None = None) -> Iterator[Instance]:
        buffer: deque[Frame] = deque()  # frames from the next clip's start on
        start, count = 0, 0  # position of the next clip's first frame; clips made so far
        covered = 0  # positions below this are in some clip already
        for position, frame in enumerate(frames):
            if position < start:
                continue  # a stride longer than the clip skips frames
            buffer.append(frame)
            if len(buffer) == self.length:
                yield Instance(count, buffer[0].time, np.stack([f.image for f in buffer]))
                count += 1
                covered = position + 1
                start += self.stride
                for _ in range(min(self.stride, len(buffer))):
                    buffer.popleft()
        if self.pad_last and buffer and start + len(buffer) > covered:
            images = [f.image for f in buffer]
            images += [images[-1]] * (self.length - len(images))
            yield Instance(count, buffer[0].time, np.stack(images))

    @property
    def seconds_per_instance(self) -> float | None:
        """Seconds between clip starts (None at the video's own rate, which the sampler does not know)."""
        return self.stride / self.fps if self.fps else None

    def __repr__(self) -> str:
        return f"ClipSampler(length={self.length}, fps={self.fps}, stride={self.stride}, pad_last={self.pad_last})"


class _Context:
    """The last few frames, enough to pick ``context`` frames spaced 1/``context_fps`` before a key frame."""

    def __init__(self, context: int, context_fps: float) -> None:
        if context < 0:
            raise ConfigError(f"context must be >= 0 frames, got {context!r}")
        _positive("context_fps", context_fps)
        self.context = int(context)
        self.step = 1.0 / float(context_fps)
        self.history: deque[Frame] = deque()

    def push(self, frame: Frame) -> None:
        self.history.append(frame)
        # Keep one frame at or before the earliest time a context frame can need.
        oldest = frame.time - self.context * self.step + _TIME_EPS
        while len(self.history) > 1 and self.history[1].time <= oldest:
            self.history.popleft()

    def stack(self, key: Frame) -> np.ndarray:
        """[1 + context, H, W, 3], key frame last; before the video's start the first frame repeats."""
        picked = []
        for j in range(self.context, 0, -1):
            target = key.time - j * self.step + _TIME_EPS
            before = [f for f in self.history if f.time <= target]
            picked.append((before[-1] if before else self.history[0]).image)
        return np.stack([*picked, key.image])


@SAMPLERS.register("frames")
class FrameSampler:
    """Single key frames at `fps` (ACTION-NET static stream: 1 fps), each with `context` earlier frames.

    Each instance holds ``1 + context`` frames, the key frame LAST, the others ``1/context_fps``
    seconds apart before it (so a motion cropper can difference them); at the video's start the
    first frame stands in for the missing ones. The key frame for time k/fps is the first frame at
    or after it. The reader is asked for ``max(fps, context_fps)`` (``self.fps``; the key rate is
    ``self.key_fps``): decoding must touch every frame anyway, and converting only those
    needed to RGB is the cheaper half.
    """

    def __init__(self, fps: float = 1.0, context: int = 1, context_fps: float = 10.0):
        _positive("frames: fps", fps)
        _Context(context, context_fps)  # checks the arguments now, not at the first video
        self.key_fps = float(fps)
        self.context, self.context_fps = int(context), float(context_fps)
        self.fps = max(self.key_fps, self.context_fps) if self.context else self.key_fps

    def __call__(self, frames: Iterable[Frame], num_frames: int | None = None) -> Iterator[Instance]:
        ctx = _Context(self.context, self.context_fps)
        next_key, count = 0.0, 0
        for frame in frames:
            ctx.push(frame)
            if frame.time < next_key - _TIME_EPS:
                continue
            yield Instance(count, frame.time, ctx.stack(frame))
            count += 1
            # The next key time after this frame (a long gap is not filled with repeats).
            next_key = (math.floor(frame.time * self.key_fps + _TIME_EPS * self.key_fps) + 1) / self.key_fps

    @property
    def seconds_per_instance(self) -> float | None:
        return 1.0 / self.key_fps

    def __repr__(self) -> str:
        return f"FrameSampler(fps={self.key_fps}, context={self.context}, context_fps={self.context_fps})"


@SAMPLERS.register("uniform")
class UniformSampler:
    """`count` key frames spread evenly over the whole video (the centre of each of `count` equal parts).

    Needs ``num_frames`` (``VideoReader.num_frames``); it reads every frame (``fps`` is None). When
    the video holds fewer frames than ``num_frames`` promised, the last frame stands in for the
    keys past the end, so there are always ``count`` instances. ``context`` as in ``frames``.
    """

    def __init__(self, count: int = 16, context: int = 1, context_fps: float = 10.0):
        _positive("uniform: count", count)
        self.count = int(count)
        _Context(context, context_fps)  # checks the arguments now, not at the first video
        self.context, self.context_fps = int(context), float(context_fps)
        self.fps = None

    def keys(self, num_frames: int) -> list[int]:
        """Positions of the key frames among ``num_frames``."""
        return [min(num_frames - 1, int((k + 0.5) * num_frames / self.count)) for k in range(self.count)]

    def __call__(self, frames: Iterable[Frame], num_frames: int | None = None) -> Iterator[Instance]:
        if num_frames is None or num_frames < 1:
            raise ValueError(
                f"the uniform sampler needs the number of frames of the video to spread {self.count} keys over, "
                f"got num_frames={num_frames!r}; pass VideoReader.num_frames"
            )
        keys = deque(self.keys(num_frames))
        ctx = _Context(self.context, self.context_fps)
        count, last = 0, None
        for position, frame in enumerate(frames):
            ctx.push(frame)
            last = frame
            while keys and keys[0] == position:
                keys.popleft()
                yield Instance(count, frame.time, ctx.stack(frame))
                count += 1
            if not keys:
                return
        while keys and last is not None:  # the video was shorter than num_frames said
            keys.popleft()
            yield Instance(count, last.time, ctx.stack(last))
            count += 1

    @property
    def seconds_per_instance(self) -> float | None:
        return None  # the spacing depends on each video's length

    def __repr__(self) -> str:
        return f"UniformSampler(count={self.count}, context={self.context}, context_fps={self.context_fps})"
