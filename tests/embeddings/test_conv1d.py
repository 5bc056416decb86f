"""The conv1d embedding: widths, "same" padding at a video's end, batch norm over valid instances only."""

from __future__ import annotations

import pytest
import torch

from tests.contract import ragged
from zoo.kinds import EMBEDDINGS


def test_conv1d_embedding_shapes_and_same_padding() -> None:
    emb = EMBEDDINGS.build({"type": "conv1d", "out_dim": 8, "hidden_ratio": 0.5, "kernel_size": 3}, in_dim=6)
    assert emb.out_dim == 8 and [c.in_channels for c in emb.convs] == [6, 3]
    x, mask = ragged([7, 4, 2], 6)
    assert emb(x).shape == (3, 7, 8)
    emb.eval()
    with torch.no_grad():
        y = emb(x, mask)
        assert y[~mask].abs().sum() == 0  # padding stays zero
        for b, n in enumerate([7, 4, 2]):  # a kernel of 3 at the end sees zeros, as the video alone would
            torch.testing.assert_close(y[b, :n], emb(x[b : b + 1, :n])[0], atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        EMBEDDINGS.build({"type": "conv1d", "kernel_size": 2}, in_dim=6)


def test_conv1d_batch_norm_counts_valid_instances_only() -> None:
    emb = EMBEDDINGS.build({"type": "conv1d", "out_dim": 4, "norm": "batch", "final_activation": False}, in_dim=3)
    x, mask = ragged([5, 2], 3)
    x = x + 10 * mask.unsqueeze(-1)  # valid rows far from the zeros of the padding
    emb.train()(x, mask)
    bn = emb.norms[0]
    rows = emb.convs[0](x.transpose(1, 2)).transpose(1, 2)[mask]
    expected = 0.9 * torch.zeros(4) + 0.1 * rows.mean(0)  # one momentum step from zero
    torch.testing.assert_close(bn.running_mean, expected.detach(), atol=1e-5, rtol=1e-5)
    padded = emb.train()(x, mask)
    assert padded[~mask].abs().sum() == 0
