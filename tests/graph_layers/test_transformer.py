"""The transformer graph layer: padding is never attended to, a new width is projected, stacks keep padding zero."""

from __future__ import annotations

import torch

from tests.contract import ragged
from zoo.graphs import InstanceGraph
from zoo.kinds import GRAPH_LAYERS


def test_transformer_layer_ignores_padding_and_projects() -> None:
    layer = GRAPH_LAYERS.build({"type": "transformer", "heads": 2, "ff_ratio": 2.0}, in_dim=8, out_dim=6).eval()
    assert layer.out_dim == 6
    x, mask = ragged([5, 3], 8)
    graph = InstanceGraph(torch.ones(2, 5, 5), mask)
    noisy = x + 100 * (~mask).unsqueeze(-1)  # anything in the padding
    with torch.no_grad():
        y, y_noisy = layer(x, graph, mask), layer(noisy, graph, mask)
        assert y.shape == (2, 5, 6)
        torch.testing.assert_close(y[mask], y_noisy[mask], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(y[1:, :3], layer(x[1:, :3], graph, mask[1:, :3]), atol=1e-5, rtol=1e-5)
    stack = GRAPH_LAYERS.build({"type": "stack", "layer": {"type": "transformer"}, "activation": "none"}, in_dim=8)
    assert stack.train()(x, graph, mask)[~mask].abs().sum() == 0
