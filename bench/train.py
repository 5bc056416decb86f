"""Benchmark: seconds per training epoch of the zoo's trainer against a minimal loop.

    python bench/train.py [--rounds 5] [--threads N] [--data DIR]

RG-shaped features are written to disk once (200 training + 50 test videos, 26-31 clips x 1024 and
80-95 crops x 2048, as ACTION-NET's), then the actionnet/base recipe (batch 32, SGD with the
authors' groups) is trained by:

* the tool: ``zoo.engine.Trainer`` (what tools/train.py runs): features read from disk into memory,
  windows cut per batch with a random start, masks, optimiser groups, schedule;
* a minimal loop: the same model and optimiser on pre-cut in-memory tensors, nothing else;
* the tool with ``train.amp=bf16``.

Epochs of the three alternate in one process and the medians are compared (target: tool <= 1.2x
the minimal loop; bf16 faster than the minimal fp32 loop). A full ``fit()`` of a few epochs is
also timed, evaluation and checkpointing included, for reference.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

import zoo
from registry import build_model, load_recipe
from zoo.engine.optim import build_optimizer

HEADER = "Video_Name\tDifficulty_Score\tExecution_Score\tTotal_Score\tPenalty\tVideo_length\n"


def write_rg_features(root: Path, n_train: int = 200, n_test: int = 50, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    rows = {"train": [HEADER], "test": [HEADER]}
    for key in ("dynamic", "static"):
        (root / key).mkdir(parents=True, exist_ok=True)
    for i in range(n_train + n_test):
        name = f"Ball_{i:03d}"
        np.save(root / "dynamic" / f"{name}.npy", rng.normal(size=(int(rng.integers(26, 32)), 1024)).astype(np.float32))
        np.save(root / "static" / f"{name}.npy", rng.normal(size=(int(rng.integers(80, 96)), 2048)).astype(np.float32))
        d, e = rng.uniform(3, 12), rng.uniform(2, 9)
        rows["train" if i < n_train else "test"].append(f"{name}\t{d:.2f}\t{e:.2f}\t{d + e:.2f}\t0.00\t90\n")
    for split, lines in rows.items():
        (root / f"rg_{split}.txt").write_text("".join(lines))
    return root


class MinimalLoop:
    """The same model and optimiser, tensors pre-cut to 26 / 80 instances, nothing else."""

    def __init__(self, recipe: dict, data: zoo.data.features.FeatureData) -> None:
        torch.manual_seed(0)
        self.model = build_model(recipe).train()
        self.opt = build_optimizer(self.model, recipe["optim"])
        split = data.train
        self.dyn = torch.stack([torch.from_numpy(np.asarray(a[:26])) for a in split.features["dynamic"]])
        self.sta = torch.stack([torch.from_numpy(np.asarray(a[:80])) for a in split.features["static"]])
        self.target = split.target.clone()
        self.batch = int(recipe["train"]["batch_size"])

    def epoch(self) -> None:
        order = torch.randperm(len(self.target))
        for start in range(0, len(order), self.batch):
            idx = order[start : start + self.batch]
            out = self.model({"dynamic": self.dyn[idx], "static": self.sta[idx]})
            loss = F.mse_loss(out["score"], self.target[idx])
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()


def timed(fn) -> float:
    tic = time.perf_counter()
    fn()
    return time.perf_counter() - tic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="epochs of each contender (after one warm-up)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: leave the default)")
    parser.add_argument("--data", help="folder for the RG-shaped features (default: a temp folder)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = write_rg_features(Path(args.data or tmp) / "rg")
        out = Path(tmp) / "runs"
        base = [f"data.root={root}", f"run.out={out}", "run.device=cpu", "run.progress=false", "train.epochs=100"]
        fp32 = load_recipe("actionnet/base", base)
        bf16 = load_recipe("actionnet/base", [*base, "train.amp=bf16"])
        tool = zoo.engine.Trainer(fp32, out / "fp32", progress=False)
        tool_bf16 = zoo.engine.Trainer(bf16, out / "bf16", progress=False)
        minimal = MinimalLoop(fp32, tool.data)
        contenders = {
            "tool (fp32)": tool.train_epoch,
            "minimal loop (fp32)": minimal.epoch,
            "tool (bf16)": tool_bf16.train_epoch,
        }
        times: dict[str, list[float]] = {k: [] for k in contenders}
        for r in range(args.rounds + 1):
            for name, fn in contenders.items():
                t = timed(fn)
                if r:  # round 0 warms up
                    times[name].append(t)
        med = {k: statistics.median(v) for k, v in times.items()}
        full = zoo.engine.Trainer(
            load_recipe("actionnet/base", [*base, "train.epochs=3"]), out / "full", progress=False
        )
        wall = timed(full.fit) / 3
        print(f"200 training videos, batch 32, {torch.get_num_threads()} threads, {args.rounds} epochs each (medians):")
        for name, m in med.items():
            print(f"  {name:<22} {m:7.2f} s/epoch")
        print(f"  ratio tool / minimal         = {med['tool (fp32)'] / med['minimal loop (fp32)']:.3f} (target <= 1.2)")
        print(f"  ratio tool bf16 / minimal fp32 = {med['tool (bf16)'] / med['minimal loop (fp32)']:.3f} (target < 1)")
        print(
            f"  full fit() of 10 epochs, evaluation of the 50 test videos and a checkpoint after each: "
            f"{wall:.2f} s/epoch (the one-off plot and warm-up included)"
        )


if __name__ == "__main__":
    main()
