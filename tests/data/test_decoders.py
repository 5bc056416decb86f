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


@pytest.mark.parametrize("decoder", ["pyav", "torchcodec"])
def test_every_decoder_tells_a_short_file_from_a_corrupt_one(decoder: str, tmp_path: Path) -> None:
    """Cut at a packet boundary 5% short: counted against max_missing_frames; garbage mid-file: a failure."""
    import av

    from tests.data.conftest import make_frames, write_mp4

    if decoder == "torchcodec":
        torchcodec_or_skip()
    whole = write_mp4(tmp_path / "whole.mp4", make_frames(200, 64), fps=25, faststart=True)
    with av.open(str(whole)) as container:
        starts = [p.pos for p in container.demux(container.streams.video[0]) if p.size]
    short = tmp_path / "short.mp4"
    short.write_bytes(whole.read_bytes()[: starts[190]])
    build = DECODERS.build({"type": decoder})
    video = build.open(short, max_missing=0.1)
    assert len(list(video.frames())) == 190 and video.missing == pytest.approx(0.05)
    with pytest.raises(VideoError, match="decoded only 190 of the 200 frames its header promises"):
        list(build.open(short).frames())  # the default tolerance (2%) refuses it
    data = bytearray(whole.read_bytes())
    data[len(data) // 3 : len(data) // 3 + 2000] = bytes(2000)
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(bytes(data))
    with pytest.raises(VideoError, match=r"decoding failed after \d+ frames"):
        list(build.open(corrupt, max_missing=0.9).frames())  # however lenient: a decode error is not a short file
