"""Self-attentive pooling (MS-LSTM's S-LSTM): several attention rows over the valid instances, flat or LSTM readout."""

from __future__ import annotations

import pytest
import torch

from tests.contract import check_alone, ragged
from zoo.kinds import ATTENTION


@pytest.mark.parametrize("readout", ["flatten", "lstm"])
def test_self_attentive_rows_over_valid_instances(readout: str) -> None:
    cfg = {"type": "self_attentive", "heads": 3, "hidden_dim": 5, "readout": readout, "lstm_dim": 7}
    att = ATTENTION.build(cfg, in_dim=4)
    assert att.out_dim == (3 * 4 if readout == "flatten" else 7)
    x, mask = ragged([6, 3, 1], 4)
    feats, weights = att(x, mask)
    assert feats.shape == (3, att.out_dim) and weights.shape == (3, 3, 6)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 3))
    check_alone(att, x, mask)
    proj = ATTENTION.build({**cfg, "norm": "batch", "proj_dim": 2}, in_dim=4)
    assert proj(x, mask)[0].shape == (3, 2)
    check_alone(proj, x, mask)
