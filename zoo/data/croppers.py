"""Croppers: where the athlete is in a key frame, and the crop around them.

Every cropper is called on an instance's frames uint8 [T, H, W, 3] (the key frame LAST, earlier
ones are context) and returns the crop of the key frame uint8 [h, w, 3]. When it finds no one it
returns the whole key frame and counts a fallback: ``stats`` and ``summary()`` say how often, so a
feature extraction can report how much of a data set was cropped for real.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import cv2
import numpy as np

from registry import ConfigError

from ..kinds import CROPPERS

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, exclusive ends


class Cropper(ABC):
    """The contract of a cropper: ``cropper(frames [T, H, W, 3] uint8, key frame last) -> crop [h, w, 3]``.

    A subclass says where the athlete is with ``find(frames) -> box or None``; this class does the
    input checks, the fallback to the whole key frame (counted in ``stats``), and ``keep_last``
    (reuse the video's previous box when nothing is found). ``start_video()`` is called before
    each video. Croppers are pickled into the extraction's worker processes, each with its own
    counts; ``summary(stats)`` reports counts summed over them.
    """

    declares: ClassVar[tuple[str, ...]] = ("name", "can_fall_back")  # checked when built
    name = "base"
    can_fall_back = True

    def __init__(self, keep_last: bool = False) -> None:
        self.frames = 0
        self.fallbacks = 0
        self.kept = 0  # frames where nothing was found and the video's previous box was reused
        self.keep_last = keep_last
        self._last: Box | None = None

    @abstractmethod
    def find(self, frames: np.ndarray) -> Box | None:
        """The box to crop from ``frames[-1]``, or None when there is no one."""

    def start_video(self) -> None:
        """A new video begins: forget its boxes (the statistics stay)."""
        self._last = None

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        frames = _as_frames(frames, self.name)
        key = frames[-1]
        box = self.find(frames)
        self.frames += 1
        if box is None and self.keep_last and self._last is not None:
            box = self._last  # a held pose moves nothing and a detector can miss: she is where she was
            self.kept += 1
        if box is None:
            self.fallbacks += 1
            return key.copy()
        self._last = box
        x0, y0, x1, y1 = box
        return np.ascontiguousarray(key[y0:y1, x0:x1])

    @property
    def stats(self) -> dict[str, int]:
        return {"frames": self.frames, "fallbacks": self.fallbacks, "kept": self.kept}

    def reset(self) -> None:
        self.frames = self.fallbacks = self.kept = 0

    def summary(self, stats: dict[str, int] | None = None) -> str:
        """One line on how often it found someone: its own counts, or ``stats`` summed over worker processes."""
        s = stats or self.stats
        if not self.can_fall_back:
            return f"{self.name} cropper: {s['frames']} frames"
        share = 100.0 * s["fallbacks"] / s["frames"] if s["frames"] else 0.0
        kept = f"; reused the previous box on {s['kept']}" if s["kept"] else ""
        return (
            f"{self.name} cropper: fell back to the whole frame on {s['fallbacks']} of {s['frames']} frames "
            f"({share:.1f}%){kept}"
        )


@CROPPERS.register("none")
class WholeFrame(Cropper):
    """The whole key frame, uncropped."""

    name = "none"
    can_fall_back = False

    def find(self, frames: np.ndarray) -> Box | None:
        _, h, w, _ = frames.shape
        return 0, 0, w, h


@CROPPERS.register("center")
class CenterCropper(Cropper):
    """A centred square of `fraction` of the frame's shorter side."""

    name = "center"
    can_fall_back = False

    def __init__(self, fraction: float = 0.8):
        super().__init__()
        if not 0 < fraction <= 1:
            raise ConfigError(f"center cropper: fraction must be in (0, 1], got {fraction!r}")
        self.fraction = float(fraction)

    def find(self, frames: np.ndarray) -> Box | None:
        _, h, w, _ = frames.shape
        side = max(1, round(self.fraction * min(h, w)))
        x0, y0 = (w - side) // 2, (h - side) // 2
        return x0, y0, x0 + side, y0 + side


@CROPPERS.register("motion")
class MotionCropper(Cropper):
    """Box around what moves between the context frames and the key frame (frame differencing).

    Grey-level differences above ``threshold`` are cleaned by a median filter (specks) and a
    morphological closing (joins the parts of one body); blobs under ``min_area`` of the frame are ignored. The
    box of what is left grows by ``margin`` of its size on each side, is made square when
    ``square`` and kept inside the frame. ``box_size`` (a share of the frame's shorter side) instead
    crops a square of that fixed size centred on what moves, so the athlete keeps one scale from crop
    to crop whatever the amount of motion. When nothing moves (a held pose) the athlete is still where
    she last moved, so ``keep_last`` reuses the video's previous box; with no box yet, it falls back.
    """

    name = "motion"

    def __init__(
        self,
        threshold: int = 20,
        min_area: float = 0.002,
        margin: float = 0.15,
        square: bool = True,
        box_size: float | None = None,
        keep_last: bool = True,
    ):
        if not 0 <= threshold < 255:
            raise ConfigError(f"motion cropper: threshold must be a grey level in [0, 255), got {threshold!r}")
        if not 0 <= min_area < 1:
            raise ConfigError(f"motion cropper: min_area is a share of the frame in [0, 1), got {min_area!r}")
        if box_size is not None and not 0 < box_size <= 1:
            raise ConfigError(f"motion cropper: box_size is a share of the shorter side in (0, 1], got {box_size!r}")
        super().__init__(keep_last)
        _check_margin(margin, self.name)
        self.threshold, self.min_area, self.margin, self.square = int(threshold), float(min_area), margin, square
        self.box_size = box_size

    def find(self, frames: np.ndarray) -> Box | None:
        t, h, w, _ = frames.shape
        if t < 2:
            return None
        grey = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]).astype(np.int16)
        moved = (np.abs(grey[:-1] - grey[-1]).max(axis=0) > self.threshold).astype(np.uint8) * 255
        # A 3x3 median drops isolated specks (compression noise) but keeps edges 2 px wide, which
        # is all a slow mover leaves; an opening would erase those too.
        moved = cv2.medianBlur(moved, 3)
        k = max(3, (min(h, w) // 50) | 1)  # odd kernel that grows with the frame
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        moved = cv2.morphologyEx(moved, cv2.MORPH_CLOSE, kernel, iterations=2)  # joins one body's parts
        _, _, blobs, _ = cv2.connectedComponentsWithStats(moved, connectivity=8)
        blobs = blobs[1:]  # row 0 is the background
        blobs = blobs[blobs[:, cv2.CC_STAT_AREA] >= max(1.0, self.min_area * h * w)]
        if len(blobs) == 0:
            return None
        x0 = blobs[:, cv2.CC_STAT_LEFT].min()
        y0 = blobs[:, cv2.CC_STAT_TOP].min()
        x1 = (blobs[:, cv2.CC_STAT_LEFT] + blobs[:, cv2.CC_STAT_WIDTH]).max()
        y1 = (blobs[:, cv2.CC_STAT_TOP] + blobs[:, cv2.CC_STAT_HEIGHT]).max()
        if self.box_size is not None:
            return fixed_box(((x0 + x1) / 2, (y0 + y1) / 2), round(self.box_size * min(h, w)), h, w)
        return expand_box((int(x0), int(y0), int(x1), int(y1)), h, w, self.margin, self.square)


def fixed_box(centre: tuple[float, float], side: int, height: int, width: int) -> Box:
    """A ``side`` x ``side`` square around ``centre``, shifted to lie inside the frame."""
    side = max(1, min(side, height, width))
    x0 = round(min(max(centre[0] - side / 2, 0), width - side))
    y0 = round(min(max(centre[1] - side / 2, 0), height - side))
    return x0, y0, x0 + side, y0 + side


HOG_WINDOW = 128  # pixels: the height of OpenCV's HOG people window (64 x 128)


@CROPPERS.register("hog")
class HogCropper(Cropper):
    """OpenCV's HOG people detector (offline, no weights); the highest-weight person, with a margin.

    The detector finds people about as tall as its 128-pixel window, so it runs on a copy of the key
    frame scaled to put the athlete there: ``person_height`` is how tall the athlete is as a share of
    the frame's height (the demo's figure: a third), giving the working scale 128 / (person_height *
    H); without it the frame is used at its size. The copy is never larger than ``max_side`` pixels
    on its longer side, so memory and time do not grow with the video's resolution (a 4K frame is
    searched at 1280 x 720). Boxes are mapped back to the full frame, which the crop is taken from.
    ``scale`` is the step of the detector's image pyramid, ``stride`` of its sliding window (a
    coarser one is faster and misses more). A frame with no detection reuses the video's previous
    box (``keep_last``) or, with none yet, is a fallback. OpenCV 5 keeps HOG in its contrib build
    only (``opencv-contrib-python-headless``).
    """

    name = "hog"

    def __init__(
        self,
        person_height: float | None = None,
        max_side: int = 1280,
        margin: float = 0.15,
        square: bool = True,
        keep_last: bool = True,
        scale: float = 1.05,
        stride: int = 8,
    ):
        super().__init__(keep_last)
        if person_height is not None and not 0 < person_height <= 1:
            raise ConfigError(
                "hog cropper: person_height is the athlete's height as a share of the frame's, in (0, 1], "
                f"got {person_height!r}"
            )
        if isinstance(max_side, bool) or not isinstance(max_side, int) or max_side < HOG_WINDOW:
            raise ConfigError(f"hog cropper: max_side must be an integer >= {HOG_WINDOW} pixels, got {max_side!r}")
        if not scale > 1:
            raise ConfigError(f"hog cropper: scale (the step of the image pyramid) must be > 1, got {scale!r}")
        _check_margin(margin, self.name)
        self.person_height, self.max_side = person_height, max_side
        self.margin, self.square = margin, square
        self.scale, self.stride = float(scale), int(stride)
        self.detector = _people_detector()

    def __getstate__(self) -> dict[str, Any]:  # OpenCV's detector does not pickle: worker processes rebuild it
        return {k: v for k, v in self.__dict__.items() if k != "detector"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.detector = _people_detector()

    def working_size(self, height: int, width: int) -> tuple[int, int]:
        """(h, w) of the copy the detector searches: the athlete near the window's height, capped at max_side."""
        factor = HOG_WINDOW / (self.person_height * height) if self.person_height else 1.0
        factor = min(factor, self.max_side / max(height, width))
        return max(1, round(height * factor)), max(1, round(width * factor))

    def find(self, frames: np.ndarray) -> Box | None:
        key = frames[-1]
        h, w = key.shape[:2]
        wh, ww = self.working_size(h, w)
        image = key
        if (wh, ww) != (h, w):
            shrink = wh < h  # area averaging when shrinking (no aliasing), bilinear when enlarging
            image = cv2.resize(key, (ww, wh), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        if image.shape[0] < HOG_WINDOW or image.shape[1] < 64:
            return None
        step = (self.stride, self.stride)
        rects, weights = self.detector.detectMultiScale(image, winStride=step, padding=(8, 8), scale=self.scale)
        if len(rects) == 0:
            return None
        fx, fy = ww / w, wh / h
        x, y, bw, bh = (float(v) for v in rects[int(np.argmax(np.ravel(weights)))])
        x, bw, y, bh = x / fx, bw / fx, y / fy, bh / fy
        box = (max(0, int(x)), max(0, int(y)), min(w, int(np.ceil(x + bw))), min(h, int(np.ceil(y + bh))))
        if box[2] <= box[0] or box[3] <= box[1]:
            return None
        return expand_box(box, h, w, self.margin, self.square)


CROPPERS.contract = Cropper


def _people_detector() -> Any:
    """OpenCV's default HOG people detector; a clear error where this OpenCV build lacks HOG."""
    hog = getattr(cv2, "HOGDescriptor", None)
    if hog is None:
        raise ImportError(
            f"the hog cropper needs cv2.HOGDescriptor, which OpenCV {cv2.__version__} ({cv2.__file__}) lacks: "
            "OpenCV 5 moved HOG to the contrib build. Replace opencv-python-headless by "
            f"opencv-contrib-python-headless=={cv2.__version__} (pip uninstall opencv-python-headless; "
            "pip install opencv-contrib-python-headless), or choose the motion cropper."
        )
    detector = hog()
    detector.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    return detector


def expand_box(box: Box, height: int, width: int, margin: float, square: bool) -> Box:
    """Grow ``box`` by ``margin`` of its size per side, square it if asked, and keep it inside the frame."""
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    bw, bh = bw * (1 + 2 * margin), bh * (1 + 2 * margin)
    if square:
        bw = bh = max(bw, bh)
    # Clip to the frame (a square larger than the frame's shorter side cannot stay square).
    bw, bh = max(1, min(round(bw), width)), max(1, min(round(bh), height))
    # Shift rather than cut a box that sticks out, so it keeps its size (and squareness).
    x0 = int(min(max(round(cx - bw / 2), 0), width - bw))
    y0 = int(min(max(round(cy - bh / 2), 0), height - bh))
    return x0, y0, x0 + bw, y0 + bh


def _check_margin(margin: float, name: str) -> None:
    if not margin >= 0:
        raise ConfigError(f"{name} cropper: margin must be >= 0 (a share of the box per side), got {margin!r}")


def _as_frames(frames: Any, name: str) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim == 3:
        frames = frames[None]  # a single frame: no context
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or 0 in frames.shape:
        raise ValueError(
            f"{name} cropper: expected frames uint8 [T, H, W, 3] (key frame last), "
            f"got {frames.dtype} {list(frames.shape)}"
        )
    return frames
