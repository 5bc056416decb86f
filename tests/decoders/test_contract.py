"""Every registered decoder keeps the decoder contract: each frame once, in order, timed, converted on demand."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from registry import ConfigError
from tests.data.conftest import make_frames, write_mp4
from zoo.data.decoders import Decoder, import_torchcodec
from zoo.data.video import VideoError
from zoo.kinds import DECODERS

NAMES = DECODERS.names()
# What a decoder needs that the zoo does not install; its test is skipped with this reason where it is missing.
NEEDS = {"torchcodec": import_torchcodec}


def build(name: str) -> Decoder:
    if name in NEEDS:
        try:
            NEEDS[name]()
        except ConfigError as e:
            pytest.skip(f"{name} is optional and not usable here: {e}")
    return DECODERS.build({"type": name})


@pytest.mark.parametrize("name", NAMES)
def test_every_frame_once_in_order_with_its_time(name: str, tmp_path: Path) -> None:
    decoder = pickle.loads(pickle.dumps(build(name)))  # worker processes receive it pickled
    path = write_mp4(tmp_path / "contract.mp4", make_frames(20, 48), fps=10)
    video = decoder.open(path)
    assert (video.fps, video.size, video.num_frames) == (10.0, (48, 48), 20)
    frames = list(video.frames())
    assert [f.index for f in frames] == list(range(20))
    np.testing.assert_allclose([f.time for f in frames], np.arange(20) / 10, atol=1e-3)
    image = frames[5].rgb()
    assert image.dtype == np.uint8 and image.shape == (48, 48, 3)
    assert frames[5].rgb((24, 32)).shape == (24, 32, 3)  # resized by the decoder
    facts = video.facts()
    assert facts["frames_decoded"] == 20 and facts["missing"] == 0.0 and facts["rotation"] == 0
    decoder.share_cores(1)  # what a worker process tells it; it still decodes
    assert len(list(decoder.open(path).frames())) == 20


@pytest.mark.parametrize("name", NAMES)
def test_a_file_that_is_no_video_is_named(name: str, tmp_path: Path) -> None:
    decoder = build(name)
    for content in (b"", b"not a video at all" * 100):
        bad = tmp_path / "Bad_001.mp4"
        bad.write_bytes(content)
        with pytest.raises(VideoError, match="Bad_001.mp4"):
            list(decoder.open(bad).frames())
    with pytest.raises(VideoError, match="does not exist"):
        decoder.open(tmp_path / "missing.mp4")
