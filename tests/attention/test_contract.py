"""Every registered attention / readout, each pyg: aggregation included, keeps the attention contract."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.contract import LENGTHS, assert_finite_grads, check_alone, export_cases, export_checked, ragged, scorer
from zoo.attention import Attention
from zoo.kinds import ATTENTION

NAMES = ATTENTION.names()
IN_DIM = 16  # divisible by multihead's 4 default heads
# ONNX exports cost seconds each (all of them: several minutes on 2 cores). One per way of pooling:
# a learned softmax over instances, PyTorch's multi-head attention, PyG's scatter-based readouts
# (softmax), its dense one (the set transformer, fed groups in order without a sort) and Set2Set's
# recurrent steps; tests/recipes exports the recipes' units (multi-scale LSTM, grade decoder, ...) to ONNX.
ONNX = {"actionnet", "multihead", "pyg:SoftmaxAggregation", "pyg:SetTransformerAggregation", "pyg:Set2Set"}


def build(name: str) -> Attention:
    torch.manual_seed(0)
    return ATTENTION.build({"type": name}, in_dim=IN_DIM)


@pytest.mark.parametrize("name", NAMES)
def test_declared_width_weights_and_gradients(name: str) -> None:
    att = build(name).train()
    assert isinstance(att, Attention)
    x, mask = ragged(LENGTHS, IN_DIM)  # zero padding: what the stream passes
    x.requires_grad_(True)
    feature, weights = att(x, mask)
    b, n = mask.shape
    assert feature.shape == (b, att.out_dim)
    if weights is not None:
        assert weights.shape[0] == b and weights.shape[-1] == n and weights.dim() in (2, 3), list(weights.shape)
        padded = (~mask).unsqueeze(1).expand(b, weights.shape[1], n) if weights.dim() == 3 else ~mask
        assert weights[padded].abs().sum() == 0, f"{name}: padded instances got weight"
    (feature * torch.randn(feature.shape)).sum().backward()
    assert_finite_grads(att, name)
    assert x.grad is not None and torch.isfinite(x.grad).all(), f"{name}: no finite gradient for the instances"


@pytest.mark.parametrize("name", NAMES)
def test_a_padded_video_gives_what_it_gives_alone(name: str) -> None:
    x, mask = ragged(LENGTHS, IN_DIM)
    check_alone(build(name), x, mask)


@pytest.mark.parametrize(("name", "fmt"), export_cases(NAMES, ONNX))
def test_exports(name: str, fmt: str, tmp_path: Path) -> None:
    export_checked(scorer({"x": {"attention": {"type": name}}}, {"x": IN_DIM}), tmp_path, fmt)
