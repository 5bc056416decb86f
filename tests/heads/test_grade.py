"""GDLT's grade head: a weight per grade from its query; the score is the weighted mean grade."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from zoo.kinds import HEADS


def test_grade_head_weights_grades() -> None:
    head = HEADS.build({"type": "grade", "grades": 4, "score_range": [0.0, 3.0]}, in_dim=20)
    out = head(torch.randn(3, 20))
    assert out["grade_weights"].shape == (3, 4) and out["queries"].shape == (3, 4, 5)
    torch.testing.assert_close(out["grade_weights"].sum(-1), torch.ones(3))
    torch.testing.assert_close(out["score"], (out["grade_weights"] * torch.arange(4.0)).sum(-1))
    nn.init.zeros_(head.logit.weight)
    nn.init.zeros_(head.logit.bias)  # equal logits: equal weights, the mean grade
    torch.testing.assert_close(head(torch.randn(2, 20))["score"], torch.full((2,), 1.5))
    shared = HEADS.build({"type": "grade", "grades": 4, "shared": True}, in_dim=20)
    assert shared(torch.randn(2, 20))["score"].shape == (2,)
    with pytest.raises(ValueError, match="K \\* D"):
        HEADS.build({"type": "grade", "grades": 3}, in_dim=20)
