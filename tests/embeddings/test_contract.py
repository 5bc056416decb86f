"""Every registered embedding keeps the embedding contract: widths, padding, gradients, export."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.contract import (
    LENGTHS,
    alone,
    assert_close,
    assert_finite_grads,
    export_cases,
    export_checked,
    ragged,
    scorer,
)
from zoo.embeddings import Embedding
from zoo.kinds import EMBEDDINGS

NAMES = EMBEDDINGS.names()
IN_DIM = 8
# ONNX exports cost seconds each. conv1d is the embedding that mixes instances (a masked convolution over
# time); the others are per-instance linear maps, and tests/recipes exports the recipes' embeddings to ONNX.
ONNX = {"conv1d"}


def build(name: str) -> Embedding:
    torch.manual_seed(0)
    return EMBEDDINGS.build({"type": name}, in_dim=IN_DIM)


@pytest.mark.parametrize("name", NAMES)
def test_declared_width_and_gradients(name: str) -> None:
    emb = build(name)
    assert isinstance(emb, Embedding)
    x, mask = ragged(LENGTHS, IN_DIM)
    x.requires_grad_(True)
    y = emb.train()(x, mask)
    assert y.shape == (len(LENGTHS), max(LENGTHS), emb.out_dim)
    (y[mask] * torch.randn(y[mask].shape)).sum().backward()
    assert_finite_grads(emb, name)
    assert x.grad is not None and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("name", NAMES)
def test_valid_rows_do_not_depend_on_padding(name: str) -> None:
    emb = build(name).eval()
    x, mask = ragged(LENGTHS, IN_DIM, pad=100.0)  # anything in the padding
    with torch.no_grad():
        y = emb(x, mask)
        for b in range(len(LENGTHS)):
            xb, mb = alone(x, mask, b)
            assert_close(y[b : b + 1, : xb.shape[1]], emb(xb, mb), f"{name}, video {b} alone")


@pytest.mark.parametrize(("name", "fmt"), export_cases(NAMES, ONNX))
def test_exports(name: str, fmt: str, tmp_path: Path) -> None:
    export_checked(scorer({"x": {"embed": {"type": name}}}, {"x": IN_DIM}), tmp_path, fmt)
