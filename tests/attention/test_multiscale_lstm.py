"""MS-LSTM's multi-scale LSTMs: the export-friendly LSTM equals nn.LSTM, each video is read inside itself."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.contract import check_alone, ragged
from zoo.attention.multiscale_lstm import lstm_scan
from zoo.kinds import ATTENTION


def test_lstm_scan_equals_nn_lstm_and_skips_updates() -> None:
    lstm = nn.LSTM(3, 5, batch_first=True)
    x = torch.randn(2, 7, 3)
    with torch.no_grad():
        torch.testing.assert_close(lstm_scan(lstm, x), lstm(x)[0], atol=1e-6, rtol=1e-5)
        every_third = torch.arange(7) % 3 == 0
        skipped = lstm_scan(lstm, x, every_third)
        torch.testing.assert_close(skipped[:, 6], lstm(x[:, ::3])[0][:, -1], atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(skipped[:, 4], skipped[:, 3])  # carried through a skipped step


def test_multiscale_lstm_reads_the_last_window_inside_each_video() -> None:
    cfg = {"type": "multiscale_lstm", "channels": 6, "hidden_dim": 5}
    att = ATTENTION.build(cfg, in_dim=4)
    assert att.out_dim == 15 and ATTENTION.build({**cfg, "proj_dim": 2}, in_dim=4).out_dim == 6
    x, mask = ragged([12, 9, 5, 1], 4)  # shorter than the largest kernel (8) and than all of them
    feats, weights = att(x, mask)
    assert feats.shape == (4, 15) and weights is None
    feats.sum().backward()
    check_alone(att, x, mask)
    with torch.no_grad():  # the export formulation (every position, fixed skipping) gives the same numbers
        lengths = mask.sum(1)
        for scale in att.scales:
            torch.testing.assert_close(scale(x, lengths, True), scale(x, lengths, False), atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="one stride per kernel"):
        ATTENTION.build({"type": "multiscale_lstm", "kernels": [2, 4], "strides": [1]}, in_dim=4)


def test_multiscale_lstm_strides_default_to_kernels() -> None:
    att = ATTENTION.build({"type": "multiscale_lstm", "kernels": [2, 3], "strides": None, "norm": "none"}, in_dim=4)
    assert [s.stride for s in att.scales] == [2, 3]
    x, mask = ragged([7, 2], 4)
    check_alone(att, x, mask)
