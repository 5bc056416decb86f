"""From sampled uint8 frames to a backbone's input tensor, with ``torchvision.transforms.v2``.

``clip_transform``: uint8 [T, H, W, 3] -> float [3, T, h, w] (video backbones); ``image_transform``:
uint8 [H, W, 3] -> float [3, h, w] (image backbones); ``transform_for(spec)`` picks one from a
backbone's input spec (anything with ``kind``, ``size``, ``mean``, ``std``). The transforms are
small classes, not closures, so DataLoader workers can pickle them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F
from registry import ConfigError

KINDS = ("video", "image")


def _size(size: int | Sequence[int]) -> tuple[int, int]:
    hw = (int(size), int(size)) if isinstance(size, int | np.integer) else tuple(int(s) for s in size)
    if len(hw) != 2 or min(hw) < 1:
        raise ConfigError(f"size must be an int or (height, width) of positive ints, got {size!r}")
    return hw  # type: ignore[return-value]


def _stats(values: Sequence[float], what: str) -> list[float]:
    values = [float(v) for v in values]
    if len(values) != 3:
        raise ConfigError(f"{what} needs one value per RGB channel (3), got {values!r}")
    if what == "std" and min(values) <= 0:
        raise ConfigError(f"std must be positive, got {values!r}")
    return values


def _uint8_tensor(x: np.ndarray | torch.Tensor, ndim: int, layout: str, who: str) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(x)) if isinstance(x, np.ndarray) else x
    if t.dtype != torch.uint8 or t.ndim != ndim or t.shape[-1] != 3:
        raise ValueError(f"{who}: expected uint8 {layout} (RGB last), got {t.dtype} {list(t.shape)}")
    return t


class ClipTransform:
    """uint8 [T, H, W, 3] -> float [3, T, h, w]: cover-resize, centre crop, scale to 0-1, normalise."""

    def __init__(self, size: int | Sequence[int], mean: Sequence[float], std: Sequence[float]) -> None:
        self.size = _size(size)
        self.mean, self.std = _stats(mean, "mean"), _stats(std, "std")
        self.crop = v2.CenterCrop(self.size)
        self.finish = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize(self.mean, self.std)])

    def __call__(self, frames: np.ndarray | torch.Tensor) -> torch.Tensor:
        x = _uint8_tensor(frames, 4, "[T, H, W, 3]", "clip transform").permute(0, 3, 1, 2)  # [T, 3, H, W]
        h, w = x.shape[-2:]
        # The smallest resize that covers the crop: the shorter side (relative to the crop) fits it.
        scale = max(self.size[0] / h, self.size[1] / w)
        x = F.resize(x, [max(self.size[0], round(h * scale)), max(self.size[1], round(w * scale))], antialias=True)
        x = self.finish(self.crop(x))
        return x.permute(1, 0, 2, 3).contiguous()  # [3, T, h, w]

    def __repr__(self) -> str:
        return f"ClipTransform(size={self.size}, mean={self.mean}, std={self.std})"


class ImageTransform:
    """uint8 [H, W, 3] -> float [3, h, w]: resize the whole crop (it is framed already), 0-1, normalise."""

    def __init__(self, size: int | Sequence[int], mean: Sequence[float], std: Sequence[float]) -> None:
        self.size = _size(size)
        self.mean, self.std = _stats(mean, "mean"), _stats(std, "std")
        self.pipeline = v2.Compose(
            [
                v2.Resize(self.size, antialias=True),
                v2.ToDtype(torch.float32, scale=True),
                v2.Normalize(self.mean, self.std),
            ]
        )

    def __call__(self, image: np.ndarray | torch.Tensor) -> torch.Tensor:
        x = _uint8_tensor(image, 3, "[H, W, 3]", "image transform").permute(2, 0, 1)  # [3, H, W]
        return self.pipeline(x).contiguous()

    def __repr__(self) -> str:
        return f"ImageTransform(size={self.size}, mean={self.mean}, std={self.std})"


def clip_transform(size: tuple[int, int] | int, mean: Sequence[float], std: Sequence[float]) -> ClipTransform:
    """uint8 clip [T, H, W, 3] -> normalised float [3, T, h, w] (shorter side resized, centre crop)."""
    return ClipTransform(size, mean, std)


def image_transform(size: tuple[int, int] | int, mean: Sequence[float], std: Sequence[float]) -> ImageTransform:
    """uint8 image [H, W, 3] -> normalised float [3, h, w] (the whole image resized)."""
    return ImageTransform(size, mean, std)


def transform_for(spec: Any) -> ClipTransform | ImageTransform:
    """The transform a backbone's input spec asks for (duck-typed: kind, size, mean, std)."""
    missing = [a for a in ("kind", "size", "mean", "std") if not hasattr(spec, a)]
    if missing:
        raise TypeError(f"an input spec needs attributes kind, size, mean, std; {spec!r} lacks {missing}")
    if spec.kind == "video":
        return clip_transform(spec.size, spec.mean, spec.std)
    if spec.kind == "image":
        return image_transform(spec.size, spec.mean, spec.std)
    raise ValueError(f"input spec kind must be one of {KINDS}, got {spec.kind!r} (in {spec!r})")
