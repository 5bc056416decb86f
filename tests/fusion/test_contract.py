"""Every registered fusion keeps the fusion contract with one stream and with two of different widths."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.contract import assert_close, assert_finite_grads, export_cases, export_checked, scorer
from zoo.fusion import Fusion
from zoo.kinds import FUSION

NAMES = FUSION.names()
STREAMS = {"one": {"a": 8}, "two": {"a": 8, "b": 12}}
# ONNX exports cost seconds each; the gated fusion holds every op the others use (projection, sum, concat).
ONNX = {"gated"}


def build(name: str, in_dims: dict[str, int]) -> Fusion:
    torch.manual_seed(0)
    return FUSION.build({"type": name}, in_dims=in_dims)


def vectors(in_dims: dict[str, int], batch: int = 3) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {s: torch.randn(batch, d, generator=g, requires_grad=True) for s, d in in_dims.items()}


@pytest.mark.parametrize("streams", sorted(STREAMS))
@pytest.mark.parametrize("name", NAMES)
def test_declared_width_and_gradients(name: str, streams: str) -> None:
    in_dims = STREAMS[streams]
    fusion = build(name, in_dims).train()
    assert isinstance(fusion, Fusion)
    features = vectors(in_dims)
    y = fusion(features)
    assert y.shape == (3, fusion.out_dim)
    (y * torch.randn(y.shape)).sum().backward()
    assert_finite_grads(fusion, name)
    for s, f in features.items():
        assert f.grad is not None and torch.isfinite(f.grad).all(), f"{name}: stream {s!r} gets no gradient"


@pytest.mark.parametrize("streams", sorted(STREAMS))
@pytest.mark.parametrize("name", NAMES)
def test_each_video_is_fused_on_its_own(name: str, streams: str) -> None:
    in_dims = STREAMS[streams]
    fusion = build(name, in_dims).eval()
    features = vectors(in_dims)
    with torch.no_grad():
        y = fusion(features)
        for b in range(3):
            assert_close(y[b : b + 1], fusion({s: f[b : b + 1] for s, f in features.items()}), f"{name}, video {b}")


@pytest.mark.parametrize("streams", sorted(STREAMS))
@pytest.mark.parametrize(("name", "fmt"), export_cases(NAMES, ONNX))
def test_exports(name: str, streams: str, fmt: str, tmp_path: Path) -> None:
    in_dims = STREAMS[streams]
    model = scorer({s: {"attention": {"type": "mean"}} for s in in_dims}, in_dims, fusion={"type": name})
    export_checked(model, tmp_path, fmt)
