"""The PyG convolution table: each row says truly how its convolution is called, and the listing follows it."""

from __future__ import annotations

import inspect

import pytest

from registry import RegistryError
from zoo.graph_layers.pyg import LEFT_OUT, SUPPORTED, conv_class
from zoo.kinds import GRAPH_LAYERS


@pytest.mark.parametrize("name", sorted(SUPPORTED))
def test_edge_weight_flag_matches_the_forward_signature(name: str) -> None:
    # The adapter passes the graph's edge weights exactly where the table says; the run-time code
    # does not inspect signatures, so this is where a wrong row (or a PyG that changed) shows.
    takes = "edge_weight" in inspect.signature(conv_class(name).forward).parameters
    assert SUPPORTED[name].edge_weight == takes, f"{name}: the table says edge_weight={SUPPORTED[name].edge_weight}"


def test_the_registry_offers_exactly_the_supported_convolutions() -> None:
    assert not set(SUPPORTED) & set(LEFT_OUT)
    offered = {n.removeprefix("pyg:") for n in GRAPH_LAYERS.names() if n.startswith("pyg:")}
    assert offered == set(SUPPORTED)
    for name, why in LEFT_OUT.items():
        conv_class(name)  # a reason about a convolution PyG does not have would be stale
        with pytest.raises(RegistryError, match="not offered"):
            GRAPH_LAYERS.get(f"pyg:{name}")
        assert GRAPH_LAYERS.left_out()[f"pyg:{name}"] == why
