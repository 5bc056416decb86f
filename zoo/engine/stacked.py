"""Seeds stacked: the seeds of one recipe trained in one process as one batched model.

Each seed keeps its own ``Trainer`` (model, optimiser, scheduler, data order, run folder, checkpoints);
only the forward and backward passes are shared. Every training step stacks the seeds' parameters
(``torch.stack``, so gradients flow back to each seed's own), runs the model once under
``torch.func.vmap`` over the seeds' batches (padded to one length; the masks keep the padding out),
and steps each seed's optimiser on its own gradients. Each epoch's evaluation scores every validation
and test batch for all seeds in one vmapped call (``evaluate_stacked``). Small models leave a GPU (and much of a CPU's
per-call overhead) idle; one call for all seeds fills it.

A seed trained stacked takes the steps it takes alone: the same initial weights, batches and
dropout masks (each seed draws its dropout from a generator of its own, started where its own
run's global generator would be). What differs is rounding: batched kernels sum in another order.
Dropout masks are drawn as torch's CPU dropout draws them, so on a GPU (whose dropout is a fused
kernel with its own stream) the masks differ from a run alone, and only their distribution agrees.

``why_not_stacked`` says why a recipe cannot be stacked (randomness vmap cannot split per seed,
batch statistics, data-dependent shapes, fp16 loss scaling, compile, several processes); callers
then train the seeds one by one and print the reason.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap

from ..amp import autocast_dtype
from ..errors import NonFiniteError, TrainingDiverged, TrainingInterrupted
from .distributed import world_from_env
from .evaluate import Predictions, check_finite, to_device
from .sections import Recipe
from .trainer import Trainer, stop_on_signals

if TYPE_CHECKING:
    from ..data.features import FeatureData

__all__ = ["SeedDropout", "StackedForward", "fit_stacked", "own_generator", "why_not_stacked"]

# The stacked forward must give each seed's own forward to this (eval mode, the same batch): float rounding
# of batched kernels, never a different computation.
PROBE_TOLERANCE = 1e-4


class _PerSeedDropout(torch.autograd.Function):
    """Dropout whose mask for seed ``s`` comes from ``generators[s]``, drawn as torch's CPU dropout draws it
    (``empty_like(x).bernoulli_(1 - p)``, then ``/ (1 - p)``). Under ``vmap`` over seeds, one mask per seed."""

    @staticmethod
    def forward(x: Tensor, p: float, generators: Sequence[torch.Generator]) -> Tensor:
        noise = torch.empty_like(x).bernoulli_(1 - p, generator=generators[0])
        return x * noise.div_(1 - p)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Tensor) -> None:
        pass  # the ops above are recorded by autograd themselves

    @staticmethod
    def vmap(info: Any, in_dims: tuple, x: Tensor, p: float, generators: Sequence[torch.Generator]) -> tuple:
        if in_dims[0] is None:  # an input every seed shares: each seed still draws its own mask
            x = x.unsqueeze(0).expand(len(generators), *x.shape)
        else:
            x = x.movedim(in_dims[0], 0)
        noise = torch.empty_like(x)
        for s, generator in enumerate(generators):
            noise[s].bernoulli_(1 - p, generator=generator)
        return x * noise.div_(1 - p), 0


class SeedDropout(nn.Module):
    """``nn.Dropout`` for stacked seeds: each seed's mask from its own generator (``_PerSeedDropout``)."""

    def __init__(self, p: float, generators: Sequence[torch.Generator]) -> None:
        super().__init__()
        self.p, self.generators = p, generators

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0:
            return x
        return _PerSeedDropout.apply(x, self.p, self.generators)


def _unsupported_modules(model: nn.Module) -> list[str]:
    """Modules whose training step vmap cannot split per seed: batch statistics (running buffers updated in
    place, from a batch that mixes nothing across seeds but is counted by data-dependent shapes) and dropout
    inside a module's own functional call (attention weights), which ``SeedDropout`` cannot replace."""
    found = []
    for name, m in model.named_modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            found.append(f"{name} ({type(m).__name__}: batch statistics)")
        elif isinstance(m, nn.MultiheadAttention) and m.dropout > 0:
            found.append(f"{name} (MultiheadAttention with dropout {m.dropout})")
        elif isinstance(m, nn.modules.dropout._DropoutNd) and type(m) is not nn.Dropout and m.p > 0:
            found.append(f"{name} ({type(m).__name__} {m.p})")
    return found


class StackedForward:
    """The seeds' models as one: ``forward(batches)`` gives each seed's output for its own batch, in one call."""

    def __init__(self, models: Sequence[nn.Module], generators: Sequence[torch.Generator]) -> None:
        self.models = list(models)
        self.generators = list(generators)  # one list, shared by every SeedDropout of the template
        self.template = copy.deepcopy(self.models[0])  # its tensors are swapped for the stacked ones per call
        for module in list(self.template.modules()):
            for child_name, child in list(module.named_children()):
                if type(child) is nn.Dropout:
                    setattr(module, child_name, SeedDropout(child.p, self.generators))

    def keep(self, models: Sequence[nn.Module], generators: Sequence[torch.Generator]) -> None:
        """Go on with these seeds only (a seed that diverged has left)."""
        self.models = list(models)
        self.generators[:] = generators

    def _state(self) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        """The seeds' parameters and buffers stacked (the template set to their train/eval mode)."""
        self.template.train(self.models[0].training)
        params = _stacked_tensors([dict(m.named_parameters()) for m in self.models])
        return params, _stacked_tensors([dict(m.named_buffers()) for m in self.models])

    def __call__(self, batches: Sequence[dict[str, Tensor]]) -> list[Any]:
        params, buffers = self._state()

        def one(p: dict[str, Tensor], b: dict[str, Tensor], x: dict[str, Tensor]) -> Any:
            return functional_call(self.template, (p, b), (x,))

        out = vmap(one, randomness="error")(params, buffers, stack_batches(batches))
        return [torch.utils._pytree.tree_map(lambda t, s=s: t[s], out) for s in range(len(batches))]

    def same(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        """For one batch every seed scores (evaluation: nothing is copied per seed), each seed's ``score`` and
        whether a video's score or instance weights are not finite, both [seeds, B]."""
        params, buffers = self._state()

        def one(p: dict[str, Tensor], b: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
            out = functional_call(self.template, (p, b), (batch,))
            bad = ~torch.isfinite(out["score"].float())
            for w in (out.get("weights") or {}).values():  # as check_finite looks at them
                if w is not None:
                    bad = bad | ~torch.isfinite(w.float()).flatten(1).all(1)
            return out["score"], bad

        return vmap(one, randomness="error")(params, buffers)


def _stacked_tensors(named: Sequence[dict[str, Tensor]]) -> dict[str, Tensor]:
    """Each name's tensors of every seed stacked on a new first axis (differentiable: gradients reach each)."""
    return {name: torch.stack([n[name] for n in named]) for name in named[0]}


def stack_batches(batches: Sequence[dict[str, Tensor]]) -> dict[str, Tensor]:
    """Batches of one size stacked on a new first axis, each input padded (zeros, mask False) to the longest."""
    out: dict[str, Tensor] = {}
    for key in batches[0]:
        parts = [b[key] for b in batches]
        if parts[0].dim() >= 2 and (key.endswith("_mask") or f"{key}_mask" in batches[0]):
            n = max(p.shape[1] for p in parts)
            parts = [_pad_to(p, n) for p in parts]
        out[key] = torch.stack(parts)
    return out


def _pad_to(x: Tensor, n: int) -> Tensor:
    """``x`` [B, N, ...] padded with zeros (False for a mask) to ``n`` along its second axis."""
    if x.shape[1] == n:
        return x
    pad = x.new_zeros((x.shape[0], n - x.shape[1], *x.shape[2:]))
    return torch.cat([x, pad], dim=1)


def why_not_stacked(recipe: Recipe, model: nn.Module, data: FeatureData, device: torch.device) -> str | None:
    """None when the seeds of ``recipe`` can train stacked; else why not (a line for the user).

    ``model``: the recipe's model (any seed; its input statistics fitted), which the probe runs.
    """
    train = recipe.train
    if world_from_env().distributed:
        return "a distributed run"
    if train.compile:
        return "train.compile is set"
    if autocast_dtype(train.amp) is torch.float16:
        return "train.amp=fp16 scales each seed's loss on its own"
    found = _unsupported_modules(model)
    if found:
        more = f" and {len(found) - 2} more" if len(found) > 2 else ""
        return f"the model has {', '.join(found[:2])}{more}"
    return _probe(model, data, device, train.batch_size)


def _probe(model: nn.Module, data: FeatureData, device: torch.device, batch_size: int) -> str | None:
    """Run the stacked forward once (eval mode; a training batch, padded differently for a second copy of the
    model) against the model's own forward: an op vmap cannot batch, or a difference, says why not."""
    split = data.train
    idx = torch.arange(min(len(split), batch_size))
    batch = {k: v.to(device) for k, v in data.batch(split, idx, train=False).items()}
    models = [model, copy.deepcopy(model)]
    mode = model.training
    try:
        for m in models:
            m.eval()
        with torch.no_grad():
            want = model(batch)
            stacked = StackedForward(models, [torch.Generator(device)] * 2)([_pad_batch(batch, e) for e in (0, 3)])
            for got in stacked:
                worst = max((float((a.float() - b.float()).abs().max()) for a, b in _pairs(got, want)), default=0.0)
                if not worst <= PROBE_TOLERANCE:
                    return f"the stacked forward differs from the model's own by {worst:.3g}"
    except Exception as e:  # an op vmap cannot batch: the message names it
        return f"the model does not run under torch.func.vmap ({type(e).__name__}: {str(e).splitlines()[0][:200]})"
    finally:
        model.train(mode)
    return None


def own_generator(device: torch.device) -> torch.Generator:
    """A generator where torch's global one (of ``device``) is now: a seed's dropout stream when stacked, taken
    right after its ``Trainer`` is built, where its fit() alone would start drawing."""
    rng = torch.Generator(device)
    rng.set_state(torch.cuda.get_rng_state(device) if device.type == "cuda" else torch.get_rng_state())
    return rng


def _pad_batch(batch: dict[str, Tensor], extra: int) -> dict[str, Tensor]:
    """The batch with ``extra`` padded instances on every masked input (the padding must change nothing)."""
    out = dict(batch)
    for key in batch:
        if f"{key}_mask" in batch:
            n = batch[key].shape[1] + extra
            out[key], out[f"{key}_mask"] = _pad_to(batch[key], n), _pad_to(batch[f"{key}_mask"], n)
    return out


def _pairs(got: Any, want: Any) -> list[tuple[Tensor, Tensor]]:
    """The floating tensors of two outputs of one structure, paired; a per-instance output of the padded batch
    is cut to the unpadded one's length (what the padding adds is masked, not compared)."""
    la, lb = torch.utils._pytree.tree_leaves(got), torch.utils._pytree.tree_leaves(want)
    if len(la) != len(lb):
        raise ValueError(f"outputs differ in structure: {len(la)} vs {len(lb)} tensors")
    pairs = []
    for a, b in zip(la, lb):
        if isinstance(a, Tensor) and a.is_floating_point():
            if a.dim() == b.dim() and all(x >= y for x, y in zip(a.shape, b.shape)):
                a = a[tuple(slice(0, n) for n in b.shape)]
            pairs.append((a, b))
    return pairs


Outcome = Callable[[Trainer, "dict[str, Any] | BaseException"], None]


def fit_stacked(trainers: Sequence[Trainer], on_done: Outcome) -> None:
    """Train ``trainers`` (seeds of one recipe, built in this process, ``why_not_stacked`` None) together.

    ``on_done(trainer, results_or_error)`` is called once per seed as it ends: its results, or the exception
    that ended it (a diverged seed leaves the others going; a stop signal ends every seed after the epoch,
    each saved and resumable on its own).
    """
    active = list(trainers)
    seeds = [t.seed for t in active]
    for t in active:
        if t.torch_rng is None:  # a caller's bug: the seeds would share one dropout stream
            raise ValueError(f"seed {t.seed}: its torch_rng (own_generator, right after its Trainer) is not set")
        before = t.stacked or {"seeds": [], "epochs": 0}  # a resumed seed keeps the stacked epochs it had
        t.stacked = {"seeds": sorted({*before["seeds"], *seeds}), "epochs": before["epochs"]}
        t.begin()
    forward = StackedForward([t.model for t in active], [t.torch_rng for t in active])
    try:
        with stop_on_signals(active):
            while active and active[0].epoch < active[0].epochs:
                active = _epoch(active, forward, on_done)
    except BaseException as e:  # a bug or a second signal: every seed still going ends with it
        for t in active:
            t.failed(e)
            on_done(t, e)
        raise
    for t in active:
        _finish(t, on_done)


def _epoch(active: list[Trainer], forward: StackedForward, on_done: Outcome) -> list[Trainer]:
    """One epoch of every seed in ``active``; the seeds still going after it."""
    tic = time.perf_counter()
    lrs = [t.optimizer.param_groups[0]["lr"] for t in active]
    forward.keep([t.model for t in active], [t.torch_rng for t in active])
    for t in active:
        t.net.train()
    totals = [torch.zeros((), device=t.device) for t in active]
    seen = [0] * len(active)
    going = list(range(len(active)))
    streams = [t.batches() for t in active]
    first = active[0]
    while True:
        steps = [next(streams[i], None) for i in going]
        if any(s is None for s in steps):  # one split, one batch size: every seed ends its epoch together
            break
        batches = [s[2] for s in steps]
        if len(going) != len(forward.models):
            forward.keep([active[i].model for i in going], [active[i].torch_rng for i in going])
        with torch.autocast(first.device.type, dtype=first.amp, enabled=first.amp is not None):
            outs = forward(batches)
            losses = [active[i].loss_fn(out, b["target"]) for i, out, b in zip(going, outs, batches)]
        kept = []
        finite = bool(torch.isfinite(torch.stack([loss.detach().float() for loss in losses])).all())  # one sync
        for i, loss, (start, idx, b) in zip(going, losses, steps):
            try:
                if not finite:  # which seed: each says so itself
                    active[i].check_loss(loss, start)
                kept.append((i, loss, idx, b))
            except TrainingDiverged as e:
                active[i].failed(e)
                on_done(active[i], e)
        for i, _, _, _ in kept:
            active[i].optimizer.zero_grad(set_to_none=True)
        if kept:
            torch.stack([loss for _, loss, _, _ in kept]).sum().backward()
        for i, loss, idx, b in kept:
            active[i].step()
            totals[i] += loss.detach().float() * len(b["target"])
            seen[i] += len(idx)
        going = [i for i, _, _, _ in kept]
        if not going:
            break
    losses_now = {i: active[i].end_train_epoch(totals[i], seen[i]) for i in going}
    evaluated: dict[int, dict[str, Predictions] | Exception] = {}
    if going and first.evaluates(first.epoch + 1):  # one recipe: every seed evaluates at the same epochs
        forward.keep([active[i].model for i in going], [active[i].torch_rng for i in going])
        evaluated = dict(zip(going, evaluate_stacked(forward, [active[i] for i in going])))
    seconds = (time.perf_counter() - tic) / len(active)  # each seed's share of the wall of the epoch together
    still = []
    signalled = any(active[i].signal is not None for i in going)  # once: the seeds stop at one epoch
    for i in going:
        t = active[i]
        try:
            predictions = evaluated.get(i)
            if isinstance(predictions, Exception):  # its evaluation failed (a non-finite score): as alone
                raise predictions
            t.stacked["epochs"] += 1  # type: ignore[index]  # set by fit_stacked; saved with the epoch
            if not t.end_epoch(t.epoch + 1, lrs[i], losses_now[i], seconds, signalled, predictions):
                still.append(t)
                continue
            _finish(t, on_done)  # a hook stopped it
        except (TrainingInterrupted, Exception) as e:  # stopped by a signal (saved), or this seed's error
            t.failed(e)
            on_done(t, e)
    return still


@torch.no_grad()
def evaluate_stacked(forward: StackedForward, trainers: Sequence[Trainer]) -> list[dict[str, Predictions] | Exception]:
    """Each seed's predictions on the validation and test splits, every batch scored by all seeds in one call
    (``forward`` holds these trainers' models); for a seed whose scores are not finite, the error it would raise
    alone. The seeds share one ``FeatureData`` (``_stacked`` in seeds.py), so one batch serves all."""
    first = trainers[0]
    data, device, amp = first.data, first.device, first.amp
    modes = [t.model.training for t in trainers]
    for t in trainers:
        t.model.eval()
    out: list[dict[str, Predictions] | Exception] = [{} for _ in trainers]
    try:
        for split in ("val", "test"):
            part = getattr(data, split)
            if part is None:
                continue
            size, scores, bad = first.sections.eval.batch_size, [], []
            for start in range(0, len(part), size):
                idx = list(range(start, min(start + size, len(part))))
                batch = to_device(data.batch(part, idx, train=False), device)
                with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
                    score, not_finite = forward.same(batch)
                scores.append(score.float())
                bad.append(not_finite)
            every = (torch.cat(scores, dim=1) * data.score_scale).cpu()  # [seeds, videos]: one copy
            flagged = torch.cat(bad, dim=1).cpu()
            for s, row in enumerate(every):
                if isinstance(out[s], Exception):
                    continue
                try:  # the error of a run alone, naming the videos
                    check_finite({"score": row.masked_fill(flagged[s], float("nan"))}, list(part.names))
                except NonFiniteError as e:
                    out[s] = e
                    continue
                out[s][split] = Predictions(list(part.names), row.tolist(), part.raw.tolist(), {})  # type: ignore[index]
    finally:
        for t, mode in zip(trainers, modes):
            t.model.train(mode)
    return out


def _finish(t: Trainer, on_done: Outcome) -> None:
    try:
        t.end()
        on_done(t, t.finish())
    except Exception as e:
        t.failed(e)
        on_done(t, e)
