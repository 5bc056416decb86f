"""Every registered graph layer, each pyg: convolution included, keeps the graph-layer contract."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
from zoo.graph_layers import GraphLayer
from zoo.kinds import GRAPH_BUILDERS, GRAPH_LAYERS

NAMES = GRAPH_LAYERS.names()
IN_DIM = 16
# The few arguments a layer cannot do without.
ARGS: dict[str, dict[str, Any]] = {
    "stack": {"layer": {"type": "gcn_unit"}},  # a stack of what: it has no default layer
    "pyg:ChebConv": {"K": 2},  # PyG gives the Chebyshev order no default
}
# ACTION-NET's graph: dense, weighted, every instance linked to every other.
GRAPH = {"type": "temporal_decay"}
# ONNX exports cost seconds each (all of them: several minutes on 2 cores). The own layers, and one PyG
# convolution that reads edge weights and one that attends over the edges; every pyg: name runs through
# the same adapter (gather, scatter, the sink node), and tests/recipes exports the recipes' layers to ONNX.
ONNX = {"gcn_unit", "transformer", "pyg:GCNConv", "pyg:GATConv"}


def build(name: str, **kwargs: Any) -> GraphLayer:
    torch.manual_seed(0)
    return GRAPH_LAYERS.build({"type": name, **ARGS.get(name, {}), **kwargs}, in_dim=IN_DIM)


def run(layer: GraphLayer, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    graph = GRAPH_BUILDERS.build(GRAPH)(x, mask) if layer.needs_graph else None
    return layer(x, graph, mask)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("out_dim", [None, 8])  # 8: divisible by EGConv's 8 default heads
def test_declared_width_and_gradients(name: str, out_dim: int | None) -> None:
    layer = build(name, out_dim=out_dim).train()
    assert isinstance(layer, GraphLayer)
    assert layer.out_dim == (out_dim or IN_DIM)
    x, mask = ragged(LENGTHS, IN_DIM)
    x.requires_grad_(True)
    y = run(layer, x, mask)
    assert y.shape == (len(LENGTHS), max(LENGTHS), layer.out_dim)
    (y[mask] * torch.randn(y[mask].shape)).sum().backward()
    assert_finite_grads(layer, name)
    assert x.grad is not None and torch.isfinite(x.grad).all(), f"{name}: no finite gradient for the instances"


@pytest.mark.parametrize("name", NAMES)
def test_a_padded_video_gives_what_it_gives_alone(name: str) -> None:
    layer = build(name).eval()
    x, mask = ragged(LENGTHS, IN_DIM, pad=100.0)  # valid rows must not depend on the padding
    with torch.no_grad():
        y = run(layer, x, mask)
        for b in range(len(LENGTHS)):
            xb, mb = alone(x, mask, b)
            assert_close(y[b : b + 1, : xb.shape[1]], run(layer, xb, mb), f"{name}, video {b} alone")


@pytest.mark.parametrize(("name", "fmt"), export_cases(NAMES, ONNX))
def test_exports(name: str, fmt: str, tmp_path: Path) -> None:
    layers = {"type": name, **ARGS.get(name, {})}
    stream = {"graph_layers": layers, "skip": "none"}
    if build(name).needs_graph:
        stream["graph"] = GRAPH
    export_checked(scorer({"x": stream}, {"x": IN_DIM}), tmp_path, fmt)
