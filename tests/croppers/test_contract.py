"""Every registered cropper keeps the cropper contract: a crop of the key frame, counted, and picklable."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from tests.data.conftest import make_frames
from zoo.data.croppers import Cropper
from zoo.kinds import CROPPERS

NAMES = CROPPERS.names()


@pytest.mark.parametrize("name", NAMES)
def test_a_crop_comes_from_the_key_frame_and_is_counted(name: str) -> None:
    cropper = CROPPERS.build({"type": name})
    assert isinstance(cropper, Cropper)
    video = make_frames(12, 160)  # a bright square moving over a textured background
    cropper.start_video()
    for t in range(2, len(video)):
        frames = video[t - 2 : t + 1]  # two context frames, the key frame last
        crop = cropper(frames)
        assert crop.dtype == np.uint8 and crop.ndim == 3 and crop.shape[2] == 3 and min(crop.shape[:2]) > 0
        key = frames[-1]
        h, w = crop.shape[:2]
        # The crop is a window of the key frame (not of a context frame, not resized).
        found = any(
            np.array_equal(key[y : y + h, x : x + w], crop)
            for y in range(key.shape[0] - h + 1)
            for x in range(key.shape[1] - w + 1)
        )
        assert found, f"{name}: the crop is not a window of the key frame"
    stats = cropper.stats
    assert stats["frames"] == len(video) - 2 and 0 <= stats["fallbacks"] <= stats["frames"]
    assert cropper.summary().startswith(f"{cropper.name} cropper")


@pytest.mark.parametrize("name", NAMES)
def test_a_cropper_crops_alike_after_pickling(name: str) -> None:
    """Worker processes receive croppers pickled; each crops as the original would."""
    cropper = CROPPERS.build({"type": name})
    copy = pickle.loads(pickle.dumps(cropper))
    frames = make_frames(3, 160)
    assert np.array_equal(cropper(frames), copy(frames))
