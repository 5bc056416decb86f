"""Samplers: which decoded frames make each instance (a clip for a video backbone, a frame for an image one).

Every sampler says ``fps`` (the rate of the frames it reads, resampled by timestamps; None = every
frame) and ``seconds_per_instance``. It is fed frame by frame: ``run = sampler.start(num_frames)``,
then ``run.push(frame)`` returns the instances that frame completes and ``run.finish()`` the last
ones, so one decoding of a video feeds every input's sampler at once. At most one clip (plus the
overlap a stride needs, or the few context frames) is held at a time, so a 90-second routine
never sits in memory. ``sampler(frames, num_frames)`` runs it over an iterable of ``Frame``s.

>>> sampler = SAMPLERS.build({"type": "clips", "length": 16, "fps": 5.0})   # doctest: +SKIP
>>> with VideoReader(path) as video:                                         # doctest: +SKIP
...     for clip in sampler(video.iter_frames(sampler.fps), video.num_frames):
...         clip.frames.shape                                                # (16, H, W, 3)
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from registry import ConfigError

from ..kinds import SAMPLERS
from .video import Frame

_TIME_EPS = 1e-4  # seconds of slack when comparing frame times with target times


@dataclass
class Instance:
    """One instance of a video: its number, its time in seconds and its frames uint8 [T, H, W, 3]."""

    index: int
    time: float
    frames: np.ndarray


class Sampling:
    """One video being sampled: ``push(frame) -> [Instance]`` for each frame in order, then ``finish()``."""

    done = False  # true once no later frame can make an instance (the caller may stop decoding for it)

    def push(self, frame: Frame) -> list[Instance]:
        raise NotImplementedError

    def finish(self) -> list[Instance]:
        return []


class Sampler(ABC):
    """The contract of a sampler: ``fps``, ``seconds_per_instance``, and ``start(num_frames) -> Sampling``.

    Built from the recipe's ``sampler:`` keys. ``fps`` is the rate of the frames the sampler reads
    (None: every frame; the extractor resamples by timestamps, the first frame at or after each
    k/fps). ``start(num_frames)`` begins a video (``num_frames``: what its header says, for
    samplers that spread instances over the whole video). Instances hold ``frames`` uint8
    ``[T, H, W, 3]``, the key frame last for single-frame samplers.
    """

    declares: ClassVar[tuple[str, ...]] = ("fps", "seconds_per_instance")  # checked when built
    fps: float | None
    seconds_per_instance: float | None

    @abstractmethod
    def start(self, num_frames: int | None = None) -> Sampling: ...

    def __call__(self, frames: Iterable[Frame], num_frames: int | None = None) -> Iterator[Instance]:
        run = self.start(num_frames)
        for frame in frames:
            yield from run.push(frame)
            if run.done:
                return
        yield from run.finish()


SAMPLERS.contract = Sampler


def _positive(name: str, value: float | None, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if value is None or isinstance(value, bool) or not value > 0:
        raise ConfigError(f"{name} must be positive{' or None' if allow_none else ''}, got {value!r}")


@SAMPLERS.register("clips")
class ClipSampler(Sampler):
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

    @property
    def seconds_per_instance(self) -> float | None:
        """Seconds between clip starts (None at the video's own rate, which the sampler does not know)."""
        return self.stride / self.fps if self.fps else None

    def start(self, num_frames: int | None = None) -> Sampling:
        return _Clips(self)

    def __repr__(self) -> str:
        return f"ClipSampler(length={self.length}, fps={self.fps}, stride={self.stride}, pad_last={self.pad_last})"


class _Clips(Sampling):
    def __init__(self, spec: ClipSampler) -> None:
        self.spec = spec
        self.buffer: deque[Frame] = deque()  # frames from the next clip's start on
        self.position = 0  # of the next frame pushed
        self.start = self.count = 0  # position of the next clip's first frame; clips made so far
        self.covered = 0  # positions below this are in some clip already

    def push(self, frame: Frame) -> list[Instance]:
        position, self.position = self.position, self.position + 1
        if position < self.start:
            return []  # a stride longer than the clip skips frames
        self.buffer.append(frame)
        if len(self.buffer) < self.spec.length:
            return []
        clip = Instance(self.count, self.buffer[0].time, np.stack([f.image for f in self.buffer]))
        self.count += 1
        self.covered = position + 1
        self.start += self.spec.stride
        for _ in range(min(self.spec.stride, len(self.buffer))):
            self.buffer.popleft()
        return [clip]

    def finish(self) -> list[Instance]:
        if not (self.spec.pad_last and self.buffer and self.start + len(self.buffer) > self.covered):
            return []
        images = [f.image for f in self.buffer]
        images += [images[-1]] * (self.spec.length - len(images))
        return [Instance(self.count, self.buffer[0].time, np.stack(images))]


class _Context:
    """The last few frames, enough to pick ``context`` frames spaced 1/``context_fps`` before a key frame."""

    def __init__(self, context: int, context_fps: float) -> None:
        if isinstance(context, bool) or not isinstance(context, int) or context < 0:
            raise ConfigError(f"context must be an integer >= 0 (frames), got {context!r}")
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
class FrameSampler(Sampler):
    """Single key frames at `fps` (ACTION-NET static stream: 1 fps), each with `context` earlier frames.

    Each instance holds ``1 + context`` frames, the key frame LAST, the others ``1/context_fps``
    seconds apart before it (so a motion cropper can difference them); at the video's start the
    first frame stands in for the missing ones. The key frame for time k/fps is the first frame at
    or after it. It reads ``max(fps, context_fps)`` (``self.fps``; the key rate is ``self.key_fps``).
    """

    def __init__(self, fps: float = 1.0, context: int = 1, context_fps: float = 10.0):
        _positive("frames: fps", fps)
        _Context(context, context_fps)  # checks the arguments now, not at the first video
        self.key_fps = float(fps)
        self.context, self.context_fps = int(context), float(context_fps)
        self.fps = max(self.key_fps, self.context_fps) if self.context else self.key_fps

    @property
    def seconds_per_instance(self) -> float | None:
        return 1.0 / self.key_fps

    def start(self, num_frames: int | None = None) -> Sampling:
        return _Keys(self)

    def __repr__(self) -> str:
        return f"FrameSampler(fps={self.key_fps}, context={self.context}, context_fps={self.context_fps})"


class _Keys(Sampling):
    def __init__(self, spec: FrameSampler) -> None:
        self.spec = spec
        self.ctx = _Context(spec.context, spec.context_fps)
        self.next_key, self.count = 0.0, 0

    def push(self, frame: Frame) -> list[Instance]:
        self.ctx.push(frame)
        if frame.time < self.next_key - _TIME_EPS:
            return []
        key = Instance(self.count, frame.time, self.ctx.stack(frame))
        self.count += 1
        # The next key time after this frame (a long gap is not filled with repeats).
        rate = self.spec.key_fps
        self.next_key = (math.floor(frame.time * rate + _TIME_EPS * rate) + 1) / rate
        return [key]


@SAMPLERS.register("uniform")
class UniformSampler(Sampler):
    """`count` key frames spread evenly over the whole video (the centre of each of `count` equal parts).

    Needs ``num_frames`` (what the video's header says); it reads every frame (``fps`` is None). When
    the video holds fewer frames than ``num_frames`` promised, the last frame stands in for the
    keys past the end, so there are always ``count`` instances. ``context`` as in ``frames``.
    """

    def __init__(self, count: int = 16, context: int = 1, context_fps: float = 10.0):
        _positive("uniform: count", count)
        self.count = int(count)
        _Context(context, context_fps)  # checks the arguments now, not at the first video
        self.context, self.context_fps = int(context), float(context_fps)
        self.fps = None

    @property
    def seconds_per_instance(self) -> float | None:
        return None  # the spacing depends on each video's length

    def keys(self, num_frames: int) -> list[int]:
        """Positions of the key frames among ``num_frames``."""
        return [min(num_frames - 1, int((k + 0.5) * num_frames / self.count)) for k in range(self.count)]

    def start(self, num_frames: int | None = None) -> Sampling:
        if num_frames is None or num_frames < 1:
            raise ValueError(
                f"the uniform sampler needs the number of frames of the video to spread {self.count} keys over, "
                f"got num_frames={num_frames!r}; pass VideoReader.num_frames"
            )
        return _Uniform(self, num_frames)

    def __repr__(self) -> str:
        return f"UniformSampler(count={self.count}, context={self.context}, context_fps={self.context_fps})"


class _Uniform(Sampling):
    def __init__(self, spec: UniformSampler, num_frames: int) -> None:
        self.keys = deque(spec.keys(num_frames))
        self.ctx = _Context(spec.context, spec.context_fps)
        self.position, self.count, self.last = 0, 0, None

    @property
    def done(self) -> bool:  # type: ignore[override]
        return not self.keys

    def push(self, frame: Frame) -> list[Instance]:
        position, self.position = self.position, self.position + 1
        self.ctx.push(frame)
        self.last = frame
        out = []
        while self.keys and self.keys[0] == position:
            self.keys.popleft()
            out.append(Instance(self.count, frame.time, self.ctx.stack(frame)))
            self.count += 1
        return out

    def finish(self) -> list[Instance]:
        out = []
        while self.keys and self.last is not None:  # the video was shorter than num_frames said
            self.keys.popleft()
            out.append(Instance(self.count, self.last.time, self.ctx.stack(self.last)))
            self.count += 1
        return out
