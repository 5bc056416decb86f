"""Samplers on lists of synthetic Frames and on a tiny MP4 read by VideoReader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from zoo.data.samplers import ClipSampler, FrameSampler, Instance, UniformSampler
from zoo.data.video import Frame, VideoReader
from zoo.kinds import SAMPLERS


def frames_at(fps: float, count: int) -> list[Frame]:
    """Frames whose single pixel holds their own number, so a test can tell which frames were kept."""
    return [Frame(i, i / fps, np.full((2, 3, 3), i, np.uint8)) for i in range(count)]


def ids(instance: Instance) -> list[int]:
    return [int(image[0, 0, 0]) for image in instance.frames]


# -- clips -----------------------------------------------------------------------------------------


def test_clips_non_overlapping_drop_partial() -> None:
    clips = list(ClipSampler(length=4, fps=5.0)(frames_at(5.0, 10)))
    assert [ids(c) for c in clips] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert [c.index for c in clips] == [0, 1]
    assert [c.time for c in clips] == pytest.approx([0.0, 0.8])
    assert clips[0].frames.shape == (4, 2, 3, 3) and clips[0].frames.dtype == np.uint8


def test_clips_pad_last() -> None:
    clips = list(ClipSampler(length=4, pad_last=True)(frames_at(5.0, 10)))
    assert [ids(c) for c in clips] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 9, 9]]
    # Exactly filled: nothing to pad.
    assert len(list(ClipSampler(length=5, pad_last=True)(frames_at(5.0, 10)))) == 2
    # Shorter than one clip: one padded clip, or none.
    assert [ids(c) for c in ClipSampler(length=4, pad_last=True)(frames_at(5.0, 2))] == [[0, 1, 1, 1]]
    assert list(ClipSampler(length=4)(frames_at(5.0, 3))) == []
    assert list(ClipSampler(length=4, pad_last=True)([])) == []


def test_clips_overlapping_stride() -> None:
    clips = list(ClipSampler(length=4, stride=2)(frames_at(5.0, 9)))
    assert [ids(c) for c in clips] == [[0, 1, 2, 3], [2, 3, 4, 5], [4, 5, 6, 7]]
    padded = list(ClipSampler(length=4, stride=2, pad_last=True)(frames_at(5.0, 9)))
    assert ids(padded[-1]) == [6, 7, 8, 8]  # frame 8 was in no clip yet
    # The overlap after the last full clip holds no new frame: no padded clip.
    assert len(list(ClipSampler(length=4, stride=2, pad_last=True)(frames_at(5.0, 8)))) == 3


def test_clips_stride_longer_than_clip_skips_frames() -> None:
    clips = list(ClipSampler(length=2, stride=5)(frames_at(5.0, 12)))
    assert [ids(c) for c in clips] == [[0, 1], [5, 6], [10, 11]]
    assert [c.time for c in clips] == pytest.approx([0.0, 1.0, 2.0])


def test_clips_stream_lazily() -> None:
    consumed = []

    def source():
        for f in frames_at(5.0, 100):
            consumed.append(f.index)
            yield f

    first = next(iter(ClipSampler(length=4)(source())))
    assert ids(first) == [0, 1, 2, 3] and len(consumed) == 4


def test_clip_arguments_checked() -> None:
    for bad in ({"length": 0}, {"stride": 0}, {"fps": -1.0}):
        with pytest.raises(ValueError, match="must be positive"):
            ClipSampler(**bad)
    assert ClipSampler(fps=None).fps is None


# -- frames ----------------------------------------------------------------------------------------


def test_frames_key_rate_and_context_from_every_frame() -> None:
    sampler = FrameSampler(fps=1.0, context=2, context_fps=10.0)
    assert sampler.fps == 10.0 and sampler.key_fps == 1.0
    items = list(sampler(frames_at(25.0, 75)))  # 3 s of every frame at 25 fps
    assert [i.time for i in items] == pytest.approx([0.0, 1.0, 2.0])
    assert [i.index for i in items] == [0, 1, 2]
    # Key last; context 0.1 s and 0.2 s earlier (frames 2.5 and 5 before, rounded down in time).
    assert ids(items[1]) == [20, 22, 25] and ids(items[2]) == [45, 47, 50]
    assert ids(items[0]) == [0, 0, 0]  # before the start the first frame stands in
    assert items[1].frames.shape == (3, 2, 3, 3)


def test_frames_from_reader_rate() -> None:
    # The rate the sampler asks for: 10 fps, context frames are the neighbours.
    sampler = FrameSampler(fps=2.0, context=1, context_fps=10.0)
    items = list(sampler(frames_at(sampler.fps, 20)))
    assert [ids(i) for i in items] == [[0, 0], [4, 5], [9, 10], [14, 15]]


def test_frames_without_context() -> None:
    sampler = FrameSampler(fps=5.0, context=0)
    assert sampler.fps == 5.0
    items = list(sampler(frames_at(25.0, 26)))
    assert [ids(i) for i in items] == [[0], [5], [10], [15], [20], [25]]


def test_frames_gap_is_not_filled_with_repeats() -> None:
    frames = [*frames_at(10.0, 5), Frame(5, 3.05, np.full((2, 3, 3), 5, np.uint8))]
    items = list(FrameSampler(fps=1.0, context=0)(frames))
    assert [i.time for i in items] == pytest.approx([0.0, 3.05])


# -- uniform ---------------------------------------------------------------------------------------


def test_uniform_keys_and_context() -> None:
    sampler = UniformSampler(count=4, context=1, context_fps=5.0)
    assert sampler.fps is None
    items = list(sampler(frames_at(25.0, 100), num_frames=100))
    assert [ids(i)[-1] for i in items] == [12, 37, 62, 87]
    assert [ids(i) for i in items][1] == [32, 37]  # 0.2 s before the key at 25 fps
    assert [i.index for i in items] == [0, 1, 2, 3]


def test_uniform_stops_reading_after_the_last_key() -> None:
    consumed = []

    def source():
        for f in frames_at(25.0, 100):
            consumed.append(f.index)
            yield f

    list(UniformSampler(count=2, context=0)(source(), num_frames=100))
    assert consumed[-1] == 75


def test_uniform_more_keys_than_frames_and_short_video() -> None:
    items = list(UniformSampler(count=5, context=0)(frames_at(25.0, 3), num_frames=3))
    assert [ids(i) for i in items] == [[0], [0], [1], [2], [2]]
    # The header promised 100 frames, the video holds 50: keys past the end take the last frame.
    items = list(UniformSampler(count=4, context=0)(frames_at(25.0, 50), num_frames=100))
    assert [ids(i) for i in items] == [[12], [37], [49], [49]]


def test_uniform_needs_num_frames() -> None:
    with pytest.raises(ValueError, match=r"needs the number of frames.*VideoReader.num_frames"):
        list(UniformSampler()(frames_at(25.0, 10)))


# -- registry and a real video ------------------------------------------------------------------


def test_registered_with_keyword_arguments() -> None:
    sampler = SAMPLERS.build({"type": "clips", "length": 8, "fps": 5.0, "stride": 4, "pad_last": True})
    assert isinstance(sampler, ClipSampler) and sampler.stride == 4
    assert isinstance(SAMPLERS.build({"type": "frames", "context": 0}), FrameSampler)
    assert isinstance(SAMPLERS.build({"type": "uniform", "count": 3}), UniformSampler)


def test_samplers_on_a_real_video(tiny_mp4: Path) -> None:
    with VideoReader(tiny_mp4) as video:
        clips = ClipSampler(length=4, fps=5.0)
        items = list(clips(video.iter_frames(clips.fps), video.num_frames))
        assert len(items) == 3  # 15 frames at 5 fps -> 3 clips of 4, 3 frames dropped
        assert items[0].frames.shape == (4, 64, 64, 3) and items[0].frames.dtype == np.uint8
        assert [i.time for i in items] == pytest.approx([0.0, 0.8, 1.6], abs=1e-3)

        keys = FrameSampler(fps=1.0, context=1, context_fps=10.0)
        items = list(keys(video.iter_frames(keys.fps), video.num_frames))
        assert [i.time for i in items] == pytest.approx([0.0, 1.0, 2.0], abs=1e-3)
        assert items[1].frames.shape == (2, 64, 64, 3)
        # The context frame differs from the key frame: the square moved.
        assert np.abs(items[1].frames[0].astype(int) - items[1].frames[1]).max() > 100

        uniform = UniformSampler(count=5, context=1)
        items = list(uniform(video.iter_frames(uniform.fps), video.num_frames))
        assert [i.time for i in items] == pytest.approx([0.28, 0.88, 1.48, 2.08, 2.68], abs=1e-3)
