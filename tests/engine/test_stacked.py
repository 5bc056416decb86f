"""Seeds stacked: several seeds trained in one process as one batched model take each seed's own steps."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch
from torch import Tensor, nn

from aqa_tools.train import main as train_main
from registry import ConfigError, load_checkpoint, load_recipe
from tests.engine.helpers import CrashInSeed, make_feature_set, tiny_overrides
from zoo.engine.hooks import Hook
from zoo.engine.sections import check_recipe, with_seed
from zoo.engine.seeds import model_inputs, stacking_refused, train_seeds
from zoo.engine.stacked import why_not_stacked
from zoo.engine.trainer import Trainer, TrainingInterrupted, build_data
from zoo.heads.base import Head
from zoo.kinds import HEADS, HOOKS

SEEDS = [0, 1, 2]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_feature_set(tmp_path_factory.mktemp("features"), n_train=32, n_test=12)


def recipe(root: Path, out: Path, *more: str, epochs: int = 3) -> dict[str, Any]:
    # Dropout on: each seed's masks must come from its own stream, as they would alone.
    # Stacked on the CPU too (train.stack_seeds: auto stacks on a GPU only), where CI can test it.
    overrides = [*tiny_overrides(root, out, epochs=epochs), "model.head.dropout=0.5", "train.stack_seeds=true"]
    return load_recipe("actionnet/base", [*overrides, *more])


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU here")


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=CUDA)])
def test_stacked_seeds_take_the_steps_each_seed_takes_alone(root: Path, tmp_path: Path, device: str) -> None:
    # On a GPU torch's dropout is a fused kernel with a stream of its own: stacked seeds draw their masks another
    # way (the same distribution), so there the steps are compared without dropout.
    more = ["run.device=cuda", "model.head.dropout=0.0"] if device == "cuda" else []
    rel = 1e-4 if device == "cuda" else 1e-5  # a GPU's scatter-adds are not ordered
    rc = recipe(root, tmp_path, *more)
    data = build_data(check_recipe(rc), model_inputs(check_recipe(rc)), progress=False)
    assert stacking_refused(check_recipe(rc), data, torch.device(device), len(SEEDS)) is None
    alone = train_seeds(rc, SEEDS, tmp_path / "alone", name="actionnet/base", data=data)
    stacked = train_seeds(rc, SEEDS, tmp_path / "stacked", name="actionnet/base", data=data, stacked=True)
    for a, s in zip(alone, stacked):
        assert a.ok and s.ok, (a.error, s.error)
        assert s.results["stacked"]["seeds"] == SEEDS and "stacked" not in a.results
        assert s.results["provenance"]["recipe"] == a.results["provenance"]["recipe"]  # the same run, only faster
        for key in ("last", "selected"):
            want, got = a.results[key], s.results[key]
            assert got["epoch"] == want["epoch"]
            for metric in ("test_mse", "val_mse", "test_relative_l2"):  # rounding of batched sums, no more
                assert got[metric] == pytest.approx(want[metric], rel=rel), (s.seed, key, metric)
        ha = load_checkpoint(Path(a.run_dir) / "last.pt")["history"]
        hs = load_checkpoint(Path(s.run_dir) / "last.pt")["history"]
        assert [r["train_loss"] for r in hs] == pytest.approx([r["train_loss"] for r in ha], rel=rel)
    # Different seeds stayed different (the stack did not tie them together).
    assert stacked[0].results["last"]["test_mse"] != stacked[1].results["last"]["test_mse"]


class _Sum(nn.Module):
    """A toy model for the probe: ``reads_item`` calls ``.item()`` (vmap cannot), else it ignores the mask."""

    inputs: ClassVar[dict[str, int]] = {"dynamic": 12, "static": 16}

    def __init__(self, reads_item: bool) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(()))
        self.reads_item = reads_item

    def forward(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        x = batch["dynamic"]
        if self.reads_item:
            return {"score": x.mean(dim=(1, 2)) * float(x.sum().item() > 0) * self.w}
        return {"score": x.mean(dim=(1, 2)) * self.w}  # padding changes the mean: not the same computation


def test_what_cannot_be_stacked_says_why(root: Path, tmp_path: Path) -> None:
    rc = check_recipe(recipe(root, tmp_path))
    data = build_data(rc, model_inputs(rc), progress=False)
    cpu = torch.device("cpu")
    assert "item" in why_not_stacked(rc, _Sum(reads_item=True), data, cpu)
    assert "the stacked forward differs from the model's own" in why_not_stacked(rc, _Sum(False), data, cpu)
    batch_norm = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    assert "1 (BatchNorm1d: batch statistics)" in why_not_stacked(rc, batch_norm, data, cpu)
    assert stacking_refused(rc, data, cpu, 2, parallel=2) == "--parallel-seeds 2 asks for processes"
    off = check_recipe(recipe(root, tmp_path, "train.stack_seeds=false"))
    assert stacking_refused(off, data, cpu, 2) == "train.stack_seeds is false"
    auto = check_recipe(recipe(root, tmp_path, "train.stack_seeds=auto"))  # the default: a GPU's seeds only
    assert stacking_refused(auto, data, cpu, 2).startswith("on the CPU, stacked seeds measured slower")
    with pytest.raises(ConfigError, match="stack_seeds"):
        check_recipe(recipe(root, tmp_path, "train.stack_seeds=maybe"))
    fp16 = check_recipe(recipe(root, tmp_path, "train.amp=fp16"))
    assert "fp16" in stacking_refused(fp16, data, cpu, 2)


def test_the_tool_stacks_seeds_and_says_so(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["actionnet/base", "--seeds", "0,1", *tiny_overrides(root, tmp_path, epochs=2), "train.stack_seeds=true"]
    argv.append("--no-progress")
    assert train_main(argv) == 0
    out = capsys.readouterr().out
    assert "seeds 0, 1 into" in out and "stacked in one process (one batched model)" in out
    (parent,) = (tmp_path / "actionnet" / "base").iterdir()
    summary = json.loads((parent / "results.json").read_text())
    assert summary["stacked"] is True and summary["failed"] == []
    for entry in summary["seeds"]:
        assert entry["results"]["stacked"]["seeds"] == [0, 1]
        assert "this seed's share" in entry["results"]["stacked"]["note"]


def test_a_seed_that_fails_leaves_the_stacked_others_going(root: Path, tmp_path: Path, registered: Any) -> None:
    registered(HOOKS, "test_crash_in_stacked_seed", CrashInSeed)
    rc = recipe(root, tmp_path, "train.hooks=[{type: test_crash_in_stacked_seed, seed: 1}]")
    runs = train_seeds(rc, SEEDS, tmp_path / "parent", name="actionnet/base", stacked=True)
    assert [r.ok for r in runs] == [True, False, True]
    assert runs[1].error == "RuntimeError: test crash in seed 1" and "Traceback" in runs[1].traceback
    assert json.loads((tmp_path / "parent" / "seed1" / "run.json").read_text())["status"] == "failed"
    for r in (runs[0], runs[2]):
        assert r.results["epochs"] == 3 and r.results["stacked"]["seeds"] == SEEDS


class NanInSeed(Hook):
    """Test plugin: from its second epoch on, one seed's loss is NaN (the others' stay finite)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __call__(self, trainer: Any, epoch: int) -> None:
        if trainer.sections.train.seed == self.seed:
            trainer.loss_fn = lambda out, target: (out["score"] - target).pow(2).mean() * float("nan")


def test_a_seed_that_diverges_is_named_and_the_stacked_others_finish(
    root: Path, tmp_path: Path, registered: Any
) -> None:
    registered(HOOKS, "test_nan_in_seed", NanInSeed)
    rc = recipe(root, tmp_path, "train.hooks=[{type: test_nan_in_seed, seed: 2}]", "run.checkpoint_every=1")
    runs = train_seeds(rc, SEEDS, tmp_path / "parent", name="actionnet/base", stacked=True)
    assert [r.ok for r in runs] == [True, True, False]
    assert runs[2].error.startswith("TrainingDiverged: the loss became nan in epoch 2 (batch 1)"), runs[2].error
    assert runs[2].exit_code == 3 and "seed2/last.pt (epoch 1)" in runs[2].error
    assert [r.results["epochs"] for r in runs[:2]] == [3, 3]


class EvalScaleHead(Head):
    """Test plugin: a linear head whose evaluation scores are multiplied by a buffer (1 unless a test poisons it)."""

    def __init__(self, in_dim: int) -> None:
        super().__init__()
        self.fc = nn.Linear(in_dim, 1)
        self.register_buffer("scale", torch.ones(()))

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        score = self.fc(x).squeeze(-1)
        return {"score": score if self.training else score * self.scale}


class PoisonEval(Hook):
    """Test plugin: after epoch 1, seed ``seed``'s evaluation scores become NaN (its training stays finite)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __call__(self, trainer: Any, epoch: int) -> None:
        if trainer.sections.train.seed == self.seed and epoch == 1:
            trainer.model.head.scale.fill_(float("nan"))


def test_a_seed_whose_evaluation_is_not_finite_fails_as_alone_and_the_others_finish(
    root: Path, tmp_path: Path, registered: Any
) -> None:
    registered(HEADS, "test_eval_scale", EvalScaleHead)
    registered(HOOKS, "test_poison_eval", PoisonEval)
    rc = recipe(root, tmp_path, "model.head={type: test_eval_scale}", "train.hooks=[{type: test_poison_eval, seed: 1}]")
    runs = train_seeds(rc, SEEDS, tmp_path / "stacked", name="actionnet/base", stacked=True)
    assert [r.ok for r in runs] == [True, False, True]
    assert [r.results["epochs"] for r in (runs[0], runs[2])] == [3, 3]
    (alone,) = train_seeds(rc, [1], tmp_path / "alone", name="actionnet/base", stacked=False)
    assert runs[1].error.startswith("NonFiniteError: the model's output is NaN or inf for ")
    assert runs[1].error == alone.error.replace(str(tmp_path / "alone"), str(tmp_path / "stacked"))


class SignalAfter(Hook):
    """Test plugin: this process gets SIGINT after epoch ``epoch`` of seed 0 (as a terminal's Ctrl-C would)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def __call__(self, trainer: Any, epoch: int) -> None:
        if trainer.sections.train.seed == 0 and epoch == self.epoch:
            os.kill(os.getpid(), signal.SIGINT)


def test_a_stop_signal_stops_every_stacked_seed_saved_and_resumable(
    root: Path, tmp_path: Path, registered: Any
) -> None:
    registered(HOOKS, "test_signal_after", SignalAfter)
    rc = recipe(root, tmp_path, "train.hooks=[{type: test_signal_after, epoch: 1}]", epochs=5)
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN where the suite runs in the background (CI's shell)
    with pytest.raises(TrainingInterrupted, match=r"(?s)seed 0: stopped: SIGINT.*seed 2: stopped: SIGINT") as e:
        train_seeds(rc, SEEDS, tmp_path / "parent", name="actionnet/base", stacked=True)
    assert e.value.exit_code == 128 + signal.SIGINT
    for seed in SEEDS:
        folder = tmp_path / "parent" / f"seed{seed}"
        state = json.loads((folder / "run.json").read_text())
        # The signal came in epoch 1's hooks, after that epoch's check: every seed ends after epoch 2, saved.
        assert (state["status"], state["epoch"]) == ("interrupted", 2), state
        ckpt = load_checkpoint(folder / "last.pt")
        assert ckpt["epoch"] == 2 and len(ckpt["history"]) == 2
        assert f"--resume {folder}" in str(e.value)
    assert signal.getsignal(signal.SIGINT) == before  # the handler given back
    # Resumed alone, a seed's results still say which of its epochs were trained stacked, and with whom.
    resumed = Trainer(with_seed(rc, 0), tmp_path / "parent" / "seed0", name="actionnet/base", resume=True).fit()
    assert resumed["epochs"] == 5 and {k: resumed["stacked"][k] for k in ("seeds", "epochs")} == {
        "seeds": SEEDS,
        "epochs": 2,
    }
