"""Benchmark: the floor of ``tools/zoo_table.py`` on this machine, recipe by recipe, against its measured time.

    python bench/table_floor.py [--pattern 'actionnet/*'] [--epochs 150] [--seeds 3] [--results docs/RESULTS.json]

Each recipe of the table, adapted to the table's protocol exactly as ``tools/zoo_table.py`` adapts it (the
synthetic set of ``actionnet/synthetic``, validation split, evaluation of validation and test every epoch),
is built once; the floating-point operations of one training epoch plus that epoch's evaluation are counted
by ``torch.utils.flop_counter.FlopCounterMode`` (matmuls and convolutions only: elementwise work, Python and
the optimiser are not counted, so the floor is a lower bound), multiplied by epochs x seeds and divided by
this machine's matmul rate (a 2048^3 fp32 ``torch.mm``, median of 7, at the current thread count; measure it
with nothing else running). The table's measured training seconds per recipe (``--results``, the sum over its
seeds) are printed beside it. The last line: the whole table's floor against the 20-minute target.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

import zoo
from registry import list_recipes, load_recipe
from zoo.engine.zoo_table import adapt, protocol

TARGET_MINUTES = 20.0


def matmul_rate(n: int = 2048, repeats: int = 7) -> float:
    """FLOP/s of an ``n x n @ n x n`` fp32 product, the median of ``repeats`` (after one)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - tic)
    return 2 * n**3 / statistics.median(times)


def epoch_flops(name: str, proto: object, shared: object, out: Path) -> tuple[int, int] | str:
    """FLOPs of one training epoch and of its evaluation (validation and test) under the table's protocol, or
    why the table does not train this recipe."""
    rc = adapt(load_recipe(name), proto, epochs=1, seed=0, out=out)  # type: ignore[arg-type]
    if isinstance(rc, str):
        return rc
    trainer = zoo.engine.Trainer(rc, out / name, name=name, progress=False, data=shared)  # type: ignore[arg-type]
    with FlopCounterMode(display=False) as train:
        trainer.train_epoch()
    with FlopCounterMode(display=False) as evaluate:
        evaluation(trainer)
    return int(train.get_total_flops()), int(evaluate.get_total_flops())


def evaluation(trainer: zoo.engine.Trainer) -> None:
    """The forward passes of an epoch's evaluation (validation and test, the trainer's batches), with autograd on:
    the FLOPs are those of ``predict_split``, whose no_grad trips FlopCounterMode's module tracker on a parameter
    passed as an input (GDLT's queries)."""
    model, data = trainer.model.eval(), trainer.data
    size = trainer.sections.eval.batch_size
    for split in (data.val, data.test):
        for start in range(0, len(split) if split is not None else 0, size):
            idx = list(range(start, min(start + size, len(split))))
            model({k: v.to(trainer.device) for k, v in data.batch(split, idx, train=False).items()})
    model.train()


def measured_seconds(path: Path) -> dict[str, float]:
    """Each recipe's training seconds in a results table (summed over its seeds), where it has all of them."""
    if not path.is_file():
        return {}
    rows = json.loads(path.read_text()).get("rows", {})
    out = {}
    for name, row in rows.items():
        seconds = row.get("train_seconds") or []
        if seconds and all(s is not None for s in seconds):
            out[name] = float(sum(seconds))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pattern", default="*", help="recipes to count (fnmatch), as tools/zoo_table.py")
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--rate", type=float, help="matmul GFLOP/s to use instead of measuring it now (idle)")
    parser.add_argument("--results", default="docs/RESULTS.json", help="the table whose training seconds to show")
    args = parser.parse_args()

    proto = protocol("synthetic", "actionnet/synthetic")
    shared = proto.load()
    measured = measured_seconds(Path(args.results))
    rate = args.rate * 1e9 if args.rate else matmul_rate()
    runs = args.epochs * args.seeds
    print(
        f"matmul rate {rate / 1e9:.1f} GFLOP/s fp32{' (given)' if args.rate else ''} "
        f"({torch.get_num_threads()} threads); {args.epochs} epochs x "
        f"{args.seeds} seeds per recipe; measured: {args.results}"
    )
    # train_seconds in results count the training epochs only (evaluation is not in them): compared with the
    # training floor; the table's floor is training and evaluation.
    print(
        f"{'recipe':34s} {'GFLOP train':>11s} {'GFLOP eval':>10s} {'train floor s':>13s} {'measured s':>10s} "
        f"{'ratio':>6s} {'floor s (all)':>13s}"
    )
    total_floor = train_floor_sum = total_measured = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for name in list_recipes(args.pattern):
            flops = epoch_flops(name, proto, shared, Path(tmp))
            if isinstance(flops, str):
                print(f"{name:34s} not in the table: {flops}")
                continue
            train_floor, floor = flops[0] * runs / rate, sum(flops) * runs / rate
            total_floor += floor
            train_floor_sum += train_floor
            seen = measured.get(name)
            total_measured += seen or 0.0
            shown = f"{seen:10.0f} {seen / train_floor:5.1f}x" if seen else f"{'-':>10s} {'-':>6s}"
            print(f"{name:34s} {flops[0] / 1e9:11.2f} {flops[1] / 1e9:10.2f} {train_floor:13.1f} {shown} {floor:13.1f}")
    print(
        f"the whole table: floor {total_floor / 60:.1f} min (training {train_floor_sum / 60:.1f} min and evaluation; "
        f"matmuls and convolutions only); its rows measured {total_measured / 60:.1f} min of training; target "
        f"{TARGET_MINUTES:.0f} min: the floor is {total_floor / 60 / TARGET_MINUTES:.2f}x the target"
    )


if __name__ == "__main__":
    main()
