"""Decoders: PyAV (the default) and the optional TorchCodec, which must give the same frames and features."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from registry import ConfigError
from zoo.data.decoders import PyAVDecoder, import_torchcodec
from zoo.data.video import VideoError
from zoo.kinds import DECODERS


def torchcodec_or_skip() -> None:
    try:
        import_torchcodec()
    except ConfigError as e:
        pytest.skip(f"torchcodec is optional and not usable here: {e}")


def test_pyav_is_the_default_and_checks_its_arguments(tiny_mp4: Path) -> None:
    decoder = DECODERS.build({"type": "pyav"})
    video = decoder.open(tiny_mp4)
    frames = list(video.frames())
    assert len(frames) == video.num_frames == 75 and frames[10].rgb().shape == (64, 64, 3)
    assert frames[10].rgb((32, 48)).shape == (32, 48, 3)  # resized by FFmpeg's scaler
    with pytest.raises(ConfigError, match="threads must be an integer >= 0"):
        PyAVDecoder(threads=-1)
    with pytest.raises(VideoError, match="does not exist"):
        decoder.open(tiny_mp4.with_name("missing.mp4"))


def test_torchcodec_gives_the_frames_pyav_gives(tiny_mp4: Path) -> None:
    torchcodec_or_skip()
    ours = [f.rgb() for f in PyAVDecoder().open(tiny_mp4).frames()]
    video = DECODERS.build({"type": "torchcodec"}).open(tiny_mp4)
    theirs = list(video.frames())
    assert len(theirs) == len(ours) and video.fps == pytest.approx(25.0)
    assert [f.time for f in theirs] == pytest.approx([i / 25 for i in range(len(ours))], abs=1e-3)
    worst = max(np.abs(a.astype(int) - b.rgb().astype(int)).max() for a, b in zip(ours, theirs))
    assert worst <= 2  # the same FFmpeg decode; colour conversion may round differently
    assert theirs[0].rgb((32, 32)).shape == (32, 32, 3)


def test_torchcodec_features_match_pyav_features(make_video: Callable[..., Path], tmp_path: Path) -> None:
    torchcodec_or_skip()
    from tests.data.test_extract import CFG
    from zoo.data.extract import Extractor

    video = make_video("decoders.mp4", seconds=3.0, fps=10)
    pyav = Extractor(CFG, workers=0).video(video)
    codec = Extractor({**CFG, "decoder": {"type": "torchcodec"}}, workers=0).video(video)
    for key in pyav:
        a, b = pyav[key], codec[key]
        cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        assert a.shape == b.shape and cos.min() >= 0.99, (key, cos)
