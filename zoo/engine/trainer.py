"""The training loop: epochs, evaluation, honest model selection, checkpoints, resume, DDP, AMP.

One ``Trainer`` is one run folder. Inputs stay in memory as features and batches are sliced from
them in the main process (no data-loader workers to start each epoch). Every rank draws the same
global batch from one seeded generator and trains on its share of it, so a distributed run takes
the same steps as a single process.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

from registry import ConfigError, RecipeError, build_model, load_checkpoint, load_state, save_checkpoint
from registry.checkpoint import weights_digest
from registry.provenance import check_match

from ..amp import autocast_dtype
from ..data.features import FeatureData, Split, check_plausible
from ..errors import TrainingDiverged, TrainingInterrupted
from ..kinds import HOOKS, LOSSES
from ..progress import progress as progress_bar
from .background import BackgroundWriter
from .compiled import CompiledOrEager
from .distributed import World, all_true, barrier, init_process_group, pick_device, world_from_env
from .evaluate import Predictions, predict_split, to_device
from .hooks import Hook
from .init_from import init_from
from .metrics import few_videos_warning, format_metric
from .optim import build_optimizer, build_scheduler
from .provenance import check_made_by, code_version, extract_made_by, short
from .rundir import is_seeds_parent, write_state
from .runlog import RunLog
from .sections import Recipe, check_one_seed, check_recipe

OPTIMISTIC = "best on test (optimistic: chosen by looking at the test set; not a result)"

__all__ = ["OPTIMISTIC", "STOP_SIGNALS", "Trainer", "TrainingDiverged", "TrainingInterrupted", "build_data"]

# Ask a run to stop: it finishes the epoch, saves last.pt and ends resumable; the same signal again stops it now.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
STACKED_NOTE = (
    "epochs of these were trained stacked with these seeds (one batched model); in them train_seconds and "
    "epoch_seconds are this seed's share: the wall of the stacked epoch divided by the seeds in it"
)


def build_data(recipe: Recipe, inputs: dict[str, int], progress: bool = True) -> FeatureData:
    """The recipe's dataset, told which inputs (and widths) the model reads."""
    extract = recipe.extract.to_dict() if recipe.extract is not None else None
    return recipe.data.load(inputs, extract, progress=progress)


def keep_resident(split: Split, device: torch.device, share: float = 0.25) -> bool:
    """Keep ``split``'s features on ``device`` as padded tensors when they take at most ``share`` of its free
    memory (the batches are the same values either way); whether they are."""
    free, _ = torch.cuda.mem_get_info(device)
    if split.resident_bytes() > share * free:
        return False
    split.make_resident(device)
    return True


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


class Trainer:
    """Trains one recipe into ``run_dir`` (``last.pt``, ``selected.pt``, logs, results.json)."""

    def __init__(
        self,
        recipe: Recipe | Mapping[str, Any],
        run_dir: str | Path,
        name: str = "run",
        resume: bool = False,
        world: World | None = None,
        progress: bool | None = None,
        data: FeatureData | None = None,
        accept_mismatch: bool = False,
    ) -> None:
        self.sections = parsed = check_recipe(recipe)  # once: a Recipe passes through unchanged
        check_one_seed(parsed)  # several seeds are several Trainers (zoo.engine.seeds)
        self.recipe, self.name, self.run_dir = parsed.raw, name, Path(run_dir)
        self.world = world or world_from_env()
        train, run = self.sections.train, self.sections.run
        self.epochs, self.batch_size, self.seed = train.epochs, train.batch_size, train.seed
        self.amp = autocast_dtype(train.amp)
        self.progress = run.progress if progress is None else progress
        self.device = pick_device(run.device, self.world)
        init_process_group(self.world, self.device)

        torch.manual_seed(self.seed)  # model initialisation and dropout
        self.model = build_model(self.recipe).to(self.device)
        unread = sorted(set(parsed.eval.drop) - set(self.model.inputs))
        if unread:
            raise ConfigError(
                f"eval.drop names {unread}, which the model does not read; its inputs: {sorted(self.model.inputs)}"
            )
        self.loss_fn = LOSSES.build(parsed.loss)
        self.data = data if data is not None else build_data(parsed, self.model.inputs, self.progress)
        self.data.scoring = dataclasses.replace(self.data.scoring, amp=train.amp)  # evaluation runs under it
        self.accept_mismatch = accept_mismatch
        self.accepted = self._check_data(parsed)  # mismatches accepted explicitly; results and checkpoints say so
        self.model.fit_input_stats(self.data.train.features)  # input standardisation, from the training split only
        # On a GPU the training batches are gathered there, not copied over at each step (where they fit).
        self.resident = keep_resident(self.data.train, self.device) if self.device.type == "cuda" else False
        self.initialised_from: list[dict[str, Any]] = []
        if train.init_from:  # a resumed run then loads its own weights from last.pt over these
            self.initialised_from, more = init_from(
                self.model, train.init_from, self.data.fingerprint(), accept=accept_mismatch
            )
            self.accepted += more
        self.select, self.notes = self._selection()
        self.notes += self.unvouched
        small = (few_videos_warning(s, len(part)) for s, part in self.data.splits().items() if s != "train")
        self.warnings = [w for w in small if w]
        self.optimizer = build_optimizer(self.model, parsed.optim)
        self.scheduler = build_scheduler(self.optimizer, parsed.schedule, self.epochs)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp is torch.float16)
        self.hooks: list[Hook] = [HOOKS.build(h) for h in train.hooks]
        for hook in self.hooks:
            hook.setup(self)  # a hook that cannot work with this run says so now, not never
        self.generator = torch.Generator().manual_seed(self.seed + 1)  # shuffling and windows
        self.history: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None
        self.best_state: dict[str, Any] | None = None  # the selected weights, kept in memory (what predictions use)
        self.epoch, self.train_time, self.stop_requested = 0, 0.0, False
        self.signal: int | None = None  # SIGINT/SIGTERM received during fit(): stop after this epoch
        self.saved_epoch: int | None = None  # the epoch last.pt holds, when this process wrote it
        self.writer = BackgroundWriter()  # selected.pt, written off the training loop
        # Trained stacked with other seeds (zoo.engine.stacked): this seed's dropout draws, in place of torch's
        # global generator, which the seeds would otherwise share.
        self.torch_rng: torch.Generator | None = None
        # Epochs trained stacked, and with which seeds (kept in last.pt: a run resumed alone still says so).
        self.stacked: dict[str, Any] | None = None
        if resume:
            self._resume()
        self.net = self._wrap(self.model, train.compile)
        # Whole videos: every evaluation batch has its own length, hence dynamic shapes.
        self.eval_net = CompiledOrEager(self.model, "evaluation", dynamic=True) if train.compile else None
        self.log = RunLog(self.run_dir, tensorboard=run.tensorboard) if self.world.main else None
        if self.log:
            self.log.recipe(self.recipe)
            write_state(self.run_dir, "running", recipe=name, epochs=self.epochs, provenance=self.fingerprint())
        if self.world.main:
            for line in self.warnings:
                print(f"warning ({name}): {line}", flush=True)
            for line in self.accepted:
                print(f"accepted ({name}): {line}", flush=True)

    def _check_data(self, recipe: Recipe) -> list[str]:
        """The features must be the recipe's (made by its extract section) and plausible (validation and test
        within reach of the training features); returns the mismatches accepted, notes ``unvouched`` inputs."""
        folders = self.data.sources.get("folders") or {}
        expected = extract_made_by(recipe.extract, self.model.inputs)
        against = "the recipe's extract section"
        accepted, self.unvouched = check_made_by(expected, self.data.made_by, folders, against, self.accept_mismatch)
        self.input_stats = self.data.input_stats()
        for name, part in self.data.splits().items():
            if name != "train":
                where = f"the {name} split"
                accepted += check_plausible(part.features, part.names, self.input_stats, where, self.accept_mismatch)
        return accepted

    def fingerprint(self) -> dict[str, Any]:
        """What this run is: the recipe, the data (features, annotations, splits), the code (digests)."""
        return {
            "recipe": short(self.recipe),
            "data": short(self.data.fingerprint()),
            "code": code_version(),
            "accepted": list(self.accepted),
            "init_from": list(self.initialised_from),
        }

    @property
    def has_validation(self) -> bool:
        return self.data.val is not None

    def _selection(self) -> tuple[str, list[str]]:
        """``val`` or ``last``, and a note when the recipe asked for a selection the data cannot give."""
        select = self.sections.eval.select
        if self.data.val is None and select == "val":
            return "last", ["no validation split (data.val_fraction is 0): the headline is the last epoch"]
        return select, []

    def _wrap(self, model: nn.Module, compile: bool) -> nn.Module:
        net: nn.Module = model
        if self.world.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            net = nn.parallel.DistributedDataParallel(model, device_ids=ids)
        return CompiledOrEager(net, "the training step", model=model) if compile else net

    # -- one epoch --------------------------------------------------------------------------
    def train_epoch(self) -> float:
        """One pass over the training split; returns the mean loss."""
        self.net.train()
        total = torch.zeros((), device=self.device)
        seen = 0
        for start, idx, local in self.batches():
            with torch.autocast(self.device.type, dtype=self.amp, enabled=self.amp is not None):
                out = self.net(local)
                loss = self.loss_fn(out, local["target"])
            self.check_loss(loss, start)
            # Each rank's mean is re-weighted by its share of the global batch: DDP's average of
            # gradients is then exactly the gradient of the global batch mean.
            share = len(local["target"]) * self.world.size / len(idx)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss * share).backward()
            self.step()
            total += loss.detach().float() * len(local["target"])
            seen += len(idx)
        return self.end_train_epoch(total, seen)

    def batches(self) -> Iterator[tuple[int, Tensor, dict[str, Tensor]]]:
        """The epoch's training batches as ``(start, indices, this rank's batch on the device)``, drawn from this
        run's generator: the same order whether the run trains alone or stacked with other seeds."""
        split = self.data.train
        order = torch.randperm(len(split), generator=self.generator)
        for start in range(0, len(split), self.batch_size):
            idx = order[start : start + self.batch_size]
            if self.world.distributed and len(idx) < self.world.size:
                continue  # every rank needs a sample, or the gradient all-reduce would hang
            batch = self.data.batch(split, idx, train=True, generator=self.generator)
            mine = slice(self.world.rank, None, self.world.size)
            yield start, idx, to_device({k: v[mine] for k, v in batch.items()}, self.device)

    def check_loss(self, loss: Tensor, start: int) -> None:
        """``TrainingDiverged`` when the batch at ``start`` gave a loss that is not finite (on any rank)."""
        if not all_true(bool(torch.isfinite(loss)), self.world, self.device):
            raise TrainingDiverged(
                f"the loss became {loss.item()} in epoch {self.epoch + 1} (batch {start // self.batch_size + 1}); "
                f"stopped. {self._kept()} Try a lower optim.lr, train.grad_clip, or train.amp=null."
            )

    def step(self) -> None:
        """The optimiser's step from the gradients of the last backward (clipped as the recipe says)."""
        if self.sections.train.grad_clip:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), self.sections.train.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()

    def end_train_epoch(self, total: Tensor, seen: int) -> float:
        """The scheduler's step; the epoch's mean loss over every rank's samples."""
        if self.world.distributed:
            dist.all_reduce(total)
        if self.scheduler is not None:
            self.scheduler.step()
        return total.item() / max(seen, 1)

    def _kept(self) -> str:
        # What this run saved (or resumed from), never a file another run left in a reused folder.
        if self.saved_epoch is None:
            every = self.sections.run.checkpoint_every
            return f"This run has written no checkpoint yet (run.checkpoint_every={every})."
        return f"The last good checkpoint is kept: {self.run_dir / 'last.pt'} (epoch {self.saved_epoch})."

    def evaluate(self, split: str = "test") -> Predictions:
        part = getattr(self.data, split)
        eval_batch, net = self.sections.eval.batch_size, self.eval_net
        return predict_split(self.model, self.data, part, self.device, eval_batch, self.amp, forward=net)

    # -- the run ----------------------------------------------------------------------------
    def fit(self) -> dict[str, Any]:
        """Train the remaining epochs, evaluating and checkpointing as the recipe says; returns the results.

        ``last.pt`` is written every ``run.checkpoint_every`` epochs, at the last one, and when SIGINT or
        SIGTERM asks the run to stop: it then ends after the epoch it is in (``TrainingInterrupted``), its
        ``run.json`` says ``interrupted`` and ``--resume`` continues it exactly.
        """
        self.begin()
        try:
            with stop_on_signals([self]):
                for epoch in range(self.epoch + 1, self.epochs + 1):
                    tic = time.perf_counter()
                    lr = self.optimizer.param_groups[0]["lr"]
                    loss = self.train_epoch()
                    if self.end_epoch(epoch, lr, loss, time.perf_counter() - tic):
                        break
            self.end()
        except BaseException as e:
            self.failed(e)
            raise
        return self.finish()

    def begin(self) -> None:
        """Before the first epoch of ``fit``: the progress bar."""
        self.bar = progress_bar(
            self.epochs, self.name, "ep", enabled=self.progress and self.world.main, initial=self.epoch
        )

    def end_epoch(
        self,
        epoch: int,
        lr: float,
        loss: float,
        seconds: float,
        signalled: bool | None = None,
        predictions: Mapping[str, Predictions] | None = None,
    ) -> bool:
        """After training epoch ``epoch``: evaluate, select, checkpoint, log, run the hooks. True: stop here.

        ``signalled``: whether a stop signal came, as seen once for several seeds ending this epoch together (a
        signal arriving among them then stops them all after the next); None: look now. ``predictions``: this
        epoch's evaluation, made by the caller (split -> Predictions); None: evaluate here when ``evaluates``."""
        keep_every = self.sections.run.checkpoint_every
        self.epoch = epoch
        self.train_time += seconds
        row: dict[str, Any] = {"epoch": epoch, "lr": lr, "train_loss": loss, "epoch_seconds": seconds}
        if self.evaluates(epoch):
            row.update(self._evaluate_epoch(predictions))
        self.history.append(row)
        self._update_selection(row)
        # every rank stops at the same epoch, whichever of them got the signal
        asked = self.signal is not None if signalled is None else signalled
        stop = not all_true(not asked, self.world, self.device) and epoch < self.epochs
        if self.world.main:
            if epoch % keep_every == 0 or epoch == self.epochs or stop:
                self._save(self.run_dir / "last.pt")
            self.log.epoch(self.history)  # every epoch: TensorBoard gets each row once, as it comes
        barrier(self.world)
        for hook in self.hooks:
            hook(self, epoch)
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{loss:.4f}", **self._live_metric(row))
        if stop:
            self._interrupted()
        return self.stop_requested

    def end(self) -> None:
        """After the last epoch (or a hook's stop between checkpoints): last.pt holds the final epoch."""
        if self.world.main and self.saved_epoch != self.epoch:
            self._save(self.run_dir / "last.pt")
        self.writer.close()
        self.bar.close()

    def failed(self, error: BaseException) -> None:
        """``fit`` ended by ``error``: run.json says failed (an interrupted run has already said so)."""
        self.bar.close()
        try:
            self.writer.close()
        except Exception as e:  # the error that ended the run is the one raised; this one is said
            print(f"also: {self.run_dir / 'selected.pt'} could not be written: {e}", file=sys.stderr, flush=True)
        if self.log and not isinstance(error, TrainingInterrupted):
            write_state(self.run_dir, "failed", epoch=self.epoch)

    def finish(self) -> dict[str, Any]:
        """The results of the epochs trained, written with the curves and predictions; the run is finished."""
        results = self.results()
        if self.sections.eval.drop:
            results["missing"] = self.missing_modalities(results)
        if self.log:
            self.log.plot(self.history, self.name)
            self.log.results(results)
            self.log.predictions(self.headline_predictions(results))
            self.log.close()
            write_state(self.run_dir, "finished", epoch=self.epoch)
        return results

    def _interrupted(self) -> None:
        """End the run at a signal: resumable, and the message says how."""
        assert self.signal is not None
        if self.log:
            write_state(self.run_dir, "interrupted", epoch=self.epoch, signal=signal.Signals(self.signal).name)
        seeds = f" --seeds {self.seed}" if is_seeds_parent(self.run_dir.parent) else ""  # one seed of several
        raise TrainingInterrupted(
            f"{signal.Signals(self.signal).name}: stopped after epoch {self.epoch} of {self.epochs}; "
            f"{self.run_dir / 'last.pt'} holds it. Continue with: python tools/train.py {self.name} --resume "
            f"{self.run_dir}{seeds}",
            self.signal,
        )

    def _headline_model(self, results: Mapping[str, Any]) -> nn.Module:
        """The model with the headline's weights: the selected ones kept in memory, or the last epoch's."""
        if not results.get("selected"):
            return self.model
        if self.best_state is None:
            raise RuntimeError("a validation-selected headline without selected weights")  # a bug, not input
        model = copy.deepcopy(self.model)
        model.load_state_dict(self.best_state)
        return model

    def missing_modalities(self, results: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The headline weights on the test split with each input of ``eval.drop`` absent, one at a time; a
        model that cannot score without one has its reason instead of numbers."""
        model, out = self._headline_model(results), []
        for key in self.sections.eval.drop:
            try:
                preds = predict_split(
                    model, self.data, self.data.test, self.device, self.sections.eval.batch_size, self.amp, drop=[key]
                )
            except ConfigError as e:
                out.append({"dropped": [key], "refused": str(e)})
                continue
            m = preds.metrics(self.data.score_bounds)
            undefined = {f"test_{k}_undefined": v for k, v in m.undefined.items()}
            out.append({"dropped": [key], **{f"test_{k}": v for k, v in m.values.items()}, **undefined})
        return out

    def headline_predictions(self, results: Mapping[str, Any]) -> dict[str, Any]:
        """Every validation and test video scored by the headline checkpoint, with judged score and weights.

        The selected weights are the ones kept in memory when they were selected (never re-read from a
        file that may have gone); ``checkpoint`` names the file that holds them and their digest.
        """
        model = self._headline_model(results)
        label = results.get("headline")
        selected = results.get("selected")
        entry = selected or results.get("last") or {}
        checkpoint = {
            "file": "selected.pt" if selected else "last.pt",
            "epoch": entry.get("epoch"),
            "weights": weights_digest(model.state_dict()),
        }
        splits = {}
        for name in ("val", "test"):
            part = getattr(self.data, name)
            if part is None:
                continue
            preds = predict_split(model, self.data, part, self.device, self.sections.eval.batch_size, self.amp)
            splits[name] = [
                {
                    "name": n,
                    "class": part.classes[i],
                    "judged": preds.targets[i],
                    "predicted": preds.scores[i],
                    "weights": {s: w[i] for s, w in preds.weights.items()},
                }
                for i, n in enumerate(preds.names)
            ]
        streams = {s: i for s, i in self.model.stream_inputs().items()}
        return {
            "label": label,
            "epoch": entry.get("epoch"),
            "checkpoint": checkpoint,
            "provenance": self.fingerprint(),
            "scoring": self.data.scoring.to_dict(),
            "video_folder": str(folder) if (folder := self.sections.data.video_folder()) is not None else None,
            "streams": {
                s: {"input": i, "seconds_per_instance": self.data.scoring.instance_seconds.get(i)}
                for s, i in streams.items()
            },
            "splits": splits,
        }

    def _live_metric(self, row: Mapping[str, Any]) -> dict[str, str]:
        """The number that selects (validation Spearman), or test Spearman when there is no validation split."""
        split = "val" if self.data.val is not None else "test"
        key = f"{split}_spearman"
        if key not in row and f"{key}_undefined" not in row:
            return {}
        return {f"{split}_rho": format_metric(row, key).split(" (")[0]}

    def evaluates(self, epoch: int) -> bool:
        """Whether epoch ``epoch`` ends with an evaluation of the validation and test splits."""
        return epoch % self.sections.eval.every == 0 or epoch == self.epochs

    def _evaluate_epoch(self, predictions: Mapping[str, Predictions] | None = None) -> dict[str, Any]:
        """The epoch's metrics row of each split: from ``predictions`` (split -> this model's, made by the caller:
        stacked seeds evaluate together) or evaluated now."""
        # Every rank evaluates (features are cheap), so all keep the same history and selection.
        row: dict[str, Any] = {}
        for split in ("val", "test"):
            if getattr(self.data, split) is None:
                continue
            preds = predictions[split] if predictions is not None else self.evaluate(split)
            row.update(preds.metrics(self.data.score_bounds).row(split))
        return row

    def _update_selection(self, row: dict[str, Any]) -> None:
        if self.select != "val" or row.get("val_spearman") is None:
            return  # an undefined validation Spearman selects nothing
        if self.best is None or row["val_spearman"] > self.best["val_spearman"]:
            self.best = dict(row)
            self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            if self.world.main:  # weights and recipe only: selection is for evaluation, resume uses last.pt
                # A snapshot (the cloned weights, a copy of the row) goes to the writer's thread: training goes on.
                state = self._weights(self.best_state, dict(row))
                self.writer.submit(save_checkpoint, self.run_dir / "selected.pt", state)

    def results(self) -> dict[str, Any]:
        """Last-epoch, validation-selected and best-on-test numbers, each labelled; best-on-test is no headline."""
        evaluated = [r for r in self.history if "test_spearman" in r]
        if not evaluated:
            return {"recipe": self.name, "epochs": self.epoch, "note": "no evaluated epoch"}

        def entry(row: dict[str, Any], label: str) -> dict[str, Any]:
            keep = {k: v for k, v in row.items() if k.startswith(("test_", "val_"))}
            return {"label": label, "epoch": row["epoch"], **keep}

        notes = list(self.notes) + [n.fell_back for n in (self.net, self.eval_net) if getattr(n, "fell_back", None)]
        last = entry(evaluated[-1], "last epoch")
        selected = entry(self.best, "validation-selected") if self.best else None
        if self.select == "val" and self.best is None:
            why = evaluated[-1].get("val_spearman_undefined", "it was never defined")
            notes.append(f"validation Spearman was undefined at every evaluated epoch ({why}): nothing was selected")
        defined = [r for r in evaluated if r.get("test_spearman") is not None]
        best_test = entry(max(defined, key=lambda r: r["test_spearman"]), OPTIMISTIC) if defined else None
        headline = selected or last
        out = {
            "recipe": self.name,
            "run_dir": str(self.run_dir),
            "epochs": self.epoch,
            "headline": headline["label"],
            "spearman": headline.get("test_spearman"),
            "relative_l2": headline.get("test_relative_l2"),
            "last": last,
            "selected": selected,
            "best_on_test": best_test,
            "parameters": count_parameters(self.model),
            "train_seconds": round(self.train_time, 2),
            "train_videos": len(self.data.train),
            "val_videos": len(self.data.val) if self.data.val is not None else 0,
            "test_videos": len(self.data.test),
            "notes": notes,
            "warnings": list(self.warnings),
            "accepted": list(self.accepted),
            "provenance": self.fingerprint(),
        }
        if self.stacked:
            out["stacked"] = {**self.stacked, "note": STACKED_NOTE}
        for key in ("spearman", "relative_l2"):
            if out[key] is None and headline.get(f"test_{key}_undefined"):
                out[f"{key}_undefined"] = headline[f"test_{key}_undefined"]
        return out

    # -- checkpoints ------------------------------------------------------------------------
    def _weights(
        self, model: Mapping[str, Tensor] | None = None, metrics: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """What evaluation and inference need: recipe, weights, how outputs become scores, epoch and metrics
        (the model's own and the last row, unless given)."""
        return {
            "recipe": self.recipe,
            "name": self.name,
            "model": self.model.state_dict() if model is None else model,
            "scoring": self.data.scoring.to_dict(),
            "epoch": self.epoch,
            "metrics": (self.history[-1] if self.history else {}) if metrics is None else metrics,
            "provenance": {
                "data": self.data.fingerprint(),
                "input_stats": self.input_stats,
                "code": code_version(),
                "accepted": list(self.accepted),
                "init_from": list(self.initialised_from),
            },
        }

    def _state(self) -> dict[str, Any]:
        """Everything a resumed run needs to continue exactly where this one stopped."""
        torch_state = self.torch_rng.get_state() if self.torch_rng is not None else torch.get_rng_state()
        rng = {"torch": torch_state, "data": self.generator.get_state()}
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
            "stacked": self.stacked,
        }

    def _save(self, path: Path) -> None:
        self.writer.wait()  # selected.pt first: last.pt never records a selection whose file is not written yet
        save_checkpoint(path, self._state())
        self.saved_epoch = self.epoch

    def _resume(self) -> None:
        path = self.run_dir / "last.pt"
        if not path.exists():  # killed before its first checkpoint: the run starts again, in its own folder
            if self.world.main:
                print(f"{self.run_dir} was interrupted before its first checkpoint: starting it again from epoch 1")
            return
        ckpt = load_checkpoint(path)
        differ = _differences(ckpt["recipe"], self.recipe)
        if differ:
            raise RecipeError(f"cannot resume {path}: the recipe differs from the run's at {', '.join(differ[:10])}")
        trained_on = (ckpt.get("provenance") or {}).get("data")
        if trained_on is not None:  # the same data as the epochs before, or the run would mix two trainings
            self.accepted += check_match(
                trained_on,
                self.data.fingerprint(),
                f"cannot resume {path}: the data changed since the run started",
                "Resume with the data the run started with, or start a new run",
                self.accept_mismatch,
                labels=("when the run started", "now"),
            )
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
        selected = self.run_dir / "selected.pt"
        if self.best is not None:  # the selected weights are needed in memory for the run's predictions
            if not selected.exists():
                raise RecipeError(
                    f"cannot resume {self.run_dir}: its selection (epoch {self.best['epoch']}) is recorded but "
                    f"{selected.name} is gone, so the run's headline predictions could not be made; start a new run"
                )
            kept = load_checkpoint(selected, self.device)
            if kept.get("epoch") != self.best["epoch"]:  # e.g. killed between the two files of an older version
                raise RecipeError(
                    f"cannot resume {self.run_dir}: its selection is epoch {self.best['epoch']} but {selected.name} "
                    f"holds epoch {kept.get('epoch')}, so the run's headline predictions would use other weights; "
                    "start a new run"
                )
            self.best_state = kept["model"]
        self.epoch, self.train_time = int(ckpt["epoch"]), float(ckpt["train_time"])
        self.stacked = ckpt.get("stacked")
        self.saved_epoch = self.epoch  # last.pt holds the epoch resumed from


@contextlib.contextmanager
def stop_on_signals(trainers: list[Trainer]) -> Iterator[None]:
    """While training, SIGINT/SIGTERM set each trainer's ``signal`` (the epoch ends, then the run); a second one
    acts as it would without us. Signal handlers belong to the main thread: elsewhere nothing is installed."""
    for t in trainers:
        t.signal = None
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {s: signal.getsignal(s) for s in STOP_SIGNALS}

    def ask_to_stop(signum: int, frame: object) -> None:
        for t in trainers:
            t.signal = signum
        for s, handler in before.items():  # the next one is not ours to soften
            signal.signal(s, handler)
        first = trainers[0]
        if first.world.main:
            seeds = f" (seeds {', '.join(str(t.seed) for t in trainers)})" if len(trainers) > 1 else ""
            print(
                f"\n{signal.Signals(signum).name}: finishing epoch {first.epoch + 1} of {first.epochs}{seeds}, then "
                "saving last.pt and stopping (send it again to stop at once, without saving)",
                file=sys.stderr,
                flush=True,
            )

    for s in STOP_SIGNALS:
        signal.signal(s, ask_to_stop)
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


def _differences(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out = []
        for k in dict.fromkeys([*a, *b]):
            out += _differences(a.get(k), b.get(k), f"{prefix}{k}.")
        return out
    return [] if a == b else [prefix.rstrip(".")]
