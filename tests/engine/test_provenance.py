"""Checkpoints, predictions and runs carry what made them, and whoever uses them checks it."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import zoo
from aqa_tools.predict import main as predict_tool
from aqa_tools.recipe import main as recipe_tool
from aqa_tools.test import main as evaluate_tool
from aqa_tools.train import main as train_tool
from registry import ConfigError, DiskFullError, RecipeError, UnwritableError, load_checkpoint, save_checkpoint
from registry.checkpoint import weights_digest
from registry.provenance import MismatchError
from tests.engine.helpers import make_feature_set, tiny_overrides
from zoo.data.features import Scoring
from zoo.engine.hooks import Hook
from zoo.engine.predict import judged_near
from zoo.engine.run import next_steps
from zoo.kinds import HOOKS


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_feature_set(tmp_path_factory.mktemp("features"), n_train=32, n_test=12)


@pytest.fixture(scope="module")
def trained(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    return Path(zoo.engine.train("actionnet/base", tiny_overrides(data, out, epochs=2), progress=False)["run_dir"])


# -- a checkpoint is evaluated only as it was trained ------------------------------------------------------
def test_a_checkpoint_is_tested_only_with_the_recipe_that_trained_it(
    data: Path, trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt = trained / "last.pt"
    ov = tiny_overrides(data, tmp_path, epochs=2)
    # Another recipe whose weights have the same shapes (a kNN graph instead of the temporal one).
    with pytest.raises(MismatchError, match=r"model\.streams\.dynamic\.graph\.type: 'temporal_decay' in the che"):
        zoo.engine.test_checkpoint(ckpt, "actionnet/knn_graph", ov, progress=False)
    # An override that changes the model at test time.
    changed = [f"data.root={data}", "model.streams.dynamic.graph_layers.activation=tanh"]
    with pytest.raises(MismatchError, match=r"graph_layers\.activation: 'relu' in the checkpoint, 'tanh' given"):
        zoo.engine.test_checkpoint(ckpt, overrides=changed, progress=False)
    # Another target column: the judged scores would be of another kind than the predictions.
    with pytest.raises(MismatchError, match=r"data\.target: 'total' in the checkpoint, 'difficulty' given"):
        zoo.engine.test_checkpoint(ckpt, overrides=[f"data.root={data}", "data.target=difficulty"], progress=False)
    # Where the data lives may change freely; accepted, a mismatch is printed with the result.
    assert evaluate_tool(["--checkpoint", str(ckpt), f"data.root={data}", "--no-progress"]) == 0
    assert "ACCEPTED" not in capsys.readouterr().out
    code = evaluate_tool(["--checkpoint", str(ckpt), *changed, "--no-progress", "--accept-mismatch"])
    out = capsys.readouterr().out
    assert code == 0 and "[ACCEPTED MISMATCH: not the checkpoint's own result" in out
    assert "accepted: the recipe does not score the way checkpoint" in out and "activation" in out


def test_registry_load_checks_the_recipe_it_is_given(trained: Path) -> None:
    import registry

    own = load_checkpoint(trained / "last.pt")["recipe"]
    registry.load(trained / "last.pt", recipe=own)  # the recipe it was trained with
    other = json.loads(json.dumps(own))
    other["model"]["streams"]["static"]["attention"]["hidden_dim"] = 64
    with pytest.raises(MismatchError, match=r"attention\.hidden_dim: 128 in the checkpoint, 64 in the recipe"):
        registry.load(trained / "last.pt", recipe=other)
    assert registry.load(trained / "last.pt", recipe=other, accept_mismatch=True) is not None


def test_a_checkpoint_edited_after_saving_is_refused(trained: Path, tmp_path: Path) -> None:
    ckpt = load_checkpoint(trained / "last.pt")
    ckpt["recipe"]["model"]["streams"]["dynamic"]["graph_layers"]["activation"] = "tanh"  # same weights, other model
    torch.save(ckpt, tmp_path / "edited.pt")
    with pytest.raises(RecipeError, match=r"was changed after it was saved: its recipe no longer matches"):
        load_checkpoint(tmp_path / "edited.pt")


def test_judged_scores_are_read_from_the_column_the_model_was_trained_on(tmp_path: Path) -> None:
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "Ball_001.mp4").write_bytes(b"")
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "test.txt").write_text(
        "Video_Name\tDifficulty_Score\tExecution_Score\tTotal_Score\tPenalty\tVideo_length\n"
        "Ball_001\t3.30\t6.21\t9.51\t0.00\t90\n"
    )
    video = [str(tmp_path / "videos" / "Ball_001.mp4")]
    assert judged_near(video, Scoring(25.0, {}, target="difficulty", format="rg")) == {"Ball_001": 3.30}
    assert judged_near(video, Scoring(25.0, {}, target="total", format="rg")) == {"Ball_001": 9.51}
    assert judged_near(video, Scoring(45.0, {}, target="tes", format="fisv")) == {}  # no such column here


# -- predictions.json: made by the checkpoint it names ---------------------------------------------------
class LoseSelected(Hook):
    """Test plugin: keep a copy of selected.pt, then delete it after the last epoch (as a full disk or a user might)."""

    def __init__(self, epoch: int, keep: str) -> None:
        self.epoch, self.keep = epoch, keep

    def __call__(self, trainer: Any, epoch: int) -> None:
        if epoch == self.epoch and (trainer.run_dir / "selected.pt").exists():
            shutil.copy(trainer.run_dir / "selected.pt", self.keep)
            (trainer.run_dir / "selected.pt").unlink()


def test_predictions_labelled_validation_selected_are_the_selected_weights_even_if_the_file_is_gone(
    data: Path, tmp_path: Path, registered: Any
) -> None:
    registered(HOOKS, "test_lose_selected", LoseSelected)
    keep = tmp_path / "kept_selected.pt"
    hooks = f"train.hooks=[{{type: test_lose_selected, epoch: 4, keep: '{keep}'}}]"
    results = zoo.engine.train("actionnet/base", [*tiny_overrides(data, tmp_path, epochs=4), hooks], progress=False)
    run = Path(results["run_dir"])
    assert results["headline"] == "validation-selected" and not (run / "selected.pt").exists()
    predictions = json.loads((run / "predictions.json").read_text())
    selected = load_checkpoint(keep)
    assert predictions["checkpoint"] == {
        "file": "selected.pt",
        "epoch": results["selected"]["epoch"],
        "weights": weights_digest(selected["model"]),
    }
    tested = zoo.engine.test_checkpoint(keep, progress=False)
    by_name = {p["name"]: p["predicted"] for p in tested["predictions"]}
    for p in predictions["splits"]["test"]:
        assert p["predicted"] == pytest.approx(by_name[p["name"]], abs=1e-5)
    assert predictions["streams"]["dynamic"]["input"] == "dynamic"  # what the report needs, recorded


# -- selected.pt: written off the training loop, never behind last.pt ----------------------------------------
class CheckSelected(Hook):
    """Test plugin: after every epoch (each writes last.pt here), last.pt's selection is what selected.pt holds."""

    def __call__(self, trainer: Any, epoch: int) -> None:
        best = load_checkpoint(trainer.run_dir / "last.pt")["best"]
        if best is not None:
            assert load_checkpoint(trainer.run_dir / "selected.pt")["epoch"] == best["epoch"], f"epoch {epoch}"


def test_selected_pt_is_written_by_another_thread_and_never_behind_last_pt(
    data: Path, tmp_path: Path, registered: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zoo.engine import trainer as trainer_module

    real, threads = trainer_module.save_checkpoint, []

    def slow(path: Path, state: dict[str, Any]) -> Path:
        if Path(path).name == "selected.pt":
            threads.append(threading.current_thread().name)
            time.sleep(0.3)  # a write still running when last.pt is due: last.pt must wait for it
        return real(path, state)

    monkeypatch.setattr(trainer_module, "save_checkpoint", slow)
    registered(HOOKS, "test_check_selected", CheckSelected)
    extra = ["run.checkpoint_every=1", "train.hooks=[{type: test_check_selected}]"]
    results = zoo.engine.train("actionnet/base", [*tiny_overrides(data, tmp_path, epochs=4), *extra], progress=False)
    assert threads and all(name.startswith("zoo-writer") for name in threads)  # off the training loop
    selected = load_checkpoint(Path(results["run_dir"]) / "selected.pt")
    assert selected["epoch"] == results["selected"]["epoch"]
    assert selected["metrics"]["val_spearman"] == results["selected"]["val_spearman"]


def test_a_selected_pt_that_cannot_be_written_fails_the_run_naming_it(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zoo.engine import trainer as trainer_module

    real = trainer_module.save_checkpoint

    def full(path: Path, state: dict[str, Any]) -> Path:
        if Path(path).name == "selected.pt":
            raise DiskFullError(f"no space left on {Path(path).parent} while writing selected.pt")
        return real(path, state)

    monkeypatch.setattr(trainer_module, "save_checkpoint", full)
    with pytest.raises(DiskFullError, match="while writing selected.pt"):
        zoo.engine.train("actionnet/base", tiny_overrides(data, tmp_path, epochs=3), progress=False)
    (state,) = tmp_path.glob("actionnet/base/*/run.json")
    assert json.loads(state.read_text())["status"] == "failed"


class CrashAt(Hook):
    """Test plugin: the run crashes after epoch ``epoch``."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def __call__(self, trainer: Any, epoch: int) -> None:
        if epoch == self.epoch:
            raise RuntimeError("test crash")


def test_resume_refuses_a_selected_pt_of_another_epoch(data: Path, tmp_path: Path, registered: Any) -> None:
    registered(HOOKS, "test_crash_at", CrashAt)
    ov = [
        *tiny_overrides(data, tmp_path, epochs=4),
        "run.checkpoint_every=1",
        "train.hooks=[{type: test_crash_at, epoch: 3}]",
    ]
    with pytest.raises(RuntimeError, match="test crash"):
        zoo.engine.train("actionnet/base", ov, progress=False)
    (run,) = (p.parent for p in tmp_path.glob("actionnet/base/*/last.pt"))
    best = load_checkpoint(run / "last.pt")["best"]
    assert best is not None
    kept = load_checkpoint(run / "selected.pt")
    assert kept["epoch"] == best["epoch"]
    save_checkpoint(
        run / "selected.pt", {k: v for k, v in kept.items() if k not in ("format", "fingerprint")} | {"epoch": 99}
    )
    with pytest.raises(RecipeError, match=rf"selection is epoch {best['epoch']} but selected.pt holds epoch 99"):
        zoo.engine.train("actionnet/base", ov, resume=run, progress=False)


# -- features far outside the training features --------------------------------------------------------
def test_absurd_features_in_the_test_window_are_an_error_not_the_maximum_score(
    data: Path, trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "absurd"
    shutil.copytree(data, root)
    name = (root / "test.txt").read_text().splitlines()[1].split()[0]
    x = np.load(root / "dynamic" / f"{name}.npy")
    x[len(x) // 2, 3] = 3e38  # finite: in the middle of the window that testing reads
    np.save(root / "dynamic" / f"{name}.npy", x)
    assert evaluate_tool(["--checkpoint", str(trained / "last.pt"), f"data.root={root}", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"{name}: input 'dynamic' holds 3e+38" in err and "training features never exceeded" in err
    # Training on the same folder refuses before its first epoch: the test split is checked against the training
    # features' statistics when the data is loaded.
    assert train_tool(["actionnet/base", *tiny_overrides(root, tmp_path / "runs", epochs=1)]) == 2
    err = capsys.readouterr().err
    assert f"{name}: input 'dynamic' holds 3e+38" in err and "the test split" in err
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").rglob("last.pt"))


# -- bad input: named errors, not tracebacks -----------------------------------------------------------------
def test_a_component_written_as_a_bare_string_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for override, kind in (("loss=mse", "losses"), ("model.head=mlp", "heads")):
        assert recipe_tool(["actionnet/base", override]) == 2
        err = capsys.readouterr().err
        assert f"{kind}: a component is a mapping with a 'type' key, not the bare string" in err
        assert "Write {type: " in err and "Traceback" not in err
    from zoo.kinds import ATTENTION

    with pytest.raises(ConfigError, match=r"not the bare string 'mean'\. Write \{type: mean\}"):
        ATTENTION.build("mean")


def test_unwritable_places_are_named(
    data: Path, trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("in the way")  # a file where a folder should be: refused for root too
    code = train_tool(["actionnet/base", *tiny_overrides(data, blocker / "runs", epochs=1)])
    err = capsys.readouterr().err
    assert code == 2 and f"cannot create run folders in (run.out) {blocker / 'runs'}" in err
    name = (data / "test.txt").read_text().splitlines()[1].split()[0]
    ckpt = str(trained / "last.pt")
    assert predict_tool(["--checkpoint", ckpt, "--feature-root", str(data), name, "--plot-dir", str(blocker)]) == 2
    assert "cannot write the attention timelines into" in capsys.readouterr().err
    from aqa_tools.export import main as export_tool

    assert export_tool(["--checkpoint", ckpt, "--out", str(blocker / "m.pt2")]) == 2
    assert f"cannot write m.pt2 into the folder {blocker}" in capsys.readouterr().err
    with pytest.raises(UnwritableError):
        zoo.engine.rundir.create_run_dir(blocker, "x", zoo.engine.distributed.World())


def test_a_batch_norm_over_a_single_instance_is_named(tmp_path: Path) -> None:
    root = make_feature_set(tmp_path, n_train=6, n_test=3)
    for f in (root / "dynamic").glob("*.npy"):
        np.save(f, np.load(f)[:1])  # one clip per video
    ov = [
        f"data.root={root}",
        "data.annotations={train: train.txt, test: test.txt}",
        "model.inputs={dynamic: 12}",
        "train.epochs=1",
        "train.batch_size=1",
        f"run.out={tmp_path / 'runs'}",
        "run.tensorboard=false",
        "run.progress=false",
    ]
    with pytest.raises(zoo.errors.DataError, match=r"batch norm over instances .* got 1 value\(s\) per channel"):
        zoo.engine.train("peers/ms_lstm", ov, progress=False)


# -- messages -------------------------------------------------------------------------------------------
def test_next_commands_quote_paths_with_spaces() -> None:
    text = next_steps({"run_dir": "/tmp/my runs/actionnet/base/1", "selected": True})
    assert "tools/test.py --checkpoint '/tmp/my runs/actionnet/base/1/selected.pt'" in text
    assert "tools/report.py '/tmp/my runs/actionnet/base/1'" in text


def test_a_recipe_that_shadows_a_built_in_one_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from registry import recipe as recipes

    (tmp_path / "actionnet").mkdir()
    (tmp_path / "actionnet" / "base.yaml").write_text("_base_: []\n")
    recipes.RECIPE_PATHS.insert(0, tmp_path)  # as AQA_RECIPE_PATH does
    try:
        assert recipes.find_recipe("actionnet/base") == tmp_path / "actionnet" / "base.yaml"
    finally:
        recipes.RECIPE_PATHS.remove(tmp_path)
    err = capsys.readouterr().err
    assert f"recipe 'actionnet/base' is {tmp_path / 'actionnet' / 'base.yaml'}, which shadows" in err


def test_early_stopping_without_a_validation_split_is_refused(data: Path, tmp_path: Path) -> None:
    ov = [
        *tiny_overrides(data, tmp_path, epochs=1),
        "data.val_fraction=0.0",
        "train.hooks=[{type: early_stopping, patience: 5}]",
    ]
    with pytest.raises(ConfigError, match="early_stopping .* the data has no validation split"):
        zoo.engine.train("actionnet/base", ov, progress=False)


def test_each_class_warning_names_its_class(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_feature_set(tmp_path, n_train=24, n_test=8, classes=("Ball", "Hoop"))
    ov = [*tiny_overrides(root, tmp_path / "runs", epochs=1), "eval.per_class={Ball: null, Hoop: null}"]
    zoo.engine.train_per_class("actionnet/base", ov, progress=False)
    out = capsys.readouterr().out
    assert "warning (actionnet/base [Ball]): the validation split" in out
    assert "warning (actionnet/base [Hoop]): the validation split" in out
