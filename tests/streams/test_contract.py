"""Every registered stream keeps the stream contract: declared widths, masked instances, gradients."""

from __future__ import annotations

import pytest
import torch

from tests.contract import LENGTHS, assert_finite_grads, check_alone, ragged
from zoo.kinds import STREAMS
from zoo.models.base import InstanceStream

NAMES = STREAMS.names()
IN_DIM = 12
# A configuration per stream type that uses each of its parts (embedding, graph, layers, attention).
ARGS = {
    "stream": {
        "embed": {"type": "mlp", "out_dim": 8},
        "graph": {"type": "temporal_decay"},
        "graph_layers": {"type": "stack", "num_layers": 2, "layer": {"type": "gcn_unit"}},
        "attention": {"type": "actionnet", "hidden_dim": 8},
        "input_norm": True,
    }
}


def build(name: str) -> InstanceStream:
    torch.manual_seed(0)
    return STREAMS.build({"type": name, "input": "x", **ARGS.get(name, {})}, in_dim=IN_DIM)


@pytest.mark.parametrize("name", NAMES)
def test_declared_widths_and_gradients(name: str) -> None:
    stream = build(name).train()
    assert isinstance(stream, InstanceStream) and stream.in_dim == IN_DIM and stream.input == "x"
    x, mask = ragged(LENGTHS, IN_DIM)
    x.requires_grad_(True)
    feature, weights = stream(x, mask)
    assert feature.shape == (len(LENGTHS), stream.out_dim)
    assert weights is None or weights.shape[-1] == mask.shape[1]
    feature.sum().backward()
    assert_finite_grads(stream, name)


@pytest.mark.parametrize("name", NAMES)
def test_a_padded_video_gives_what_it_gives_alone(name: str) -> None:
    stream = build(name)
    if stream.input_norm is not None:  # fitted statistics, as training leaves them
        stream.input_norm.fit([torch.randn(30, IN_DIM) * 3 + 1])
    x, mask = ragged(LENGTHS, IN_DIM, pad=5.0)  # noisy padding must not leak into valid instances
    check_alone(stream, x, mask)
