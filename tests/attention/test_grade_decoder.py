"""GDLT's grade decoder: K learned grade queries cross-attend over the valid instances."""

from __future__ import annotations

import torch

from tests.contract import check_alone, ragged
from zoo.kinds import ATTENTION


def test_grade_decoder_queries_cross_attend_valid_instances() -> None:
    dec = ATTENTION.build({"type": "grade_decoder", "queries": 3, "dim": 8, "heads": 2, "layers": 2}, in_dim=6)
    assert dec.out_dim == 24
    x, mask = ragged([5, 2], 6)
    feats, weights = dec(x, mask)
    assert feats.shape == (2, 24) and weights.shape == (2, 3, 5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3))
    check_alone(dec, x, mask)
