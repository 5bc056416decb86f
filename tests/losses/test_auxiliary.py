"""Auxiliary losses: the attention diversity penalty and GDLT's grade triplet loss, on known inputs."""

from __future__ import annotations

import pytest
import torch

from registry import ConfigError
from zoo.kinds import LOSSES


def test_diversity_penalty() -> None:
    loss = LOSSES.build({"type": "diversity", "stream": "s"})
    target = torch.zeros(2)
    orthogonal = torch.eye(3, 5).expand(2, 3, 5)
    assert loss({"weights": {"s": orthogonal}}, target) == 0
    same_rows = torch.tensor([[1.0, 0.0], [1.0, 0.0]]).expand(2, 2, 2)  # A A^T - I = [[0, 1], [1, 0]]
    assert loss({"weights": {"s": same_rows}}, target) == pytest.approx(2.0)
    found = LOSSES.build({"type": "diversity"})({"weights": {"s": same_rows, "t": torch.ones(2, 2)}}, target)
    assert found == pytest.approx(2.0)  # by default every multi-row stream
    with pytest.raises(ConfigError, match="no stream 'x'"):
        LOSSES.build({"type": "diversity", "stream": "x"})({"weights": {"s": same_rows}}, target)
    with pytest.raises(ValueError, match=r"\[B, H, N\]"):
        LOSSES.build({"type": "diversity"})({"weights": {"t": torch.ones(2, 2)}}, target)


def test_triplet_loss_on_grade_queries() -> None:
    loss = LOSSES.build({"type": "triplet", "margin": 0.5})
    target = torch.zeros(3)
    apart = torch.eye(4, 6).expand(3, 4, 6) * torch.tensor([1.0, 2.0, 3.0]).view(3, 1, 1)  # cosine distance 1 apart
    assert loss({"queries": apart}, target) == 0
    collapsed = torch.ones(3, 4, 6)  # every grade the same direction: d_pos = d_neg = 0
    assert loss({"queries": collapsed}, target) == pytest.approx(0.5)
    close = torch.tensor([[[1.0, 0.0], [0.8, 0.6]]])  # one video, two grades at cosine distance 0.2 < 0.5
    assert loss({"queries": close}, target[:1]) == pytest.approx(0.5 - 0.2)
    with pytest.raises(ConfigError, match="queries"):
        loss({"score": target}, target)
