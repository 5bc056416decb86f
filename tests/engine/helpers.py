"""A tiny RG-format feature set whose scores are a known function of the features, and test plugins."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from zoo.engine.hooks import Hook
from zoo.losses import Loss

HEADER = "Video_Name\tDifficulty_Score\tExecution_Score\tTotal_Score\tPenalty\tVideo_length\n"
DIMS = {"dynamic": 12, "static": 16}


def make_feature_set(
    root: Path, n_train: int = 64, n_test: int = 24, seed: int = 0, classes: tuple[str, ...] = ("Ball",)
) -> Path:
    """Videos of 6-14 clips / 10-24 frames; the score rises with a direction in each stream's features."""
    rng = np.random.default_rng(seed)
    lines = {"train": [HEADER], "test": [HEADER]}
    for i in range(n_train + n_test):
        name = f"{classes[i % len(classes)]}_{i:03d}"
        quality = rng.uniform(0, 1, size=2)
        for k, (key, dim) in enumerate(DIMS.items()):
            n = int(rng.integers(6, 15)) if key == "dynamic" else int(rng.integers(10, 25))
            x = rng.normal(size=(n, dim)).astype(np.float32)
            x[:, 0] += 3 * quality[k]  # the signal: one direction per stream
            (root / key).mkdir(parents=True, exist_ok=True)
            np.save(root / key / f"{name}.npy", x)
        d, e = round(4 + 6 * quality[0], 2), round(2 + 6 * quality[1], 2)
        split = "train" if i < n_train else "test"
        lines[split].append(f"{name}\t{d:.2f}\t{e:.2f}\t{d + e:.2f}\t0.00\t90\n")
    for split, rows in lines.items():
        (root / f"{split}.txt").write_text("".join(rows))
    return root


def tiny_overrides(root: Path, out: Path, epochs: int = 3) -> list[str]:
    """actionnet/base shrunk to the tiny set: small widths, whole videos, a validation split."""
    return [
        f"data.root={root}",
        "data.annotations={train: train.txt, test: test.txt}",
        "data.window={dynamic: null, static: null}",
        "data.pad_mask=true",
        "data.val_fraction=0.25",
        f"model.inputs={{dynamic: {DIMS['dynamic']}, static: {DIMS['static']}}}",
        "model.streams.dynamic.embed.out_dim=16",
        "model.streams.static.embed.out_dim=16",
        "model.head.hidden_dims=[16]",
        "model.head.dropout=0.0",
        f"train.epochs={epochs}",
        "train.batch_size=8",
        "eval.select=val",
        f"run.out={out}",
        "run.device=cpu",
        "run.tensorboard=false",
        "run.progress=false",
        "optim={type: Adam, lr: 0.003, groups: [{params: 'head.*', lr_mult: 5.0}]}",
    ]


class NanAfter(Loss):
    """Test plugin (``registered(LOSSES, "test_nan_after", NanAfter)``): MSE for ``calls`` batches, then NaN."""

    def __init__(self, calls: int) -> None:
        super().__init__()
        self.calls, self.seen = calls, 0

    def forward(self, outputs: dict[str, Any], target: torch.Tensor) -> torch.Tensor:
        self.seen += 1
        loss = F.mse_loss(outputs["score"], target)
        return loss * float("nan") if self.seen > self.calls else loss


class CrashInSeed(Hook):
    """Test plugin (``registered(HOOKS, name, CrashInSeed)``): a bug in one seed only, after its first epoch."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __call__(self, trainer: Any, epoch: int) -> None:
        if trainer.sections.train.seed == self.seed:
            raise RuntimeError(f"test crash in seed {self.seed}")
