"""Peer recipes (mean pool, MS-LSTM, GDLT, USDL, hybrids) are there and learn; their parts are tested by kind."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import zoo
from registry import list_recipes, load_checkpoint
from tests.engine.helpers import DIMS, make_feature_set

PEERS = list_recipes("peers/*")


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
