"""Training end to end on a tiny feature set: it learns, is deterministic, logs, selects honestly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import registry
import zoo
from aqa_tools.export import main as export_tool
from aqa_tools.predict import main as predict_tool
from aqa_tools.test import main as evaluate_tool
from aqa_tools.train import main as train_main
from registry import ConfigError, load_checkpoint
from tests.engine.helpers import NanAfter, make_feature_set, tiny_overrides
from zoo.kinds import LOSSES


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_feature_set(tmp_path_factory.mktemp("features"))


def run_dirs(out: Path) -> list[Path]:
    return sorted((out / "actionnet" / "base").iterdir())


def test_trains_evaluates_and_logs(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = zoo.engine.train("actionnet/base", tiny_overrides(data, tmp_path, epochs=30), progress=False)
    assert results["headline"] == "validation-selected"
    assert results["spearman"] > 0.6  # it learns the known signal
    assert results["best_on_test"]["label"].startswith("best on test (optimistic")
    assert (
        results["selected"]["epoch"]
        == max(
            (r for r in json.loads(json.dumps(load_checkpoint(Path(results["run_dir"]) / "last.pt")["history"]))),
            key=lambda r: r["val_spearman"],
        )["epoch"]
    )
    run = Path(results["run_dir"])
    for name in ("recipe.yaml", "metrics.csv", "curves.png", "results.json", "last.pt", "selected.pt"):
        assert (run / name).is_file(), name
    assert not list(run.glob(".tmp-*"))
    assert registry.load_recipe(run / "recipe.yaml")["train"]["epochs"] == 30
    assert len((run / "metrics.csv").read_text().splitlines()) == 31
    table = capsys.readouterr().out
    assert "validation-selected (headline)" in table and "best on test (optimistic" in table
    # The checkpoint rebuilds itself and tools/test.py reproduces the logged number.
    assert evaluate_tool(["--checkpoint", str(run / "selected.pt"), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["spearman"] == pytest.approx(results["selected"]["test_spearman"], abs=1e-6)
    # tools/predict.py scores the same videos the same way and draws the attention timelines.
    judged = {p["name"]: p for p in printed["predictions"]}
    totals = {line.split()[0]: float(line.split()[3]) for line in (data / "test.txt").read_text().splitlines()[1:]}
    assert {n: p["judged"] for n, p in judged.items()} == pytest.approx(totals)  # the annotation's Total column
    names = list(judged)[:2]
    argv = ["--checkpoint", str(run / "selected.pt"), "--feature-root", str(data), *names, "--json"]
    assert predict_tool([*argv, "--plot-dir", str(tmp_path / "plots")]) == 0
    predicted = json.loads(capsys.readouterr().out)
    for p in predicted:
        assert p["score"] == pytest.approx(judged[p["name"]]["predicted"], abs=1e-4)
        assert len(p["weights"]["dynamic"]) == len(np.load(data / "dynamic" / f"{p['name']}.npy"))
        assert (tmp_path / "plots" / f"{p['name']}_attention.png").stat().st_size > 1000
    # tools/export.py exports the trained checkpoint; the program scores like the eager model.
    assert export_tool(["--checkpoint", str(run / "selected.pt"), "--out", str(tmp_path / "m.pt2")]) == 0
    assert (tmp_path / "m.pt2").is_file() and (tmp_path / "m.pt2.recipe.yaml").is_file()


def test_same_seed_same_run(data: Path, tmp_path: Path) -> None:
    a = zoo.engine.train("actionnet/base", tiny_overrides(data, tmp_path / "a", epochs=3), progress=False)
    b = zoo.engine.train("actionnet/base", tiny_overrides(data, tmp_path / "b", epochs=3), progress=False)
    ha = load_checkpoint(Path(a["run_dir"]) / "last.pt")
    hb = load_checkpoint(Path(b["run_dir"]) / "last.pt")
    assert [r["train_loss"] for r in ha["history"]] == [r["train_loss"] for r in hb["history"]]
    for k in ha["model"]:
        assert torch.equal(ha["model"][k], hb["model"][k])


def test_last_epoch_is_headline_without_validation(data: Path, tmp_path: Path) -> None:
    results = zoo.engine.train(
        "actionnet/base", [*tiny_overrides(data, tmp_path, epochs=2), "data.val_fraction=0.0"], progress=False
    )
    assert results["headline"] == "last epoch" and results["selected"] is None


def test_bf16_autocast_trains(data: Path, tmp_path: Path) -> None:
    results = zoo.engine.train(
        "actionnet/base", [*tiny_overrides(data, tmp_path, epochs=2), "train.amp=bf16"], progress=False
    )
    assert np.isfinite(results["last"]["test_mse"])
    # The checkpoint evaluates under the autocast training evaluated under, so test reproduces the logged number.
    ckpt = Path(results["run_dir"]) / "last.pt"
    assert load_checkpoint(ckpt)["scoring"]["amp"] == "bf16"
    assert zoo.engine.test_checkpoint(ckpt, progress=False)["mse"] == pytest.approx(results["last"]["test_mse"])


# 6 batches per epoch: NaN in batch 9 is in epoch 2, in batch 21 in epoch 4.
@pytest.mark.parametrize(
    ("every", "calls", "said", "kept"),
    [
        (1, 9, r"epoch 2 .*last good checkpoint is kept: .*last\.pt \(epoch 1\)", 1),
        (2, 21, r"epoch 4 .*last good checkpoint is kept: .*last\.pt \(epoch 2\)", 2),  # the file's, not epoch 3
        (10, 9, r"epoch 2 .*This run has written no checkpoint yet \(run\.checkpoint_every=10\)", None),
    ],
)
def test_nan_loss_stops_and_keeps_last_good_checkpoint(
    data: Path, tmp_path: Path, registered: Any, every: int, calls: int, said: str, kept: int | None
) -> None:
    registered(LOSSES, "test_nan_after", NanAfter)
    ov = [
        *tiny_overrides(data, tmp_path, epochs=5),
        f"loss={{_replace_: true, type: test_nan_after, calls: {calls}}}",
        f"run.checkpoint_every={every}",
    ]
    with pytest.raises(zoo.engine.TrainingDiverged, match=said):
        zoo.engine.train("actionnet/base", ov, progress=False)
    (run,) = run_dirs(tmp_path)
    assert (load_checkpoint(run / "last.pt")["epoch"] if kept else (run / "last.pt").exists()) == (kept or False)


def test_per_class_protocol_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_feature_set(tmp_path / "two", classes=("Ball", "Hoop"))
    ov = [
        *(o for o in tiny_overrides(root, tmp_path / "runs") if not o.startswith("train.epochs=")),
        "data.classes=[Ball, Hoop]",
        "eval.per_class={Ball: {train.epochs: 2}, Hoop: {train.epochs: 1}}",
    ]
    results = zoo.engine.train_per_class("actionnet/base", ov, progress=False)
    assert list(results) == ["Ball", "Hoop"] and results["Hoop"]["epochs"] == 1
    out = capsys.readouterr().out
    assert "| headline |" in out and "Fisher-z avg" in out
    (table,) = (tmp_path / "runs" / "actionnet" / "base").glob("per_class-*/table.md")
    rho = [results[c]["spearman"] for c in results]
    assert f"{zoo.engine.metrics.fisher_z_mean(rho):.3f}" in table.read_text()
    # A key given on the command line wins over the per-class overrides of that key, and says so.
    capsys.readouterr()
    again = zoo.engine.train_per_class("actionnet/base", [*ov, "train.epochs=1"], progress=False)
    assert again["Ball"]["epochs"] == 1 and again["Hoop"]["epochs"] == 1
    assert "Ball: the command line's train.epochs wins over eval.per_class.Ball" in capsys.readouterr().out


def test_bad_input_is_explained(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert train_main(["actionnet/bsae"]) == 2
    assert "Did you mean: 'actionnet/base'" in capsys.readouterr().err
    assert train_main(["actionnet/base", "data.root=/nonexistent/rg"]) == 2
    err = capsys.readouterr().err
    assert "/nonexistent/rg" in err and "data.root=" in err and "actionnet/synthetic" in err
    assert train_main(["actionnet/base", *tiny_overrides(data, tmp_path), "train.epoch=3"]) == 2
    assert "'epochs'" in capsys.readouterr().err
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['train.epoch'\].*'epochs'"):
        zoo.engine.train("actionnet/base", [*tiny_overrides(data, tmp_path), "+train.epoch=3"])
    assert train_main(["actionnet/base", *tiny_overrides(data, tmp_path), "+model.head.dropuot=0.1"]) == 2
    assert "unknown argument(s) ['dropuot']. Did you mean: 'dropout'" in capsys.readouterr().err
    ov = [*tiny_overrides(data, tmp_path), "model.streams.dynamic.graph_layers.layer.type=gcn_unt"]
    assert train_main(["actionnet/base", *ov]) == 2
    assert "no component named 'gcn_unt'. Did you mean: 'gcn_unit'" in capsys.readouterr().err
