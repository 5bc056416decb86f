"""Benchmark: seconds per training epoch of the zoo's trainer against a minimal loop, recipe by recipe.

    python bench/train.py [--recipe actionnet/base --recipe peers/cofinal ...] [--rounds 5] [--threads N]
                          [--bf16] [--compile] [--data DIR] [--floor]

RG-shaped features are written to disk once, at the sizes of one apparatus of Rhythmic Gymnastics
(200 training + 50 test videos; 68-90 Video-Swin clips x 1024 as GDLT's features of a 1.5-minute
routine, 80-95 crops x 2048 for ACTION-NET's static stream), then each recipe (its own batch size,
optimiser, windows and loss) is trained by:

* the tool: ``zoo.engine.Trainer`` (what tools/train.py runs): features read from disk into memory,
  windows cut per batch with a random start, masks, the recipe's loss, optimiser groups, schedule;
* a minimal loop: the same model, optimiser and loss on windows pre-cut into in-memory tensors
  (no masks, no schedule, nothing else);
* with ``--compile``, the tool with ``train.compile=true`` (torch.compile of the training step and evaluation; its
  first epoch, which compiles, is printed apart);
* with ``--bf16``, the tool with ``train.amp=bf16`` (quote it only on a CPU with native bf16: the
  line printed says whether this one has it).

Epochs of the contenders alternate in one process and their medians are compared (target: tool
<= 1.2x the minimal loop). A full ``fit()`` of each recipe is also timed epoch by epoch (a hook notes
when each epoch ends): the median wall between two epoch ends is an epoch as a run has it, training,
evaluation of the test videos and the recipe's checkpoints included, without the run's one-off start
and end (building, the curves, the final predictions), which a short fit divided by its epochs would
count in.

With ``--stacked N``, the fit() epoch of N seeds trained stacked (``zoo.engine.stacked``: one process,
one batched model; every seed's training and evaluation in each epoch) is timed after the one-seed
fit() epoch, and their ratio printed (target: 5 seeds <= 2x one seed). ``--device cuda`` runs every
contender on the GPU.

With ``--floor``, each recipe's epoch is also set against the machine's floor: the floating-point
operations of one training epoch plus one evaluation of the test videos, counted by
``torch.utils.flop_counter.FlopCounterMode`` (matmuls and convolutions; elementwise work is not
counted, so the floor is a lower bound), divided by this machine's measured matmul rate (a 2048^3
``torch.mm``, median of 7, at the same thread count): fp32 always, bf16 only on a CPU with native
bf16 (elsewhere it says so and quotes nothing).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

import zoo
from registry import build_model, load_recipe
from zoo.engine.optim import build_optimizer
from zoo.engine.sections import DEFAULT_LOSS
from zoo.kinds import LOSSES

HEADER = "Video_Name\tDifficulty_Score\tExecution_Score\tTotal_Score\tPenalty\tVideo_length\n"
LENGTHS = {"dynamic": (68, 91), "static": (80, 96)}  # instances per video: [low, high)
WIDTHS = {"dynamic": 1024, "static": 2048}


def write_rg_features(root: Path, n_train: int = 200, n_test: int = 50, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    rows = {"train": [HEADER], "test": [HEADER]}
    for key in WIDTHS:
        (root / key).mkdir(parents=True, exist_ok=True)
    for i in range(n_train + n_test):
        name = f"Ball_{i:03d}"
        for key, width in WIDTHS.items():
            n = int(rng.integers(*LENGTHS[key]))
            np.save(root / key / f"{name}.npy", rng.normal(size=(n, width)).astype(np.float32))
        d, e = rng.uniform(3, 12), rng.uniform(2, 9)
        rows["train" if i < n_train else "test"].append(f"{name}\t{d:.2f}\t{e:.2f}\t{d + e:.2f}\t0.00\t90\n")
    for split, lines in rows.items():
        (root / f"rg_{split}.txt").write_text("".join(lines))
    return root


class MinimalLoop:
    """The same model, optimiser and loss; every input pre-cut to the recipe's window (or the shortest video)."""

    def __init__(self, recipe: dict, data: zoo.data.features.FeatureData, device: torch.device) -> None:
        torch.manual_seed(0)
        self.model = build_model(recipe).train().to(device)
        self.opt = build_optimizer(self.model, recipe["optim"])
        self.loss = LOSSES.build(recipe.get("loss") or dict(DEFAULT_LOSS))
        split = data.train
        window = recipe["data"].get("window") or {}
        self.inputs = {}
        for key in recipe["model"]["inputs"]:
            seqs = split.features[key]
            n = window.get(key) or min(len(a) for a in seqs)
            self.inputs[key] = torch.stack([torch.from_numpy(np.asarray(a[:n])) for a in seqs]).to(device)
        self.target = split.target.clone().to(device)
        self.batch = int(recipe["train"]["batch_size"])

    def epoch(self) -> None:
        order = torch.randperm(len(self.target), device=self.target.device)
        for start in range(0, len(order), self.batch):
            idx = order[start : start + self.batch]
            out = self.model({k: v[idx] for k, v in self.inputs.items()})
            loss = self.loss(out, self.target[idx])
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()


class EpochClock:
    """A hook noting when each epoch of ``fit()`` ends (after its evaluation, checkpoint and log)."""

    def __init__(self) -> None:
        self.ends: list[float] = []

    def __call__(self, trainer: Any, epoch: int) -> None:
        self.ends.append(time.perf_counter())

    def epochs(self) -> list[float]:
        """Wall of each epoch after the first (whose start includes the run's set-up)."""
        return [b - a for a, b in zip(self.ends, self.ends[1:])]


def timed(fn: Callable[[], object]) -> float:
    tic = time.perf_counter()
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()  # a GPU's queued work belongs to the epoch that queued it
    return time.perf_counter() - tic


def native_bf16() -> bool:
    """Whether this CPU computes bf16 itself (AVX512-BF16 or AMX); elsewhere torch emulates it, slowly."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def overrides(root: Path, out: Path, device: str = "cpu") -> list[str]:
    """One apparatus of the RG-shaped set at ``root``, no validation split, runs under ``out``, on ``device``."""
    return [
        f"data.root={root}",
        f"run.out={out}",
        f"run.device={device}",
        "run.progress=false",
        "train.epochs=100",
        "data.classes=[Ball]",
        "data.val_fraction=0.0",
        "run.tensorboard=false",
    ]


def matmul_rate(dtype: torch.dtype, n: int = 2048, repeats: int = 7) -> float:
    """This machine's matmul rate in FLOP/s: the median of ``repeats`` ``n x n @ n x n`` products (after one)."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    torch.mm(a, b)
    times = [timed(lambda: torch.mm(a, b)) for _ in range(repeats)]
    return 2 * n**3 / statistics.median(times)


def epoch_flops(trainer: Any, splits: tuple[str, ...] = ("test",)) -> tuple[int, int]:
    """FLOPs of one training epoch and of one evaluation of ``splits``, as the tool runs them."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as train:
        trainer.train_epoch()
    with FlopCounterMode(display=False) as evaluate:
        evaluation_forwards(trainer, splits)
    return int(train.get_total_flops()), int(evaluate.get_total_flops())


def evaluation_forwards(trainer: Any, splits: tuple[str, ...]) -> None:
    """The forward passes of evaluating ``splits`` (eval mode, the trainer's evaluation batches), autograd on: the
    FLOPs of ``predict_split``, whose no_grad trips FlopCounterMode's module tracker on a parameter passed as a
    module's input (GDLT's queries: "Expected gradient function to be set")."""
    model, data, size = trainer.model.eval(), trainer.data, trainer.sections.eval.batch_size
    for part in (getattr(data, s) for s in splits):
        for start in range(0, len(part) if part is not None else 0, size):
            idx = list(range(start, min(start + size, len(part))))
            model({k: v.to(trainer.device) for k, v in data.batch(part, idx, train=False).items()})
    model.train()


def floor_lines(name: str, root: Path, out: Path, fit_seconds: float, bf16_fit: float | None) -> list[str]:
    """The recipe's epoch (fit(), evaluation included) against the matmul floor for its counted FLOPs."""
    base = overrides(root, out)
    flops = sum(epoch_flops(zoo.engine.Trainer(load_recipe(name, base), out / name / "flops", progress=False)))
    fp32_floor = flops / matmul_rate(torch.float32)
    lines = [
        f"  FLOPs per epoch (train + test eval) {flops / 1e9:9.1f} GFLOP",
        f"  fp32 floor {fp32_floor:6.2f} s; fit() epoch {fit_seconds:6.2f} s: "
        f"{fit_seconds / fp32_floor:.2f}x the floor",
    ]
    if not native_bf16():
        lines.append("  bf16: this CPU has no native bf16 (AVX512-BF16 / AMX): no bf16 floor quoted")
    else:
        bf16_floor = flops / matmul_rate(torch.bfloat16)
        seen = "(--bf16 to time it)"
        if bf16_fit:
            seen = f"fit() epoch {bf16_fit:6.2f} s: {bf16_fit / bf16_floor:.2f}x the floor"
        lines.append(f"  bf16 floor {bf16_floor:6.2f} s; {seen}")
    return lines


def bench_recipe(
    name: str,
    root: Path,
    out: Path,
    rounds: int,
    bf16: bool,
    compile: bool = False,
    stacked: int = 0,
    device: str = "cpu",
) -> dict[str, float]:
    """Median seconds per epoch of each contender for one recipe, and of its fit() (``fit_epoch``)."""
    base = overrides(root, out, device)
    fp32 = load_recipe(name, base)
    tool = zoo.engine.Trainer(fp32, out / name / "fp32", progress=False)
    contenders: dict[str, Callable[[], object]] = {
        "tool (fp32)": tool.train_epoch,
        "minimal loop (fp32)": MinimalLoop(fp32, tool.data, tool.device).epoch,
    }
    if bf16:
        amp = load_recipe(name, [*base, "train.amp=bf16"])
        contenders["tool (bf16)"] = zoo.engine.Trainer(amp, out / name / "bf16", progress=False).train_epoch
    if compile:
        compiled = load_recipe(name, [*base, "train.compile=true"])
        compiled_tool = zoo.engine.Trainer(compiled, out / name / "compiled", progress=False)
        contenders["tool (compiled)"] = compiled_tool.train_epoch
    times: dict[str, list[float]] = {k: [] for k in contenders}
    first: dict[str, float] = {}
    for r in range(rounds + 1):
        for label, fn in contenders.items():
            t = timed(fn)
            if not r:
                first[label] = t
            if r:  # round 0 warms up
                times[label].append(t)
    med = {k: statistics.median(v) for k, v in times.items()}
    if compile:
        med["compiled: 1st epoch"] = first["tool (compiled)"]
    med["fit() epoch"] = fit_epoch(load_recipe(name, [*base, f"train.epochs={rounds + 1}"]), out / name / "full")
    if stacked:
        together = load_recipe(name, [*base, f"train.epochs={rounds + 1}"])
        med[f"fit() epoch, {stacked} stacked"] = stacked_fit_epoch(together, stacked, out / name / "stacked")
    if bf16:
        amp_fit = load_recipe(name, [*base, f"train.epochs={rounds + 1}", "train.amp=bf16"])
        med["fit() epoch (bf16)"] = fit_epoch(amp_fit, out / name / "full16")
    return med


def fit_epoch(recipe: dict, run_dir: Path) -> float:
    """Median wall of a ``fit()`` epoch (training, evaluation, checkpoints), its first epoch left out."""
    trainer = zoo.engine.Trainer(recipe, run_dir, progress=False)
    clock = EpochClock()
    trainer.hooks.append(clock)  # a plain callable: the trainer calls each hook as hook(trainer, epoch)
    trainer.fit()
    return statistics.median(clock.epochs())


def stacked_fit_epoch(recipe: dict, seeds: int, run_dir: Path) -> float:
    """Median wall of a ``fit()`` epoch of seeds 0..seeds-1 trained stacked (every seed's training, evaluation
    and checkpoints), its first epoch left out."""
    from zoo.engine.sections import check_recipe, with_seed
    from zoo.engine.seeds import model_inputs, stacking_refused
    from zoo.engine.stacked import fit_stacked, own_generator
    from zoo.engine.trainer import build_data

    recipe = {**recipe, "train": {**recipe["train"], "stack_seeds": True}}  # asked for: on the CPU too
    parsed = check_recipe(recipe)
    data = build_data(parsed, model_inputs(parsed), progress=False)
    trainers = []
    for seed in range(seeds):
        t = zoo.engine.Trainer(with_seed(recipe, seed), run_dir / f"seed{seed}", progress=False, data=data)
        t.torch_rng = own_generator(t.device)
        trainers.append(t)
    refused = stacking_refused(parsed, data, trainers[0].device, seeds)
    if refused:
        raise SystemExit(f"{recipe.get('description', 'this recipe')}: seeds cannot be stacked: {refused}")
    clock = EpochClock()
    trainers[0].hooks.append(clock)  # seed 0's epoch ends: the wall of every seed's epoch together
    errors: list[BaseException] = []
    fit_stacked(trainers, lambda t, outcome: errors.append(outcome) if isinstance(outcome, BaseException) else None)
    if errors:
        raise errors[0]
    return statistics.median(clock.epochs())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", action="append", help="recipe to time (repeatable; default actionnet/base)")
    parser.add_argument("--rounds", type=int, default=5, help="epochs of each contender (after one warm-up)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: leave the default)")
    parser.add_argument("--bf16", action="store_true", help="also time the tool with train.amp=bf16")
    parser.add_argument("--compile", action="store_true", help="also time the tool with train.compile=true")
    parser.add_argument("--data", help="folder for the RG-shaped features (default: a temp folder)")
    parser.add_argument("--floor", action="store_true", help="also set each epoch against the matmul floor")
    parser.add_argument("--stacked", type=int, default=0, help="also time N seeds trained stacked (fit() epochs)")
    parser.add_argument("--device", default="cpu", help="run.device of every contender (cpu, cuda)")
    args = parser.parse_args()
    if args.rounds < 1:  # a fit() epoch is the wall between two epoch ends: it needs two epochs at least
        parser.error(f"--rounds must be 1 or more, got {args.rounds}")
    if args.threads:
        torch.set_num_threads(args.threads)
    recipes = args.recipe or ["actionnet/base"]
    with tempfile.TemporaryDirectory() as tmp:
        root = write_rg_features(Path(args.data or tmp) / "rg")
        runs = Path(tmp) / "runs"
        results = {
            name: bench_recipe(name, root, runs, args.rounds, args.bf16, args.compile, args.stacked, args.device)
            for name in recipes
        }
        floors = {
            name: floor_lines(name, root, Path(tmp) / "runs", med["fit() epoch"], med.get("fit() epoch (bf16)"))
            for name, med in results.items()
            if args.floor
        }
    where = torch.cuda.get_device_name() if args.device.startswith("cuda") else f"{torch.get_num_threads()} threads"
    print(f"200 training videos, {where}, {args.rounds} epochs of each (medians, s/epoch):")
    if args.bf16:
        print(f"  this CPU {'has' if native_bf16() else 'has NO'} native bf16 (AVX512-BF16 / AMX)")
    for name, med in results.items():
        print(f"{name}:")
        for label, m in med.items():
            print(f"  {label:<22} {m:7.2f}")
        print(f"  ratio tool / minimal  = {med['tool (fp32)'] / med['minimal loop (fp32)']:.3f} (target <= 1.2)")
        if "tool (compiled)" in med:
            print(f"  ratio compiled / tool = {med['tool (compiled)'] / med['tool (fp32)']:.3f}")
        if args.stacked:
            ratio = med[f"fit() epoch, {args.stacked} stacked"] / med["fit() epoch"]
            print(f"  ratio {args.stacked} stacked / one seed = {ratio:.3f} (target <= 2 for 5 seeds)")
        if "tool (bf16)" in med:
            print(f"  ratio bf16 / minimal  = {med['tool (bf16)'] / med['minimal loop (fp32)']:.3f}")
        for line in floors.get(name, []):
            print(line)


if __name__ == "__main__":
    main()
