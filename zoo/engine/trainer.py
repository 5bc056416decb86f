"""Training a recipe: the loop, evaluation after each epoch, checkpoints, resume, DDP, AMP.

One ``Trainer`` is one run folder. Inputs stay in memory as features and batches are sliced from
them in the main process (no data-loader workers to start each epoch). Every rank draws the same
global batch from one seeded generator and trains on its share of it, so a distributed run takes
the same steps as a single process.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from registry import DATASETS, HOOKS, LOSSES, build_model, load_checkpoint, load_state, save_checkpoint

from ..data.features import FeatureData
from .distributed import World, all_true, barrier, init_process_group, pick_device, world_from_env
from .evaluate import Predictions, predict_split, to_device
from .optim import build_optimizer, build_scheduler
from .runlog import RunLog
from .schema import check_recipe

AMP = {None: None, "bf16": torch.bfloat16, "fp16": torch.float16}
OPTIMISTIC = "best on test (optimistic: chosen by looking at the test set; not a result)"


class TrainingDiverged(RuntimeError):
    """The loss stopped being a finite number."""


def build_data(recipe: Mapping[str, Any], inputs: dict[str, int]) -> FeatureData:
    """The recipe's dataset, told which inputs (and widths) the model reads."""
    return DATASETS.build(recipe["data"], inputs=inputs, extract=recipe.get("extract"))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class Trainer:
    """Trains one recipe into ``run_dir`` (``last.pt``, ``selected.pt``, logs, results.json)."""

    def __init__(
        self,
        recipe: Mapping[str, Any],
        run_dir: str | Path,
        name: str = "run",
        resume: bool = False,
        world: World | None = None,
        progress: bool | None = None,
        data: FeatureData | None = None,
    ) -> None:
        check_recipe(recipe)
        self.recipe, self.name, self.run_dir = dict(recipe), name, Path(run_dir)
        self.world = world or world_from_env()
        train, run = recipe["train"], recipe.get("run", {})
        self.epochs = int(train["epochs"])
        self.batch_size = int(train.get("batch_size", 32))
        self.seed = int(train.get("seed", 0))
        self.device = pick_device(run.get("device", "auto"), self.world)
        init_process_group(self.world, self.device)
        self.amp = AMP[train.get("amp")] if train.get("amp") in AMP else _bad("train.amp", train.get("amp"), AMP)
        self.grad_clip = train.get("grad_clip")
        evaluation = recipe.get("eval", {})
        self.eval_every = int(evaluation.get("every", 1))
        self.eval_batch = int(evaluation.get("batch_size", 64))
        self.checkpoint_every = int(run.get("checkpoint_every", 1))
        self.progress = run.get("progress", True) if progress is None else progress

        torch.manual_seed(self.seed)  # model initialisation and dropout
        self.model = build_model(recipe).to(self.device)
        self.loss_fn = LOSSES.build(recipe.get("loss") or {"type": "mse"})
        self.data = data if data is not None else build_data(recipe, self.model.inputs)
        if hasattr(self.model, "fit_input_stats"):  # input standardisation, from the training split only
            self.model.fit_input_stats(self.data.train.features)
        if self.data.val is None and evaluation.get("select", "val") == "val":
            self.select = "last"  # nothing to select on: say so in the results instead of pretending
        else:
            self.select = evaluation.get("select", "val")
        self.optimizer = build_optimizer(self.model, recipe["optim"])
        self.scheduler = build_scheduler(self.optimizer, recipe.get("schedule"), self.epochs)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp is torch.float16)
        self.hooks = [HOOKS.build(h) for h in train.get("hooks", []) or []]
        self.generator = torch.Generator().manual_seed(self.seed + 1)  # shuffling and windows
        self.history: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None
        self.epoch = 0
        self.train_time = 0.0
        self.stop_requested = False
        if resume:
            self._resume()
        self.net: nn.Module = self.model
        if self.world.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        if train.get("compile"):
            self.net = torch.compile(self.net)
        self.log = RunLog(self.run_dir, tensorboard=run.get("tensorboard", True)) if self.world.main else None
        if self.log:
            self.log.recipe(self.recipe)

    # -- one epoch --------------------------------------------------------------------------
    def train_epoch(self) -> float:
        """One pass over the training split; returns the mean loss."""
        self.net.train()
        split = self.data.train
        order = torch.randperm(len(split), generator=self.generator)
        total = torch.zeros((), device=self.device)
        seen = 0
        for start in range(0, len(split), self.batch_size):
            idx = order[start : start + self.batch_size]
            if self.world.distributed and len(idx) < self.world.size:
                continue  # every rank needs a sample, or the gradient all-reduce would hang
            batch = self.data.batch(split, idx, train=True, generator=self.generator)
            mine = slice(self.world.rank, None, self.world.size)
            local = to_device({k: v[mine] for k, v in batch.items()}, self.device)
            with torch.autocast(self.device.type, dtype=self.amp, enabled=self.amp is not None):
                out = self.net(local)
                loss = self.loss_fn(out, local["target"])
            if not all_true(bool(torch.isfinite(loss)), self.world, self.device):
                raise TrainingDiverged(
                    f"the loss became {loss.item()} in epoch {self.epoch + 1} (batch {start // self.batch_size + 1}); "
                    f"stopped. {self._kept()} Try a lower optim.lr, train.grad_clip, or train.amp=null."
                )
            # Each rank's mean is re-weighted by its share of the global batch: DDP's average of
            # gradients is then exactly the gradient of the global batch mean.
            share = len(local["target"]) * self.world.size / len(idx)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss * share).backward()
            if self.grad_clip:
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_(self.model.parameters(), float(self.grad_clip))
            self.scaler.step(self.optimizer)
            self.scaler.update()
            total += loss.detach().float() * len(local["target"])
            seen += len(idx)
        if self.world.distributed:  # the logged loss is the mean over every rank's samples
            dist.all_reduce(total)
        if self.scheduler is not None:
            self.scheduler.step()
        return total.item() / max(seen, 1)

    def _kept(self) -> str:
        last = self.run_dir / "last.pt"
        return f"The last good checkpoint is kept: {last} (epoch {self.epoch})." if last.exists() else ""

    def evaluate(self, split: str = "test") -> Predictions:
        part = getattr(self.data, split)
        return predict_split(self.model, self.data, part, self.device, self.eval_batch, self.amp)

    # -- the run ----------------------------------------------------------------------------
    def fit(self) -> dict[str, Any]:
        """Train the remaining epochs, evaluating and checkpointing as the recipe says; returns the results."""
        from tqdm.auto import tqdm

        bar = tqdm(
            range(self.epoch + 1, self.epochs + 1),
            initial=self.epoch,
            total=self.epochs,
            desc=self.name,
            unit="ep",
            disable=not (self.progress and self.world.main),
            dynamic_ncols=True,
        )
        for epoch in bar:
            tic = time.perf_counter()
            lr = self.optimizer.param_groups[0]["lr"]
            loss = self.train_epoch()
            self.epoch = epoch
            seconds = time.perf_counter() - tic
            self.train_time += seconds
            row: dict[str, Any] = {"epoch": epoch, "lr": lr, "train_loss": loss}
            row["epoch_seconds"] = seconds
            if epoch % self.eval_every == 0 or epoch == self.epochs:
                row.update(self._evaluate_epoch())
            self.history.append(row)
            self._update_selection(row)
            if self.world.main and (epoch % self.checkpoint_every == 0 or epoch == self.epochs):
                self._save(self.run_dir / "last.pt")
                self.log.epoch(self.history)
            barrier(self.world)
            for hook in self.hooks:
                hook(self, epoch)
            bar.set_postfix(loss=f"{loss:.4f}", test_rho=f"{row.get('test_spearman', float('nan')):.3f}")
            if self.stop_requested:
                break
        bar.close()
        results = self.results()
        if self.log:
            self.log.plot(self.history, self.name)
            self.log.results(results)
            self.log.close()
        return results

    def _evaluate_epoch(self) -> dict[str, Any]:
        # Every rank evaluates (features are cheap), so all keep the same history and selection.
        row: dict[str, Any] = {}
        for split in ("val", "test"):
            if getattr(self.data, split) is None:
                continue
            metrics = self.evaluate(split).metrics(self.data.score_bounds)
            row.update({f"{split}_{k}": v for k, v in metrics.items()})
        return row

    def _update_selection(self, row: dict[str, Any]) -> None:
        if self.select != "val" or "val_spearman" not in row:
            return
        if self.best is None or row["val_spearman"] > self.best["val_spearman"]:
            self.best = dict(row)
            if self.world.main:  # weights and recipe only: selection is for evaluation, resume uses last.pt
                save_checkpoint(self.run_dir / "selected.pt", self._weights())

    def results(self) -> dict[str, Any]:
        """Last-epoch, validation-selected and best-on-test numbers, each labelled; best-on-test is no headline."""
        evaluated = [r for r in self.history if "test_spearman" in r]
        if not evaluated:
            return {"recipe": self.name, "epochs": self.epoch, "note": "no evaluated epoch"}

        def entry(row: dict[str, Any], label: str) -> dict[str, Any]:
            keep = {k: v for k, v in row.items() if k.startswith(("test_", "val_"))}
            return {"label": label, "epoch": row["epoch"], **keep}

        last = entry(evaluated[-1], "last epoch")
        selected = entry(self.best, "validation-selected") if self.best else None
        best_test = entry(max(evaluated, key=lambda r: r["test_spearman"]), OPTIMISTIC)
        headline = selected or last
        return {
            "recipe": self.name,
            "run_dir": str(self.run_dir),
            "epochs": self.epoch,
            "headline": headline["label"],
            "spearman": headline["test_spearman"],
            "relative_l2": headline["test_relative_l2"],
            "last": last,
            "selected": selected,
            "best_on_test": best_test,
            "parameters": count_parameters(self.model),
            "train_seconds": round(self.train_time, 2),
            "train_videos": len(self.data.train),
            "val_videos": len(self.data.val) if self.data.val is not None else 0,
            "test_videos": len(self.data.test),
        }

    # -- checkpoints ------------------------------------------------------------------------
    def _weights(self) -> dict[str, Any]:
        """What evaluation and inference need: the recipe, the weights, the epoch and its metrics."""
        return {
            "recipe": self.recipe,
            "name": self.name,
            "model": self.model.state_dict(),
            "epoch": self.epoch,
            "metrics": self.history[-1] if self.history else {},
        }

    def _state(self) -> dict[str, Any]:
        """Everything a resumed run needs to continue exactly where this one stopped."""
        rng = {"torch": torch.get_rng_state(), "data": self.generator.get_state()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        return {
            **self._weights(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "scaler": self.scaler.state_dict(),
            "rng": rng,
            "history": self.history,
            "best": self.best,
            "train_time": self.train_time,
        }

    def _save(self, path: Path) -> None:
        save_checkpoint(path, self._state())

    def _resume(self) -> None:
        path = self.run_dir / "last.pt"
        ckpt = load_checkpoint(path)
        differ = _differences(ckpt["recipe"], self.recipe)
        if differ:
            raise ValueError(f"cannot resume {path}: the recipe differs from the run's at {', '.join(differ[:10])}")
        load_state(self.model, ckpt["model"], source=str(path))
        self.optimizer.load_state_dict(ckpt["optimizer"])
        if self.scheduler is not None and ckpt["scheduler"] is not None:
            self.scheduler.load_state_dict(ckpt["scheduler"])
        self.scaler.load_state_dict(ckpt["scaler"])
        torch.set_rng_state(ckpt["rng"]["torch"])
        self.generator.set_state(ckpt["rng"]["data"])
        if "cuda" in ckpt["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(ckpt["rng"]["cuda"])
        self.history, self.best = list(ckpt["history"]), ckpt["best"]
        self.epoch, self.train_time = int(ckpt["epoch"]), float(ckpt["train_time"])


def _differences(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out = []
        for k in dict.fromkeys([*a, *b]):
            out += _differences(a.get(k), b.get(k), f"{prefix}{k}.")
        return out
    return [] if a == b else [prefix.rstrip(".")]


def _bad(key: str, value: Any, choices: Mapping[Any, Any]) -> Any:
    raise ValueError(f"{key} must be one of {list(choices)}, got {value!r}")


@HOOKS.register("early_stopping")
class EarlyStopping:
    """Stop when validation Spearman has not improved for ``patience`` evaluated epochs."""

    def __init__(self, patience: int = 50) -> None:
        self.patience = patience

    def __call__(self, trainer: Trainer, epoch: int) -> None:
        if trainer.best is not None and epoch - trainer.best["epoch"] >= self.patience:
            trainer.stop_requested = True
