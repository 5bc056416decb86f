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
    assert {
        "peers/mean_pool",
        "peers/ms_lstm",
        "peers/gdlt",
        "peers/usdl",
        "peers/actionnet_gdlt",
        "peers/cofinal",
        "peers/cofinal_fisv",
        "peers/asgtn",
        "peers/asgtn_fisv",
        "peers/gdlt_asgtn_graph",
    } <= set(PEERS)


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
    "peers/cofinal": [
        "model.streams.dynamic.embed.out_dim=16",
        "model.streams.dynamic.graph_layers.layer.dropout=0.0",
        "model.streams.dynamic.attention.dropout=0.0",
        "model.head.hidden=16",
        "model.head.sub_grades=8",
        "optim.lr=0.03",
    ],
    "peers/asgtn": [  # its block sits on the clip features: the 16-d set (a 4 x 4 channel grid, as theirs is square)
        "data.features={dynamic: static}",
        "model.inputs={dynamic: 16}",
        "model.streams.dynamic.input_layers.dropout=0.0",
        "model.streams.dynamic.embed.out_dim=16",
        "model.streams.dynamic.graph_layers.layer.dropout=0.0",
        "model.streams.dynamic.attention.dropout=0.0",
        "optim.lr=0.03",
    ],
    "peers/gdlt_asgtn_graph": [
        "model.streams.dynamic.embed.out_dim=16",
        "model.streams.dynamic.graph_layers.dropout=0.0",
        "model.streams.dynamic.attention.dropout=0.0",
        "optim.lr=0.03",
    ],
    "actionnet/etf_head": [
        f"model.inputs={{dynamic: {DIMS['dynamic']}, static: {DIMS['static']}}}",
        "model.streams.dynamic.embed.out_dim=16",
        "model.streams.static.embed.out_dim=16",
        "model.streams.dynamic.attention.hidden_dim=8",
        "model.streams.static.attention.hidden_dim=8",
        "model.head.hidden=16",
        "model.head.sub_grades=8",
        "data.window={dynamic: null, static: null}",
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


APPARATUS = ("Ball", "Clubs", "Hoop", "Ribbon")


@pytest.fixture(scope="module")
def rg_features(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An RG-layout feature set: the four apparatus, named as the real files are (Ball_001, ...)."""
    return make_feature_set(tmp_path_factory.mktemp("rg"), n_train=32, n_test=16, classes=APPARATUS)


@pytest.mark.parametrize("name", ["peers/cofinal", "peers/asgtn"])
def test_authors_settings_per_apparatus_train_through_the_tool(name: str, rg_features: Path, tmp_path: Path) -> None:
    """``tools/train.py RECIPE --per-class``: one model per apparatus, each with the authors' own settings."""
    from aqa_tools.train import main as train_main

    argv = [
        name,
        "--per-class",
        "--no-progress",
        f"data.root={rg_features}",
        "data.annotations={train: train.txt, test: test.txt}",
        "train.epochs=2",  # the command line wins over each apparatus's epochs
        "train.batch_size=8",
        f"run.out={tmp_path}",
        "run.device=cpu",
        "run.tensorboard=false",
        f"model.inputs={{dynamic: {DIMS['dynamic']}}}",
        *TINY[name],  # after the line above: ASGTN's own input width wins
    ]
    assert train_main(argv) == 0
    runs = {p.parent.name: p for p in tmp_path.glob(f"{name}/*/*") if (p / "last.pt").is_file()}
    assert sorted(runs) == list(APPARATUS)
    recipes = {label: load_checkpoint(run / "last.pt")["recipe"] for label, run in runs.items()}
    for label, rc in recipes.items():
        assert rc["data"]["classes"] == [label] and rc["train"]["epochs"] == 2
    if name == "peers/cofinal":  # their scripts/train_all_rg.sh: variant, restriction, triplet labels per apparatus
        heads = {
            label: (rc["model"]["head"]["variant"], rc["model"]["head"]["restriction"]) for label, rc in recipes.items()
        }
        assert heads == {
            "Ball": ("cofinal", "sigmoid"),
            "Clubs": ("cofinal", "arcl1"),
            "Hoop": ("cofinal", "sigmoid"),
            "Ribbon": ("cofinal_2", "arcl1"),
        }
        assert recipes["Hoop"]["loss"]["terms"][1]["labels"] == "each"
