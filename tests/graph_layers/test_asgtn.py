"""ASGTN's block: the authors' fixed positions become a grid resampled to any length; channels seen as an image."""

from __future__ import annotations

import torch

from zoo.graph_layers.asgtn import channel_grid, grid_shape, resample
from zoo.kinds import MODELS


def test_resample_is_exact_at_the_grid_length_and_linear_between() -> None:
    rows = resample(5, torch.tensor([5, 3]), 5)
    torch.testing.assert_close(rows[0], torch.eye(5))  # their length: their values, exactly
    torch.testing.assert_close(rows[1, :3], torch.eye(5)[[0, 2, 4]])  # ends on ends, the middle on the middle
    half = resample(3, torch.tensor([5]), 5)[0, 1]
    torch.testing.assert_close(half, torch.tensor([0.5, 0.5, 0.0]))


def test_channel_grid_is_theirs_at_1024_and_any_width_works() -> None:
    assert grid_shape(1024) == (32, 32) and grid_shape(2048) == (32, 64) and grid_shape(13) == (1, 13)
    g = channel_grid(1024)
    assert g.sum(1)[0] == 4 and g.sum(1)[33] == 9  # a corner has 3 neighbours and itself, the inside 8 and itself
    assert torch.equal(g, g.t())
    assert channel_grid(13).sum(1).tolist() == [2] + [3] * 11 + [2]  # one row: a chain


def test_any_length_scores_as_alone_through_a_stream() -> None:
    """ASGTN's block before GDLT's projection (peers/asgtn's stream) on videos shorter and longer than its grid."""
    torch.manual_seed(0)
    stream = {
        "type": "stream",
        "input_graph": {"type": "temporal_window", "k": 1, "self_loops": True, "normalize": "none"},
        "input_layers": {"type": "asgtn", "positions": 6, "dropout": 0.0},
        "embed": {"type": "conv1d", "out_dim": 8, "kernel_size": 1, "norm": "none"},
        "attention": {"type": "mean"},
    }
    model = MODELS.build({"type": "scorer", "inputs": {"x": 12}, "streams": {"x": stream}, "head": {"type": "linear"}})
    model.eval()
    lengths = [9, 6, 2]
    x = torch.randn(3, 9, 12)
    mask = torch.arange(9) < torch.tensor(lengths).unsqueeze(1)
    with torch.no_grad():
        batch = model({"x": x * mask.unsqueeze(-1), "x_mask": mask})["score"]
        for b, n in enumerate(lengths):
            torch.testing.assert_close(batch[b : b + 1], model({"x": x[b : b + 1, :n]})["score"], atol=1e-5, rtol=1e-4)
