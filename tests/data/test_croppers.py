"""Croppers on synthetic frames with a moving bright figure."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest

from registry import ConfigError
from zoo.data import croppers
from zoo.data.croppers import CenterCropper, HogCropper, MotionCropper, WholeFrame, expand_box
from zoo.kinds import CROPPERS


def figure_frames(positions: list[tuple[int, int]], size: tuple[int, int] = (120, 160), seed: int = 0) -> np.ndarray:
    """A 10x30 bright 'athlete' at each (x, y) over the same noisy textured background."""
    rng = np.random.default_rng(seed)
    h, w = size
    background = rng.integers(20, 90, (h, w, 3), dtype=np.uint8)
    frames = np.repeat(background[None], len(positions), axis=0)
    for frame, (x, y) in zip(frames, positions):
        frame[y : y + 30, x : x + 10] = (250, 240, 230)
    return frames


def contains(outer: tuple[int, int, int, int], inner: tuple[int, int, int, int]) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and outer[2] >= inner[2] and outer[3] >= inner[3]


def locate(crop: np.ndarray, frame: np.ndarray) -> tuple[int, int, int, int]:
    """Where ``crop`` was cut from ``frame`` (the texture makes the match unique)."""
    scores = cv2.matchTemplate(frame, crop, cv2.TM_SQDIFF)
    _, _, (x, y), _ = cv2.minMaxLoc(scores)
    h, w = crop.shape[:2]
    assert np.array_equal(frame[y : y + h, x : x + w], crop)
    return x, y, x + w, y + h


# -- none / center ---------------------------------------------------------------------------------


def test_none_returns_the_whole_key_frame() -> None:
    frames = figure_frames([(10, 10), (40, 50)])
    cropper = WholeFrame()
    out = cropper(frames)
    assert np.array_equal(out, frames[-1]) and out.dtype == np.uint8
    assert cropper.stats == {"frames": 1, "fallbacks": 0, "kept": 0}
    assert cropper.summary() == "none cropper: 1 frames"


def test_center_crop_size() -> None:
    frames = figure_frames([(0, 0)], size=(100, 200))
    out = CenterCropper(fraction=0.5)(frames)
    assert out.shape == (50, 50, 3)
    assert locate(out, frames[-1]) == (75, 25, 125, 75)
    assert CenterCropper()(frames[0]).shape == (80, 80, 3)  # one frame [H, W, 3] works too
    with pytest.raises(ValueError, match="fraction"):
        CenterCropper(fraction=1.5)


# -- motion ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("step", [2, 6, 15])
def test_motion_crop_contains_the_figure(step: int) -> None:
    x, y = 70, 40
    frames = figure_frames([(x - 2 * step, y), (x - step, y + 1), (x, y)])
    cropper = MotionCropper()
    crop = cropper(frames)
    box = locate(crop, frames[-1])
    assert contains(box, (x, y, x + 10, y + 30))
    assert crop.shape[0] == crop.shape[1]  # square
    assert crop.shape[0] < frames.shape[1] and crop.shape[0] * crop.shape[1] < 0.5 * 120 * 160
    assert cropper.stats == {"frames": 1, "fallbacks": 0, "kept": 0}


def test_motion_square_off_and_margin() -> None:
    x, y = 70, 40
    frames = figure_frames([(x - 10, y), (x, y)])
    box = locate(MotionCropper(margin=0.0, square=False)(frames), frames[-1])
    # Differencing finds the figure's old and new places: x from 60 to 80, y from 40 to 70.
    assert box == (60, 40, 80, 70)
    wide = locate(MotionCropper(margin=0.5, square=False)(frames), frames[-1])
    assert wide == (50, 25, 90, 85)


def test_motion_falls_back_when_nothing_moves(moving_frames: Callable[..., np.ndarray]) -> None:
    cropper = MotionCropper()
    still = figure_frames([(30, 30), (30, 30)])
    assert np.array_equal(cropper(still), still[-1])
    one = figure_frames([(30, 30)])
    assert np.array_equal(cropper(one), one[-1])
    # Noise under the threshold and a speck under min_area do not count either.
    noisy = still.copy()
    noisy[0] = np.clip(noisy[0].astype(int) + np.random.default_rng(1).integers(-15, 16, noisy[0].shape), 0, 255)
    noisy[0, 5:7, 5:7] = 255
    assert np.array_equal(cropper(noisy), noisy[-1])
    moving = moving_frames(10)[[2, 8]]
    cropper(moving)
    assert cropper.stats == {"frames": 4, "fallbacks": 3, "kept": 0}
    assert cropper.summary() == "motion cropper: fell back to the whole frame on 3 of 4 frames (75.0%)"
    cropper.reset()
    assert cropper.stats == {"frames": 0, "fallbacks": 0, "kept": 0}


def test_motion_on_the_video_frames(moving_frames: Callable[..., np.ndarray], square_box) -> None:
    frames = moving_frames(20)
    crop = MotionCropper()(frames[[12, 15]])
    assert contains(locate(crop, frames[15]), square_box(15))
    assert crop.shape[0] < 64


def test_bad_input_names_the_cropper() -> None:
    with pytest.raises(ValueError, match=r"motion cropper: expected frames uint8 \[T, H, W, 3\].*float32"):
        MotionCropper()(np.zeros((2, 8, 8, 3), np.float32))


# -- hog -------------------------------------------------------------------------------------------


class FakeDetector:
    """Stands in for cv2.HOGDescriptor: returns fixed (x, y, w, h) boxes and weights."""

    def __init__(self, rects: list[tuple[int, int, int, int]], weights: list[float]) -> None:
        self.rects, self.weights, self.calls = rects, weights, []

    def detectMultiScale(self, image: np.ndarray, **kwargs: object) -> tuple[np.ndarray, np.ndarray]:
        self.calls.append(image.shape)
        return np.array(self.rects, dtype=np.int32).reshape(-1, 4), np.array(self.weights).reshape(-1, 1)


def test_hog_uses_the_best_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDetector([(10, 10, 20, 40), (100, 40, 40, 80)], [0.3, 1.2])
    monkeypatch.setattr(croppers, "_people_detector", lambda: fake)
    frames = figure_frames([(0, 0)], size=(200, 300))
    cropper = HogCropper(margin=0.25, square=False)
    box = locate(cropper(frames), frames[-1])
    assert box == (90, 20, 150, 140)  # (100, 40)-(140, 120) grown by a quarter of its size per side
    square = locate(HogCropper(margin=0.0)(frames), frames[-1])
    assert square == (80, 40, 160, 120)
    assert cropper.stats == {"frames": 1, "fallbacks": 0, "kept": 0}


def test_hog_works_at_the_scale_the_person_size_asks_and_maps_boxes_back(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDetector([(40, 20, 64, 128)], [1.0])
    monkeypatch.setattr(croppers, "_people_detector", lambda: fake)
    frames = figure_frames([(0, 0)], size=(80, 100))
    # An athlete 0.8 of an 80-pixel frame is 64 px tall: the copy is enlarged 2x, to the 128-pixel window.
    cropper = HogCropper(person_height=0.8, margin=0.0, square=False)
    assert locate(cropper(frames), frames[-1]) == (20, 10, 52, 74)
    assert fake.calls == [(160, 200, 3)]
    # Without a person height, an 80-pixel-high frame is under the 128-pixel window: a fallback, no call.
    small = HogCropper()
    assert np.array_equal(small(frames), frames[-1]) and small.stats["fallbacks"] == 1 and len(fake.calls) == 1
    # The demo's figure, a third of a 128-pixel frame: the 3x copy it always had (384 px), identical boxes.
    assert HogCropper(person_height=0.3333).working_size(128, 128) == (384, 384)
    # The same figure in a 720-pixel frame is searched at the same 384 px, not enlarged 3x to 2160.
    assert HogCropper(person_height=0.3333).working_size(720, 720) == (384, 384)


def test_hog_searches_a_4k_frame_on_a_capped_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDetector([(600, 300, 64, 128)], [1.0])
    monkeypatch.setattr(croppers, "_people_detector", lambda: fake)
    frame = np.zeros((1, 2160, 3840, 3), np.uint8)
    cropper = HogCropper(margin=0.0, square=False)
    crop = cropper(frame)
    assert fake.calls == [(720, 1280, 3)]  # the longer side capped at max_side=1280, not the 3840 of the frame
    assert crop.shape == (384, 192, 3)  # the box mapped back: 64 x 128 at a third of the scale
    assert HogCropper(person_height=0.05).working_size(2160, 3840) == (720, 1280)  # enlarging is capped too


def test_hog_no_detection_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(croppers, "_people_detector", lambda: FakeDetector([], []))
    frames = figure_frames([(0, 0)], size=(200, 300))
    cropper = HogCropper()
    assert np.array_equal(cropper(frames), frames[-1])
    assert cropper.summary() == "hog cropper: fell back to the whole frame on 1 of 1 frames (100.0%)"


def test_hog_without_opencv_hog_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(cv2, "HOGDescriptor", raising=False)
    with pytest.raises(ImportError, match="opencv-contrib-python-headless"):
        HogCropper()


@pytest.mark.skipif(not hasattr(cv2, "HOGDescriptor"), reason="this OpenCV build has no HOG (contrib build needed)")
def test_real_hog_on_a_blank_frame_falls_back() -> None:
    cropper = HogCropper()
    blank = np.full((1, 160, 120, 3), 128, np.uint8)
    assert np.array_equal(cropper(blank), blank[0])
    assert cropper.stats == {"frames": 1, "fallbacks": 1, "kept": 0}


# -- shared ----------------------------------------------------------------------------------------


def test_expand_box_stays_inside_the_frame() -> None:
    assert expand_box((0, 0, 10, 20), 100, 100, 0.0, True) == (0, 0, 20, 20)  # shifted, not cut
    assert expand_box((90, 90, 100, 100), 100, 100, 0.5, True) == (80, 80, 100, 100)
    assert expand_box((0, 10, 100, 30), 50, 100, 0.0, True) == (0, 0, 100, 50)  # cannot be square: clipped


def test_registered_croppers_build_from_configs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(croppers, "_people_detector", lambda: FakeDetector([], []))
    assert {"none", "center", "motion", "hog"} <= set(CROPPERS.names())
    assert CROPPERS.build({"type": "motion", "threshold": 30, "min_area": 0.01}).threshold == 30
    assert CROPPERS.build({"type": "center", "fraction": 0.5}).fraction == 0.5
    assert CROPPERS.build({"type": "hog", "person_height": 0.5}).person_height == 0.5
    with pytest.raises(ConfigError, match=r"unknown argument\(s\) \['upscale'\].*person_height"):
        CROPPERS.build({"type": "hog", "upscale": 2.0})  # the old fixed enlargement: replaced by person_height


def test_motion_keeps_the_last_box_while_the_athlete_holds_still() -> None:
    moving = np.zeros((2, 120, 160, 3), np.uint8)
    moving[1, 40:80, 60:80] = 255  # appears: moves
    still = np.repeat(moving[1:], 2, axis=0)  # nothing moves between context and key frame
    cropper = CROPPERS.build({"type": "motion"})
    first = cropper(moving)
    held = cropper(still)
    assert held.shape == first.shape and cropper.stats == {"frames": 2, "fallbacks": 0, "kept": 1}
    cropper.start_video()  # a new video forgets the box
    assert cropper(still).shape == (120, 160, 3) and cropper.stats["fallbacks"] == 1
    assert "reused the previous box on 1" in cropper.summary()
    no_keep = CROPPERS.build({"type": "motion", "keep_last": False})
    no_keep(moving)
    assert no_keep(still).shape == (120, 160, 3)


def test_motion_box_size_gives_one_scale() -> None:
    cropper = CROPPERS.build({"type": "motion", "box_size": 0.5})
    for w in (6, 30):  # a thin and a wide mover: the same crop size
        frames = np.zeros((2, 120, 160, 3), np.uint8)
        frames[1, 40:70, 60 : 60 + w] = 255
        assert cropper(frames).shape == (60, 60, 3)
    frames = np.zeros((2, 120, 160, 3), np.uint8)
    frames[1, 0:10, 150:160] = 255  # at the corner: the square is shifted inside the frame
    assert cropper(frames).shape == (60, 60, 3)
