"""The doors the tools open: train a recipe, train one model per class, evaluate a checkpoint."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch.distributed as dist

from registry import apply_overrides, build_model, load_checkpoint, load_recipe, load_state
from registry.recipe import recipe_name

from .distributed import init_process_group, pick_device, shutdown, world_from_env
from .evaluate import predict_split
from .report import class_table, run_table
from .runlog import write_atomic
from .trainer import Trainer, build_data


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def new_run_dir(out: str | Path, name: str) -> Path:
    """``<out>/<recipe name>/<timestamp>`` (agreed by every rank of a distributed run)."""
    world = world_from_env()
    stamp = [_stamp()]
    if world.distributed:
        dist.broadcast_object_list(stamp, src=0)
    path = Path(out) / name / stamp[0]
    n = 1
    while world.main and path.exists() and (path / "last.pt").exists():
        n += 1
        path = Path(out) / name / f"{stamp[0]}-{n}"
    return path


def latest_run_dir(out: str | Path, name: str) -> Path:
    runs = sorted(p for p in (Path(out) / name).glob("*") if (p / "last.pt").is_file())
    if not runs:
        raise FileNotFoundError(f"nothing to resume: no run of {name!r} with a last.pt under {Path(out) / name}")
    return runs[-1]


def train(
    recipe: str | Path,
    overrides: Sequence[str] = (),
    resume: bool | str | Path = False,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Train (or resume) one recipe; returns its results and prints the table on the main rank."""
    rc = load_recipe(recipe, overrides)
    name = recipe_name(recipe)
    world = world_from_env()
    init_process_group(world, pick_device(rc.get("run", {}).get("device", "auto"), world))
    try:
        out = rc.get("run", {}).get("out", "runs")
        if resume:
            run_dir = Path(resume) if not isinstance(resume, bool) else latest_run_dir(out, name)
        else:
            run_dir = new_run_dir(out, name)
        trainer = Trainer(rc, run_dir, name=name, resume=bool(resume), world=world, progress=progress)
        results = trainer.fit()
        if world.main:
            print(run_table(results))
        return results
    finally:
        shutdown(world)


def train_per_class(
    recipe: str | Path, overrides: Sequence[str] = (), progress: bool | None = None
) -> dict[str, dict[str, Any]]:
    """One model per class (``eval.per_class``: label -> overrides), then the table with Fisher-z averages."""
    base = load_recipe(recipe, overrides)
    classes: Mapping[str, Mapping[str, Any]] = base.get("eval", {}).get("per_class") or {}
    if not classes:
        raise ValueError(f"recipe {recipe} has no eval.per_class: say which overrides make each class's model")
    name = recipe_name(recipe)
    results: dict[str, dict[str, Any]] = {}
    for label, extra in classes.items():
        more = [f"{k}={json.dumps(v)}" for k, v in (extra or {}).items()]
        if not any(k == "data.classes" for k in (extra or {})) and "classes" in base.get("data", {}):
            more.append(f"data.classes={json.dumps([label])}")
        rc = apply_overrides(base, more)
        out = Path(rc.get("run", {}).get("out", "runs"))
        trainer = Trainer(rc, new_run_dir(out, f"{name}/{label}"), name=f"{name} [{label}]", progress=progress)
        results[label] = trainer.fit()
        print(run_table(results[label]))
    table = class_table(results)
    folder = Path(base.get("run", {}).get("out", "runs")) / name / f"per_class-{_stamp()}"
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "table.md", f"# {name}: one model per class\n\n{table}\n")
    write_atomic(folder / "results.json", json.dumps(results, indent=2))
    print(f"\n{name}: one model per class ({folder})\n{table}")
    return results


def test_checkpoint(
    checkpoint: str | Path, recipe: str | Path | None = None, overrides: Sequence[str] = (), split: str = "test"
) -> dict[str, Any]:
    """Evaluate a checkpoint on a split of its recipe's data (or of ``recipe``, whose model must match)."""
    ckpt = load_checkpoint(checkpoint)
    rc = load_recipe(recipe, overrides) if recipe is not None else apply_overrides(ckpt["recipe"], overrides)
    model = build_model(rc)
    load_state(model, ckpt["model"], source=str(checkpoint))
    device = pick_device(rc.get("run", {}).get("device", "auto"), world_from_env())
    data = build_data(rc, model.inputs)
    part = getattr(data, split)
    if part is None:
        raise ValueError(f"the recipe's data has no {split!r} split (set data.val_fraction for a validation split)")
    preds = predict_split(model.to(device), data, part, device)
    return {
        "checkpoint": str(checkpoint),
        "epoch": ckpt.get("epoch"),
        "split": split,
        "videos": len(part),
        **preds.metrics(data.score_bounds),
        "predictions": dict(zip(preds.names, preds.scores)),
    }
