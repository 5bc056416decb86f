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
import tempfile
from pathlib import Path
from typing import Any

import torch
from train import epoch_flops, matmul_rate  # bench/train.py: the same counting and matmul rate as its --floor

import zoo
from registry import list_recipes, load_recipe
from zoo.data.features import FeatureData
from zoo.engine.provenance import short
from zoo.engine.zoo_table import Protocol, adapt, protocol

TARGET_MINUTES = 20.0


def recipe_flops(name: str, proto: Protocol, shared: FeatureData, out: Path) -> tuple[int, int] | str:
    """FLOPs of one training epoch and of its evaluation (validation and test) under the table's protocol, or
    why the table does not train this recipe."""
    rc = adapt(load_recipe(name), proto, epochs=1, seed=0, out=out)
    if isinstance(rc, str):
        return rc
    return epoch_flops(zoo.engine.Trainer(rc, out / name, name=name, progress=False, data=shared), ("val", "test"))


def measured_seconds(path: Path, data: str, epochs: int, seeds: int) -> tuple[dict[str, float], str]:
    """Each recipe's training seconds in a results table (summed over its seeds, where it has all of them), and
    where they come from; none, saying why, when that table's protocol (data, epochs, seeds) is not this one."""
    if not path.is_file():
        return {}, f"none ({path} does not exist)"
    record: dict[str, Any] = json.loads(path.read_text())
    made = record.get("protocol") or {}
    theirs = (made.get("data"), made.get("epochs"), len(made.get("seeds") or []))
    if theirs != (data, epochs, seeds):
        return {}, (
            f"none: {path} was made with data {theirs[0]}, {theirs[1]} epochs, {theirs[2]} seeds; "
            f"this count is for data {data}, {epochs} epochs, {seeds} seeds"
        )
    out = {}
    for name, row in (record.get("rows") or {}).items():
        seconds = row.get("train_seconds") or []
        if seconds and all(s is not None for s in seconds):
            out[name] = float(sum(seconds))
    return out, str(path)


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
    measured, source = measured_seconds(Path(args.results), short(shared.fingerprint()), args.epochs, args.seeds)
    rate = args.rate * 1e9 if args.rate else matmul_rate(torch.float32)
    runs = args.epochs * args.seeds
    print(
        f"matmul rate {rate / 1e9:.1f} GFLOP/s fp32{' (given)' if args.rate else ''} "
        f"({torch.get_num_threads()} threads); {args.epochs} epochs x "
        f"{args.seeds} seeds per recipe; measured: {source}"
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
            flops = recipe_flops(name, proto, shared, Path(tmp))
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
        f"matmuls and convolutions only); "
        f"{f'its rows measured {total_measured / 60:.1f} min of training' if measured else 'no measured rows'}; target "
        f"{TARGET_MINUTES:.0f} min: the floor is {total_floor / 60 / TARGET_MINUTES:.2f}x the target"
    )


if __name__ == "__main__":
    main()
