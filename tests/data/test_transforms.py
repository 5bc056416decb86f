"""Frame transforms: shapes, dtypes, cropping and normalisation values."""

from __future__ import annotations

import pickle
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from zoo.data.transforms import ClipTransform, ImageTransform, clip_transform, image_transform, transform_for

MEAN, STD = (0.45, 0.45, 0.45), (0.225, 0.225, 0.225)


def test_clip_shape_dtype_and_values() -> None:
    frames = np.zeros((16, 240, 320, 3), np.uint8)
    frames[..., 0] = 255  # red 1.0, green and blue 0.0
    out = clip_transform(112, MEAN, STD)(frames)
    assert out.shape == (3, 16, 112, 112) and out.dtype == torch.float32
    assert torch.allclose(out[0], torch.tensor((1 - 0.45) / 0.225))
    assert torch.allclose(out[1:], torch.tensor(-0.45 / 0.225))


def test_clip_resizes_shorter_side_then_centre_crops() -> None:
    # Left third black, middle third grey, right third white; 60 x 180 -> 30 x 90 (shorter side) -> 30 x 30 crop.
    frames = np.zeros((2, 60, 180, 3), np.uint8)
    frames[:, :, 60:120] = 128
    frames[:, :, 120:] = 255
    out = clip_transform((30, 30), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))(frames)
    assert out.shape == (3, 2, 30, 30)
    # Only the middle third is left (the resize blurs its outermost columns a little).
    assert torch.allclose(out[..., 1:-1], torch.tensor(128 / 255), atol=1e-6)
    assert (out[..., [0, -1]] - 128 / 255).abs().max() < 0.1
    # A non-square target: the resize covers both sides.
    assert clip_transform((20, 40), MEAN, STD)(frames).shape == (3, 2, 20, 40)
    assert clip_transform((48, 16), MEAN, STD)(frames).shape == (3, 2, 48, 16)


def test_clip_accepts_tensors_and_keeps_time_order() -> None:
    frames = torch.arange(4, dtype=torch.uint8).mul(60).view(4, 1, 1, 1).expand(4, 8, 8, 3).contiguous()
    out = clip_transform(4, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))(frames)
    expected = torch.tensor([v * 60 / 255 for v in range(4)]).expand(3, 4)
    assert torch.allclose(out[:, :, 0, 0], expected)


def test_image_shape_and_whole_crop_resized() -> None:
    image = np.zeros((100, 50, 3), np.uint8)
    image[:50] = 255  # top half white: after resizing the whole image to 64 x 64 still the top half
    out = image_transform(64, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))(image)
    assert out.shape == (3, 64, 64) and out.dtype == torch.float32
    assert torch.allclose(out[:, :30], torch.tensor(1.0)) and torch.allclose(out[:, 34:], torch.tensor(-1.0))
    assert image_transform((32, 48), MEAN, STD)(image).shape == (3, 32, 48)


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ValueError, match=r"clip transform: expected uint8 \[T, H, W, 3\].*float32"):
        clip_transform(8, MEAN, STD)(np.zeros((2, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match=r"image transform: expected uint8 \[H, W, 3\].*\[2, 8, 8, 3\]"):
        image_transform(8, MEAN, STD)(np.zeros((2, 8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="one value per RGB channel"):
        clip_transform(8, (0.5, 0.5), STD)
    with pytest.raises(ValueError, match="size must be"):
        image_transform((8, 8, 8), MEAN, STD)


def test_transform_for_a_backbone_spec() -> None:
    video = SimpleNamespace(kind="video", size=(32, 32), mean=MEAN, std=STD)
    image = SimpleNamespace(kind="image", size=(24, 24), mean=(0.5,) * 3, std=(0.5,) * 3)
    t = transform_for(video)
    assert isinstance(t, ClipTransform) and t(np.zeros((4, 40, 50, 3), np.uint8)).shape == (3, 4, 32, 32)
    t = transform_for(image)
    assert isinstance(t, ImageTransform) and t(np.zeros((40, 50, 3), np.uint8)).shape == (3, 24, 24)
    with pytest.raises(ValueError, match=r"kind must be one of \('video', 'image'\), got 'audio'"):
        transform_for(SimpleNamespace(kind="audio", size=(8, 8), mean=MEAN, std=STD))
    with pytest.raises(TypeError, match=r"lacks \['mean', 'std'\]"):
        transform_for(SimpleNamespace(kind="image", size=(8, 8)))


def test_transforms_pickle_for_dataloader_workers() -> None:
    t = pickle.loads(pickle.dumps(clip_transform(16, MEAN, STD)))
    assert t(np.zeros((2, 20, 20, 3), np.uint8)).shape == (3, 2, 16, 16)
