"""Runs in other processes: killed mid-way then resumed; and two DDP processes under torchrun."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import zoo
from registry import load_checkpoint
from tests.engine.helpers import make_feature_set, tiny_overrides

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, **kw)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_feature_set(tmp_path_factory.mktemp("features"))


def history(run_dir: Path) -> list[dict]:
    return load_checkpoint(run_dir / "last.pt")["history"]


@pytest.mark.slow  # seconds of other processes or of rendering: skip with -m 'not slow'
def test_killed_or_signalled_run_resumes_to_the_same_result(data: Path, tmp_path: Path) -> None:
    ov = [*tiny_overrides(data, tmp_path / "killed", epochs=6), "run.checkpoint_every=3"]
    # SIGKILL after epoch 3 (last.pt written there: every 3 epochs); after resuming, SIGTERM at the end of
    # epoch 4: the run finishes epoch 5, saves it and stops, resumable.
    plugins = "[{type: test_kill_at_epoch, epoch: 3}, {type: test_signal_at_epoch, epoch: 4, signal: SIGTERM}]"
    train = [sys.executable, "tools/train.py", "actionnet/base", *ov, "imports=[zoo, tests.engine.kill_plugin]"]
    train.append(f"train.hooks={plugins}")
    first = run(train)
    assert first.returncode == -9, first.stderr  # SIGKILL, mid-way
    (run_dir,) = (tmp_path / "killed" / "actionnet" / "base").iterdir()
    assert load_checkpoint(run_dir / "last.pt")["epoch"] == 3
    assert not list(run_dir.glob(".tmp-*")) and not (run_dir / "results.json").exists()
    signalled = run([*train, "--resume"])
    assert signalled.returncode == 128 + signal.SIGTERM, signalled.stderr
    assert "SIGTERM: finishing epoch 5 of 6, then saving last.pt" in signalled.stderr
    assert f"stopped: SIGTERM: stopped after epoch 5 of 6; {run_dir / 'last.pt'} holds it" in signalled.stderr
    assert "tools/train.py actionnet/base --resume" in signalled.stderr
    assert load_checkpoint(run_dir / "last.pt")["epoch"] == 5  # saved at the signal, not at the next multiple of 3
    state = json.loads((run_dir / "run.json").read_text())
    assert (state["status"], state["epoch"], state["signal"]) == ("interrupted", 5, "SIGTERM")
    assert not (run_dir / "results.json").exists()
    resumed = run([*train, "--resume"])
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run_dir / "run.json").read_text())["status"] == "finished"
    # The same run without interruption, in this process (same threads: OMP_NUM_THREADS=1).
    torch_threads = zoo.engine.trainer.torch.get_num_threads()
    zoo.engine.trainer.torch.set_num_threads(1)
    try:
        straight = zoo.engine.train("actionnet/base", tiny_overrides(data, tmp_path / "straight", epochs=6))
    finally:
        zoo.engine.trainer.torch.set_num_threads(torch_threads)
    a, b = history(run_dir), history(Path(straight["run_dir"]))
    assert [r["epoch"] for r in a] == list(range(1, 7))
    for ra, rb in zip(a, b):
        for key in ("train_loss", "val_spearman", "test_spearman", "test_mse"):
            assert ra[key] == pytest.approx(rb[key], rel=1e-5, abs=1e-6), (ra["epoch"], key)


@pytest.mark.slow  # seconds of other processes or of rendering: skip with -m 'not slow'
def test_two_ddp_processes_match_one(data: Path, tmp_path: Path) -> None:
    ov = tiny_overrides(data, tmp_path / "ddp", epochs=3)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29731"]
    done = run([*torchrun, "tools/train.py", "actionnet/base", *ov])
    assert done.returncode == 0, done.stderr[-3000:]
    runs = list((tmp_path / "ddp" / "actionnet" / "base").iterdir())
    assert len(runs) == 1  # one writer
    single = zoo.engine.train("actionnet/base", tiny_overrides(data, tmp_path / "single", epochs=3))
    a, b = history(runs[0]), history(Path(single["run_dir"]))
    for ra, rb in zip(a, b):
        assert ra["train_loss"] == pytest.approx(rb["train_loss"], rel=1e-4)
        assert ra["test_mse"] == pytest.approx(rb["test_mse"], rel=1e-4)
        assert ra["test_spearman"] == pytest.approx(rb["test_spearman"], abs=1e-3)
