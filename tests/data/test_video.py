"""VideoReader on tiny MP4s written by PyAV, and on broken files."""

from __future__ import annotations

import gc
import itertools
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest

from zoo.data.video import Frame, VideoError, VideoReader


def test_metadata(tiny_mp4: Path) -> None:
    with VideoReader(tiny_mp4) as video:
        assert video.fps == pytest.approx(25.0)
        assert video.duration == pytest.approx(3.0, abs=0.05)
        assert video.num_frames == 75
        assert video.size == (64, 64)
        assert "tiny.mp4" in repr(video)


def test_every_frame(tiny_mp4: Path, square_box: Callable[..., tuple[int, int, int, int]]) -> None:
    with VideoReader(tiny_mp4) as video:
        frames = list(video.iter_frames())
    assert len(frames) == 75
    assert [f.index for f in frames] == list(range(75))
    assert [f.time for f in frames] == pytest.approx([i / 25 for i in range(75)], abs=1e-3)
    image = frames[10].image
    assert isinstance(frames[10], Frame) and image.shape == (64, 64, 3) and image.dtype == np.uint8
    # RGB content survives the H.264 round trip: the bright square is where it was drawn.
    x0, y0, x1, y1 = square_box(10, 64)
    assert image[y0 + 2 : y1 - 2, x0 + 2 : x1 - 2].min() > 200
    assert image[y1 + 4 :, :].max() < 160


@pytest.mark.parametrize(("fps", "expected"), [(5.0, 15), (1.0, 3), (2.5, 8), (10.0, 30), (100.0, 75)])
def test_resampled_frame_counts(tiny_mp4: Path, fps: float, expected: int) -> None:
    with VideoReader(tiny_mp4) as video:
        frames = list(video.iter_frames(fps=fps))
    assert abs(len(frames) - expected) <= 1
    times = [f.time for f in frames]
    assert times[0] == 0.0 and all(b > a for a, b in itertools.pairwise(times))
    if fps <= 25:  # the first frame at or after each target time k/fps
        for k, t in enumerate(times):
            assert k / fps - 1e-3 <= t < k / fps + 1 / 25


def test_five_fps_picks_every_fifth_frame(tiny_mp4: Path) -> None:
    with VideoReader(tiny_mp4) as video:
        assert [f.index for f in video.iter_frames(fps=5.0)] == list(range(0, 75, 5))
        # A second iteration of the same reader starts over.
        assert len(list(video.iter_frames(fps=5.0))) == 15


def test_bad_fps(tiny_mp4: Path) -> None:
    with pytest.raises(ValueError, match="fps must be positive"):
        VideoReader(tiny_mp4).iter_frames(fps=0)


def test_abandoned_iteration_closes_its_container(tiny_mp4: Path) -> None:
    video = VideoReader(tiny_mp4)
    frames = video.iter_frames()
    next(frames)
    assert len(video._live) == 1
    del frames
    gc.collect()
    assert not video._live
    with VideoReader(tiny_mp4) as video:
        frames = video.iter_frames()
        next(frames)
        (container,) = video._live
    assert not video._live
    with pytest.raises(AssertionError, match="not open"):  # closed for real: nothing can be read any more
        next(container.demux())


# -- broken files: every one is a VideoError naming the file ----------------------------------------


def _check_error(path: Path, match: str) -> None:
    with pytest.raises(VideoError, match=match) as info, VideoReader(path) as video:
        for _ in video.iter_frames():
            pass
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    _check_error(tmp_path / "Ball_404.mp4", "does not exist")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    _check_error(path, "empty")


def test_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "random.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 20_000, dtype=np.uint8).tobytes())
    _check_error(path, "cannot open")


def test_text_file_is_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("Ball_001 10.5 8.3 18.8 0 92\n" * 100)
    _check_error(path, "cannot open")


def test_no_video_stream(tmp_path: Path) -> None:
    path = tmp_path / "sound.wav"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.rate = 8000
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    _check_error(path, "no video stream.*audio")


@pytest.mark.parametrize("faststart", [False, True], ids=["index-at-end", "index-first"])
def test_truncated_file(make_video: Callable[..., Path], tmp_path: Path, faststart: bool) -> None:
    whole = make_video(f"whole_{faststart}.mp4", faststart=faststart).read_bytes()
    path = tmp_path / "half.mp4"
    path.write_bytes(whole[: len(whole) // 2])
    _check_error(path, "truncated|cannot open|corrupt")


def test_garbage_inside_the_stream(make_video: Callable[..., Path], tmp_path: Path) -> None:
    data = bytearray(make_video("to_corrupt.mp4", faststart=True).read_bytes())
    start = len(data) // 3
    data[start : start + 2000] = np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8).tobytes()
    path = tmp_path / "corrupt.mp4"
    path.write_bytes(bytes(data))
    _check_error(path, "decoding failed after [0-9]+ frames")
