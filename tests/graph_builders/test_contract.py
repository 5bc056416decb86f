"""Every registered graph builder keeps the builder contract: masked adjacency, edges, padding, export."""

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
from zoo.graphs import GraphBuilder, InstanceGraph
from zoo.kinds import GRAPH_BUILDERS

NAMES = GRAPH_BUILDERS.names()
IN_DIM = 8
# ONNX exports cost seconds each. kNN is the builder with its own ops (top-k, scatter of a sparse
# neighbour list); the others are element-wise on the dense adjacency, and tests/recipes exports each
# builder a recipe uses to ONNX as well.
ONNX = {"knn_similarity"}


def build(name: str) -> GraphBuilder:
    torch.manual_seed(0)
    return GRAPH_BUILDERS.build({"type": name}, in_dim=IN_DIM)


def edge_table(graph: InstanceGraph, b: int) -> dict[tuple[int, int], float]:
    """Video ``b``'s edges ``{(source, target): weight}`` in its own instance numbering; the sink's are dropped."""
    n = graph.mask.shape[1]
    edge_index, weight = graph.edges()
    sink = graph.num_nodes - 1
    table = {}
    for (src, dst), w in zip(edge_index.T.tolist(), weight.tolist()):
        if src == sink and dst == sink:
            continue
        assert src != sink and dst != sink, f"an edge joins the sink to a real node: {(src, dst)}"
        if src // n == b:
            assert dst // n == b, f"an edge crosses from video {b} to video {dst // n}"
            table[(src % n, dst % n)] = w
    return table


@pytest.mark.parametrize("name", NAMES)
def test_graph_masks_padding_and_both_views_agree(name: str) -> None:
    builder = build(name)
    assert isinstance(builder, GraphBuilder)
    x, mask = ragged(LENGTHS, IN_DIM)
    with torch.no_grad():
        graph = builder.eval()(x, mask)
    assert isinstance(graph, InstanceGraph)
    b, n = mask.shape
    assert graph.adj.shape == (b, n, n) and graph.num_nodes == b * n + 1
    pad = ~mask
    assert graph.adj[pad.unsqueeze(2).expand(b, n, n)].abs().sum() == 0  # rows of padded instances
    assert graph.adj[pad.unsqueeze(1).expand(b, n, n)].abs().sum() == 0  # columns of padded instances
    for v in range(b):
        for (src, dst), w in edge_table(graph, v).items():
            assert mask[v, src] and mask[v, dst], f"{name}: an edge touches padding in video {v}: {(src, dst)}"
            assert w == pytest.approx(float(graph.adj[v, dst, src]), abs=1e-6), f"{name}: edge {(src, dst)}"


@pytest.mark.parametrize("name", NAMES)
def test_graph_of_a_padded_video_equals_its_graph_alone(name: str) -> None:
    builder = build(name).eval()
    x, mask = ragged(LENGTHS, IN_DIM, pad=100.0)  # the builder must not read the padding either
    with torch.no_grad():
        graph = builder(x, mask)
        for b in range(len(LENGTHS)):
            xb, mb = alone(x, mask, b)
            single = builder(xb, mb)
            k = xb.shape[1]
            assert_close(graph.adj[b : b + 1, :k, :k], single.adj, f"{name}, video {b}: adjacency")
            together, by_itself = edge_table(graph, b), edge_table(single, 0)
            assert together.keys() == by_itself.keys(), f"{name}, video {b}: different edges"
            for edge, w in by_itself.items():
                assert together[edge] == pytest.approx(w, abs=1e-5), f"{name}, video {b}: edge {edge}"


@pytest.mark.parametrize("name", NAMES)
def test_gradients_reach_a_learned_graph(name: str) -> None:
    builder = build(name).train()
    x, mask = ragged(LENGTHS, IN_DIM)
    x.requires_grad_(True)
    graph = builder(x, mask)
    _, weight = graph.edges()
    g = torch.Generator().manual_seed(1)
    loss = (graph.adj * torch.randn(graph.adj.shape, generator=g)).sum() + (
        weight * torch.randn(weight.shape, generator=g)
    ).sum()
    if loss.requires_grad:  # a fixed graph (temporal, window) has nothing to learn
        loss.backward()
    assert_finite_grads(builder, name)


def _reads_edges(name: str) -> dict:
    # pyg:GCNConv reads the sparse edges and their weights, so the export covers both views of the graph.
    return {"graph": {"type": name}, "graph_layers": {"type": "pyg:GCNConv"}, "skip": "none"}


@pytest.mark.parametrize(("name", "fmt"), export_cases(NAMES, ONNX))
def test_exports(name: str, fmt: str, tmp_path: Path) -> None:
    export_checked(scorer({"x": _reads_edges(name)}, {"x": IN_DIM}), tmp_path, fmt)
