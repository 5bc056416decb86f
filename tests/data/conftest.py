"""Shared fixtures for the data tests: tiny videos written with PyAV, the real annotation files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import torch

ANNOTATIONS = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "annotations"

SQUARE = 12  # side of the bright moving square, pixels


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """One torch thread for an extraction module (``pytestmark = pytest.mark.usefixtures("one_thread")``): on a
    shared 2-core machine an OpenMP team of two spins on a busy core (slow, erratic)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def sharded_like_full_run(cfg: dict[str, Any], videos: Path, full: Path, names: list[str], out: Path) -> None:
    """Two ranks (torchrun's RANK/WORLD_SIZE) extract ``videos`` into ``out``: each takes its share and keeps its
    own log, one manifest lists every video, and every input's features are those of the one-process run ``full``."""
    from zoo.data.extract import extract_features, read_manifest

    reports = [extract_features(cfg, videos, out, rank=r, world=2, progress=False) for r in (0, 1)]
    assert reports[0].done == names[0::2] and reports[1].done == names[1::2]
    for name in names:
        for key in cfg["inputs"]:
            np.testing.assert_allclose(
                np.load(out / key / f"{name}.npy"), np.load(full / key / f"{name}.npy"), atol=1e-5
            )
    assert set(read_manifest(out)["videos"]) == set(names)
    assert (out / "extract.rank0.json").exists() and (out / "extract.rank1.json").exists()
    assert not list(out.rglob("*.tmp"))


def workers_like_full_run(cfg: dict[str, Any], videos: Path, full: Path, names: list[str]) -> None:
    """Two worker processes give the features of the one-process run ``full``."""
    from zoo.data.extract import Extractor

    results = list(Extractor(cfg, workers=2).stream([videos / f"{name}.mp4" for name in names]))
    assert [r.error for r in results] == [None] * len(names)
    for name, result in zip(names, results):
        for key in cfg["inputs"]:
            np.testing.assert_allclose(result.features[key], np.load(full / key / f"{name}.npy"), atol=1e-5)


def square_position(i: int, size: int) -> tuple[int, int]:
    """Top-left (x, y) of the bright square in frame ``i``: 1.5 px per frame to the right, bouncing."""
    span = size - SQUARE
    x = int(1.5 * i) % (2 * span)
    return (x if x <= span else 2 * span - x), size // 3


def make_frames(count: int, size: int = 64, seed: int = 0) -> np.ndarray:
    """uint8 [count, size, size, 3]: a bright square moving over a dark textured background."""
    rng = np.random.default_rng(seed)
    background = rng.integers(0, 100, (size // 8, size // 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    frames = np.repeat(background[None], count, axis=0)
    for i in range(count):
        x, y = square_position(i, size)
        frames[i, y : y + SQUARE, x : x + SQUARE] = 255
    return frames


def write_mp4(path: Path, frames: np.ndarray, fps: int = 25, faststart: bool = False) -> Path:
    """H.264 (libx264, yuv420p) MP4 with proper pts; ``faststart`` puts the index before the data."""
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "18"}
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


@pytest.fixture(scope="session")
def square_box() -> Callable[[int, int], tuple[int, int, int, int]]:
    """``square_box(i, size)`` -> (x0, y0, x1, y1) of the bright square in frame ``i`` of ``make_frames``."""

    def box(i: int, size: int = 64) -> tuple[int, int, int, int]:
        x, y = square_position(i, size)
        return x, y, x + SQUARE, y + SQUARE

    return box


@pytest.fixture(scope="session")
def moving_frames() -> Callable[..., np.ndarray]:
    """``moving_frames(count, size=64)`` -> uint8 [count, size, size, 3], the frames of the tiny videos."""
    return make_frames


@pytest.fixture(scope="session")
def make_video(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``make_video(name, seconds=3.0, fps=25, size=64, faststart=False)`` -> path of a new tiny MP4."""
    folder = tmp_path_factory.mktemp("videos")

    def make(name: str, seconds: float = 3.0, fps: int = 25, size: int = 64, faststart: bool = False) -> Path:
        return write_mp4(folder / name, make_frames(round(seconds * fps), size), fps, faststart)

    return make


@pytest.fixture(scope="session")
def tiny_mp4(make_video: Callable[..., Path]) -> Path:
    """64x64, 25 fps, 3 s (75 frames) H.264 MP4 of a bright square moving over a textured background."""
    return make_video("tiny.mp4")


@pytest.fixture(scope="session")
def annotations_dir() -> Path:
    if not ANNOTATIONS.is_dir():
        pytest.fail(f"the reference annotations are missing: expected them at {ANNOTATIONS}")
    return ANNOTATIONS
