"""Peer methods' parts (conv1d, transformer, self-attentive, multi-scale LSTM, grade decoder, head, losses), recipes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import zoo
from registry import ConfigError, list_recipes, load_checkpoint
from tests.engine.helpers import DIMS, make_feature_set
from zoo.attention.multiscale_lstm import lstm_scan
from zoo.graphs import InstanceGraph
from zoo.kinds import ATTENTION, EMBEDDINGS, GRAPH_LAYERS, HEADS, LOSSES

PEERS = list_recipes("peers/*")


def ragged(lengths: list[int], dim: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-padded features ``[B, max(lengths), dim]`` and their mask."""
    g = torch.Generator().manual_seed(seed)
    n = max(lengths)
    mask = torch.arange(n).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    return torch.randn(len(lengths), n, dim, generator=g) * mask.unsqueeze(-1), mask


def check_alone(module: nn.Module, x: torch.Tensor, mask: torch.Tensor) -> None:
    """An attention module scores each padded video as it would alone; padding gets no weight."""
    module.eval()
    with torch.no_grad():
        feats, weights = module(x, mask)
        for b in range(x.shape[0]):
            n = int(mask[b].sum())
            f, w = module(x[b : b + 1, :n], mask[b : b + 1, :n])
            torch.testing.assert_close(feats[b : b + 1], f, atol=1e-5, rtol=1e-4)
            if w is not None:
                torch.testing.assert_close(weights[b : b + 1, ..., :n], w, atol=1e-5, rtol=1e-4)
                assert weights[b, ..., n:].abs().sum() == 0


# -- embeddings --------------------------------------------------------------------------------
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


# -- graph layers ------------------------------------------------------------------------------
def test_transformer_layer_ignores_padding_and_projects() -> None:
    layer = GRAPH_LAYERS.build({"type": "transformer", "heads": 2, "ff_ratio": 2.0}, in_dim=8, out_dim=6).eval()
    assert layer.out_dim == 6
    x, mask = ragged([5, 3], 8)
    graph = InstanceGraph(torch.ones(2, 5, 5), mask)
    noisy = x + 100 * (~mask).unsqueeze(-1)  # anything in the padding
    with torch.no_grad():
        y, y_noisy = layer(x, graph, mask), layer(noisy, graph, mask)
        assert y.shape == (2, 5, 6)
        torch.testing.assert_close(y[mask], y_noisy[mask], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(y[1:, :3], layer(x[1:, :3], graph, mask[1:, :3]), atol=1e-5, rtol=1e-5)
    stack = GRAPH_LAYERS.build({"type": "stack", "layer": {"type": "transformer"}, "activation": "none"}, in_dim=8)
    assert stack.train()(x, graph, mask)[~mask].abs().sum() == 0


# -- attention ---------------------------------------------------------------------------------
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


def test_grade_decoder_queries_cross_attend_valid_instances() -> None:
    dec = ATTENTION.build({"type": "grade_decoder", "queries": 3, "dim": 8, "heads": 2, "layers": 2}, in_dim=6)
    assert dec.out_dim == 24
    x, mask = ragged([5, 2], 6)
    feats, weights = dec(x, mask)
    assert feats.shape == (2, 24) and weights.shape == (2, 3, 5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3))
    check_alone(dec, x, mask)


# -- head and losses ---------------------------------------------------------------------------
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


def test_losses_combine_in_a_sum() -> None:
    total = LOSSES.build({"type": "sum", "terms": [{"type": "mse"}, {"type": "triplet", "margin": 0.5, "weight": 2.0}]})
    out = {"score": torch.zeros(3), "queries": torch.ones(3, 4, 6)}
    assert total(out, torch.ones(3)) == pytest.approx(1.0 + 2.0 * 0.5)


# -- recipes -----------------------------------------------------------------------------------
def test_peer_recipes_are_there() -> None:
    assert {"peers/mean_pool", "peers/ms_lstm", "peers/gdlt", "peers/usdl", "peers/actionnet_gdlt"} <= set(PEERS)


# Each peer recipe scoring a padded batch as each video alone: tests/models/test_any_length.py (every recipe).


TINY: dict[str, list[str]] = {
    # The recipes' own optimisers, at rates that show learning within six tiny epochs.
    "peers/mean_pool": ["model.head.hidden_dims=[16]", "model.head.dropout=0.0", "optim.lr=0.003"],
    "peers/usdl": ["model.head.hidden_dims=[16]", "model.head.bins=21", "optim.lr=0.003"],
    "peers/ms_lstm": [
        "model.streams.attentive.embed.out_dim=8",
        "model.streams.multiscale.embed.out_dim=8",
        "model.streams.attentive.attention={type: self_attentive, heads: 4, hidden_dim: 8, norm: batch, "
        "readout: lstm, lstm_dim: 8, proj_dim: 8}",
        "model.streams.multiscale.attention.channels=8",
        "model.streams.multiscale.attention.hidden_dim=8",
        "model.streams.multiscale.attention.proj_dim=8",
        "model.head.hidden_dims=[8]",
        "optim.lr=0.003",
    ],
    "peers/gdlt": [
        "model.streams.dynamic.embed.out_dim=16",
        "model.streams.dynamic.graph_layers.layer.dropout=0.0",
        "model.streams.dynamic.attention.dropout=0.0",
        "optim.lr=0.03",
    ],
    "peers/actionnet_gdlt": [
        f"model.inputs={{dynamic: {DIMS['dynamic']}, static: {DIMS['static']}}}",
        "model.streams.dynamic.embed.out_dim=16",
        "model.streams.static.embed.out_dim=16",
        "model.streams.dynamic.attention.dim=16",
        "model.streams.static.attention.dim=16",
        "model.streams.dynamic.attention.dropout=0.0",
        "model.streams.static.attention.dropout=0.0",
        "data.window={dynamic: null, static: null}",
    ],
}


@pytest.fixture(scope="module")
def features(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_feature_set(tmp_path_factory.mktemp("features"), n_train=48, n_test=16)


@pytest.mark.parametrize("name", sorted(TINY))
def test_peer_recipe_trains_and_its_loss_falls(name: str, features: Path, tmp_path: Path) -> None:
    overrides = [
        f"data.root={features}",
        "data.annotations={train: train.txt, test: test.txt}",
        "data.window={dynamic: null}",
        "data.val_fraction=0.0",
        f"model.inputs={{dynamic: {DIMS['dynamic']}}}",
        "train.epochs=6",
        "train.batch_size=8",
        "eval.select=last",
        f"run.out={tmp_path}",
        "run.device=cpu",
        "run.tensorboard=false",
        "run.progress=false",
        *TINY[name],
    ]
    results = zoo.engine.train(name, overrides, progress=False)
    history = load_checkpoint(Path(results["run_dir"]) / "last.pt")["history"]
    losses = [row["train_loss"] for row in history]
    assert len(losses) == 6 and all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < 0.8 * losses[0], losses
