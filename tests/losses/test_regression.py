"""Score losses and their weighted sum, on known inputs."""

from __future__ import annotations

import pytest
import torch

from zoo.kinds import LOSSES


def test_losses_combine_in_a_sum() -> None:
    total = LOSSES.build({"type": "sum", "terms": [{"type": "mse"}, {"type": "triplet", "margin": 0.5, "weight": 2.0}]})
    out = {"score": torch.zeros(3), "queries": torch.ones(3, 4, 6)}
    assert total(out, torch.ones(3)) == pytest.approx(1.0 + 2.0 * 0.5)
