"""From sampled uint8 frames to a backbone's input tensor, with ``torchvision.transforms.v2``, in two halves.

``geometry``: uint8 frames -> uint8 frames at the backbone's size (resize, crop); it runs where the
frames are decoded (an extraction worker process), on small uint8 arrays. ``normalize``: a batch of
them -> float, scaled to 0-1 and normalised, channels first; it runs beside the backbone (on the
GPU when there is one), so worker processes hand over uint8, a quarter of the bytes.

``ClipTransform``: [T, H, W, 3] -> [3, T, h, w] (video backbones: cover-resize, centre crop);
``ImageTransform``: [H, W, 3] -> [3, h, w] (image backbones: the whole image resized);
``transform_for(spec)`` picks one from a backbone's input spec (anything with ``kind``, ``size``,
``mean``, ``std``). ``frame_size(h, w)`` is the size to decode frames at (the decoder resizes, in
FFmpeg), after which ``geometry`` only crops. The transforms are small classes, not closures, so
worker processes can pickle them.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np
import torch

from registry import ConfigError

INPUT_KINDS = ("video", "image")


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


def _functional() -> ModuleType:
    """torchvision's v2 functional ops, imported on first use: importing torchvision (it pulls in
    torch._dynamo) adds ~1.4 s to every tool's start, and most tools never transform a frame."""
    from torchvision.transforms.v2 import functional

    return functional


class _Normalize:
    """uint8 [..., h, w, 3] -> float, 0-1, normalised, channels before the spatial axes."""

    def __init__(self, size: int | Sequence[int], mean: Sequence[float], std: Sequence[float]) -> None:
        self.size = _size(size)
        self.mean, self.std = _stats(mean, "mean"), _stats(std, "std")

    def _scaled(self, channels_first: torch.Tensor) -> torch.Tensor:
        F = _functional()
        x = F.to_dtype(channels_first, torch.float32, scale=True)
        return F.normalize(x, self.mean, self.std)


class ClipTransform(_Normalize):
    """uint8 [T, H, W, 3] -> float [3, T, h, w]: cover-resize, centre crop, scale to 0-1, normalise."""

    def frame_size(self, height: int, width: int) -> tuple[int, int]:
        """The smallest size that covers the crop: the shorter side (relative to the crop) fits it."""
        scale = max(self.size[0] / height, self.size[1] / width)
        return max(self.size[0], round(height * scale)), max(self.size[1], round(width * scale))

    def geometry(self, frames: np.ndarray | torch.Tensor) -> torch.Tensor:
        """uint8 [T, H, W, 3] -> uint8 [T, h, w, 3] (no resize when the frames come at ``frame_size``)."""
        x = _uint8_tensor(frames, 4, "[T, H, W, 3]", "clip transform").permute(0, 3, 1, 2)  # [T, 3, H, W]
        cover = list(self.frame_size(*x.shape[-2:]))
        F = _functional()
        if list(x.shape[-2:]) != cover:
            x = F.resize(x, cover, antialias=True)
        return F.center_crop(x, list(self.size)).permute(0, 2, 3, 1).contiguous()

    def normalize(self, batch: torch.Tensor) -> torch.Tensor:
        """uint8 [B, T, h, w, 3] -> float [B, 3, T, h, w]."""
        x = self._scaled(batch.permute(0, 1, 4, 2, 3))  # [B, T, 3, h, w]
        return x.permute(0, 2, 1, 3, 4).contiguous()

    def __call__(self, frames: np.ndarray | torch.Tensor) -> torch.Tensor:
        return self.normalize(self.geometry(frames)[None])[0]

    def __repr__(self) -> str:
        return f"ClipTransform(size={self.size}, mean={self.mean}, std={self.std})"


class ImageTransform(_Normalize):
    """uint8 [H, W, 3] -> float [3, h, w]: resize the whole crop (it is framed already), 0-1, normalise."""

    def frame_size(self, height: int, width: int) -> tuple[int, int]:
        return self.size

    def geometry(self, image: np.ndarray | torch.Tensor) -> torch.Tensor:
        """uint8 [H, W, 3] -> uint8 [h, w, 3]."""
        x = _uint8_tensor(image, 3, "[H, W, 3]", "image transform").permute(2, 0, 1)  # [3, H, W]
        F = _functional()
        if list(x.shape[-2:]) != list(self.size):
            x = F.resize(x, list(self.size), antialias=True)
        return x.permute(1, 2, 0).contiguous()

    def normalize(self, batch: torch.Tensor) -> torch.Tensor:
        """uint8 [B, h, w, 3] -> float [B, 3, h, w]."""
        return self._scaled(batch.permute(0, 3, 1, 2)).contiguous()

    def __call__(self, image: np.ndarray | torch.Tensor) -> torch.Tensor:
        return self.normalize(self.geometry(image)[None])[0]

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
    raise ValueError(f"input spec kind must be one of {INPUT_KINDS}, got {spec.kind!r} (in {spec!r})")
