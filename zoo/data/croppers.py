"""Croppers: where the athlete is in a key frame, and the crop around them.

Every cropper is called on an instance's frames uint8 [T, H, W, 3] (the key frame LAST, earlier
ones are context) and returns the crop of the key frame uint8 [h, w, 3]. When it finds no one it
returns the whole key frame and counts a fallback: ``stats`` and ``summary()`` say how often, so a
feature extraction can report how much of a data set was cropped for real.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from registry import ConfigError

from ..kinds import CROPPERS

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, exclusive ends


class Cropper:
    """Shared bookkeeping: input checks, the fallback to the whole frame, and its statistics."""

    name = "base"
    can_fall_back = True

    def __init__(self, keep_last: bool = False) -> None:
        self.frames = 0
        self.fallbacks = 0
        self.kept = 0  # frames where nothing was found and the video's previous box was reused
        self.keep_last = keep_last
        self._last: Box | None = None

    def find(self, frames: np.ndarray) -> Box | None:
        """The box to crop from ``frames[-1]``, or None when there is no one."""
        raise NotImplementedError

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

    def summary(self) -> str:
        if not self.can_fall_back:
            return f"{self.name} cropper: {self.frames} frames"
        share = 100.0 * self.fallbacks / self.frames if self.frames else 0.0
        kept = f"; reused the previous box on {self.kept}" if self.kept else ""
        return (
            f"{self.name} cropper: fell back to the whole frame on {self.fallbacks} of {self.frames} frames "
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
    x0 = int(round(min(max(centre[0] - side / 2, 0), width - side)))
    y0 = int(round(min(max(centre[1] - side / 2, 0), height - side)))
    return x0, y0, x0 + side, y0 + side


@CROPPERS.register("hog")
class HogCropper(Cropper):
    """OpenCV's HOG people detector (offline, no weights); the highest-weight person, with a margin.

    The detector's window is 64x128 pixels, so small frames can be enlarged by ``upscale`` first
    (``scale`` is the step of its image pyramid, ``stride`` of its sliding window, in pixels);
    a frame with no detection reuses the video's previous box (``keep_last``) or, with none yet, is a
    fallback. OpenCV 5 keeps HOG in its contrib build only (``opencv-contrib-python-headless``).
    """

    name = "hog"

    def __init__(
        self,
        upscale: float = 1.0,
        margin: float = 0.15,
        square: bool = True,
        keep_last: bool = True,
        scale: float = 1.05,
        stride: int = 8,
    ):
        super().__init__(keep_last)
        if not upscale > 0:
            raise ConfigError(f"hog cropper: upscale must be positive, got {upscale!r}")
        if not scale > 1:
            raise ConfigError(f"hog cropper: scale (the step of the image pyramid) must be > 1, got {scale!r}")
        _check_margin(margin, self.name)
        self.upscale, self.margin, self.square = float(upscale), margin, square
        self.scale, self.stride = float(scale), int(stride)
        self.detector = _people_detector()

    def find(self, frames: np.ndarray) -> Box | None:
        key = frames[-1]
        h, w = key.shape[:2]
        image = key
        if self.upscale != 1.0:
            size = (max(1, round(w * self.upscale)), max(1, round(h * self.upscale)))
            image = cv2.resize(key, size, interpolation=cv2.INTER_LINEAR)
        if image.shape[0] < 128 or image.shape[1] < 64:
            return None
        # A coarser pyramid (scale) or window stride is faster and misses more.
        step = (self.stride, self.stride)
        rects, weights = self.detector.detectMultiScale(image, winStride=step, padding=(8, 8), scale=self.scale)
        if len(rects) == 0:
            return None
        x, y, bw, bh = (float(v) / self.upscale for v in rects[int(np.argmax(np.ravel(weights)))])
        box = (max(0, int(x)), max(0, int(y)), min(w, int(np.ceil(x + bw))), min(h, int(np.ceil(y + bh))))
        if box[2] <= box[0] or box[3] <= box[1]:
            return None
        return expand_box(box, h, w, self.margin, self.square)


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
