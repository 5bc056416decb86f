"""PyG readouts: left-out aggregations say why, Set2Set has its default, groups are ordered without a sort."""

from __future__ import annotations

import pytest
import torch

from registry import RegistryError
from tests.contract import ragged
from zoo.attention.pyg import LEFT_OUT, SUPPORTED, _by_group
from zoo.imports import import_quietly
from zoo.kinds import ATTENTION


def test_the_registry_offers_exactly_the_supported_aggregations() -> None:
    aggr = import_quietly("torch_geometric.nn.aggr")
    assert not set(SUPPORTED) & set(LEFT_OUT)
    offered = {n.removeprefix("pyg:") for n in ATTENTION.names() if n.startswith("pyg:")}
    assert offered == set(SUPPORTED)
    for name, why in LEFT_OUT.items():
        assert hasattr(aggr, name), f"{name}: a reason about an aggregation PyG does not have is stale"
        with pytest.raises(RegistryError, match="not offered") as err:
            ATTENTION.build({"type": f"pyg:{name}"}, in_dim=8)
        assert why in str(err.value)


def test_set2set_builds_with_its_default_steps() -> None:
    readout = ATTENTION.build({"type": "pyg:Set2Set"}, in_dim=8)
    assert readout.aggr.processing_steps == 2 and readout.out_dim == 16
    assert ATTENTION.build({"type": "pyg:Set2Set", "processing_steps": 3}, in_dim=8).aggr.processing_steps == 3


def test_groups_are_ordered_as_a_stable_sort_would() -> None:
    x, mask = ragged([3, 5, 1, 4], 2)
    mask[1, 1] = False  # a hole inside a video, not only at its end
    b, n = mask.shape
    group = torch.where(mask, torch.arange(b).unsqueeze(1).expand(b, n), torch.full((b, n), b)).reshape(-1)
    nodes = x.reshape(b * n, 2)
    order = torch.argsort(group, stable=True)
    got_nodes, got_group = _by_group(nodes, group, mask.reshape(-1))
    assert torch.equal(got_group, group[order]) and torch.equal(got_nodes, nodes[order])
