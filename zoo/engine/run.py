"""The doors the tools open: train a recipe, train one model per class, evaluate a checkpoint."""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from registry import ConfigError, apply_overrides, build_model, load_checkpoint, load_recipe, load_state, write_atomic
from registry.recipe import recipe_name

from ..amp import autocast_dtype
from ..data.features import Scoring, check_plausible
from .distributed import init_process_group, pick_device, shutdown, world_from_env
from .evaluate import predict_split
from .provenance import check_against_checkpoint, check_made_by
from .report import class_table, results_table
from .rundir import _stamp, check_resumable, create_run_dir, latest_resumable
from .sections import check_one_seed, check_recipe, data_section
from .trainer import Trainer, build_data


def python_command() -> str:
    """How the user runs Python here: ``.venv/bin/python`` when that is this interpreter, else ``python``."""
    venv = Path.cwd() / ".venv" / "bin" / "python"
    try:
        if venv.exists() and venv.resolve() == Path(sys.executable).resolve():
            return ".venv/bin/python"
    except OSError:
        pass
    return "python"


def next_steps(results: Mapping[str, Any]) -> str:
    """Where a finished run's files are, and the commands to try next."""
    run = Path(results["run_dir"])
    ckpt = run / ("selected.pt" if results.get("selected") else "last.pt")
    which = "validation-selected" if results.get("selected") else "last epoch"
    py = python_command()
    q = shlex.quote  # a path with spaces must paste as one argument
    lines = [
        f"run folder: {run}",
        f"  checkpoint ({which}): {ckpt}",
        f"  results:    {run / 'results.json'}",
        f"  curves:     {run / 'curves.png'}",
        f"  recipe:     {run / 'recipe.yaml'}",
        "next:",
        f"  {py} tools/test.py --checkpoint {q(str(ckpt))}",
        f"  {py} tools/predict.py --checkpoint {q(str(ckpt))} VIDEO.mp4",
        f"  {py} tools/report.py {q(str(run))}",
    ]
    return "\n".join(lines)


def train(
    recipe: str | Path,
    overrides: Sequence[str] = (),
    resume: bool | str | Path = False,
    progress: bool | None = None,
    accept_mismatch: bool = False,
) -> dict[str, Any]:
    """Train (or resume) one recipe; returns its results and prints the table on the main rank.

    ``accept_mismatch`` trains on features the recipe's extract section did not make (or implausible
    validation/test features) instead of refusing; the results then list what was accepted.
    """
    rc = load_recipe(recipe, overrides)
    sections = check_recipe(rc)
    check_one_seed(sections)  # before a run folder is made for it
    name = recipe_name(recipe)
    world = world_from_env()
    init_process_group(world, pick_device(sections.run.device, world))
    try:
        if resume:
            run_dir = Path(resume) if not isinstance(resume, bool) else latest_resumable(sections.run.out, name)
            check_resumable(run_dir)
        else:
            run_dir = create_run_dir(sections.run.out, name, world)
        trainer = Trainer(
            sections,
            run_dir,
            name=name,
            resume=bool(resume),
            world=world,
            progress=progress,
            accept_mismatch=accept_mismatch,
        )
        results = trainer.fit()
        if world.main:
            print(results_table(results))
            print(next_steps(results))
        return results
    finally:
        shutdown(world)


def _class_overrides(
    base: Mapping[str, Any], label: str, extra: Mapping[str, Any] | None, given: set[str]
) -> tuple[list[str], list[str]]:
    """The overrides that make ``label``'s model, and the keys the command line already set (which win)."""
    more, kept = [], []
    for key, value in (extra or {}).items():
        if key in given:
            kept.append(key)
            continue
        more.append(f"{key}={json.dumps(value)}")
    filtered = (base.get("data") or {}).get("classes") is not None  # Fis-V's TES / PCS are targets, not classes
    if "data.classes" not in (extra or {}) and filtered and "data.classes" not in given:
        more.append(f"data.classes={json.dumps([label])}")
    return more, kept


def train_per_class(
    recipe: str | Path, overrides: Sequence[str] = (), progress: bool | None = None, accept_mismatch: bool = False
) -> dict[str, dict[str, Any]]:
    """One model per class (``eval.per_class``: label -> overrides), then the table with Fisher-z averages.

    A key given on the command line (``train.epochs=2``) wins over the per-class overrides of that key.
    """
    base = load_recipe(recipe, overrides)
    sections = check_recipe(base)
    classes = sections.eval.per_class or {}
    if not classes:
        raise ConfigError(f"recipe {recipe} has no eval.per_class: say which overrides make each class's model")
    given = {o.lstrip("+").partition("=")[0] for o in overrides if "=" in o}
    name = recipe_name(recipe)
    world = world_from_env()
    results: dict[str, dict[str, Any]] = {}
    for label, extra in classes.items():
        more, kept = _class_overrides(base, label, extra, given)
        if kept:
            print(f"{label}: the command line's {', '.join(kept)} wins over eval.per_class.{label}")
        parsed = check_recipe(apply_overrides(base, more))
        trainer = Trainer(
            parsed,
            create_run_dir(parsed.run.out, f"{name}/{label}", world),
            name=f"{name} [{label}]",
            progress=progress,
            accept_mismatch=accept_mismatch,
        )
        results[label] = trainer.fit()
        print(results_table(results[label]))
    table = class_table(results)
    folder = Path(sections.run.out) / name / f"per_class-{_stamp()}-{os.getpid()}"
    write_atomic(folder / "table.md", f"# {name}: one model per class\n\n{table}\n")
    write_atomic(folder / "results.json", json.dumps(results, indent=2))
    print(f"\n{name}: one model per class ({folder})\n{table}")
    return results


def checkpoint_scoring(ckpt: Mapping[str, Any], recipe: Mapping[str, Any]) -> Scoring:
    """How the checkpoint's model was scored in training: stored in it, or (older files) from its recipe."""
    if isinstance(ckpt.get("scoring"), Mapping):
        return Scoring.from_dict(ckpt["scoring"])
    return data_section(recipe).scoring(recipe.get("extract"))


def test_checkpoint(
    checkpoint: str | Path,
    recipe: str | Path | None = None,
    overrides: Sequence[str] = (),
    split: str = "test",
    device: str | None = None,
    progress: bool = True,
    trust_imports: bool = False,
    accept_mismatch: bool = False,
    drop: Sequence[Sequence[str]] | None = None,
) -> dict[str, Any]:
    """Evaluate a checkpoint on a split of its recipe's data (or of ``recipe``, which must score alike).

    ``drop``: sets of inputs to score without, each beside the complete result (``missing``: one entry
    per set, its metrics and predictions); None takes the recipe's ``eval.drop`` (one input at a time).
    An input the model does not read, or cannot score without, is an error naming it.

    The videos are scored exactly as training evaluated them (the checkpoint's score scale, windows
    and autocast). Refused, naming the differing keys, unless ``accept_mismatch`` (the result then
    lists them): a recipe or override that changes the model or what a score means (target column,
    classes, scale, windows), features made by another extract section than the training features,
    and videos whose features lie absurdly outside the training features.
    """
    ckpt = load_checkpoint(checkpoint)
    own = ckpt.get("recipe")
    if recipe is None and not isinstance(own, Mapping):
        raise ConfigError(f"checkpoint {str(checkpoint)!r} carries no recipe; name the recipe whose data to use")
    if recipe is not None:  # the user's recipe: its imports are theirs to trust
        rc, trusted = load_recipe(recipe, overrides), True
    else:  # the file's own recipe: it may import only what is imported already (or --trust-imports)
        rc, trusted = apply_overrides(own, overrides), trust_imports or []
    sections = check_recipe(rc)  # the recipe parsed once; everything below takes it
    accepted, notes = [], []
    if isinstance(own, Mapping):
        accepted += check_against_checkpoint(own, sections, str(checkpoint), split, accept_mismatch)
    model = build_model(rc, trusted, source=f"checkpoint {str(checkpoint)!r}" if recipe is None else "the recipe")
    load_state(model, ckpt["model"], source=str(checkpoint))
    world = world_from_env()
    dev = pick_device(device or sections.run.device, world)
    data = build_data(sections, model.inputs, progress=progress)
    provenance = ckpt.get("provenance") or {}
    trained_on = provenance.get("data")
    if trained_on is None:
        notes.append(f"{checkpoint} records no training features (it predates provenance): the features are unchecked")
    else:
        made_by = {k: (v or {}).get("made_by") for k, v in (trained_on.get("inputs") or {}).items()}
        made_by = {k: v for k, v in made_by.items() if k in model.inputs}
        more, unvouched = check_made_by(
            made_by,
            data.made_by,
            data.sources.get("folders") or {},
            "the checkpoint's training features",
            accept_mismatch,
        )
        accepted += more
        notes += unvouched
    part = getattr(data, split)
    if part is None:
        raise ConfigError(f"the recipe's data has no {split!r} split (set data.val_fraction for a validation split)")
    accepted += check_plausible(
        part.features, part.names, provenance.get("input_stats"), f"the {split} split", accept_mismatch
    )
    trained = checkpoint_scoring(ckpt, own if isinstance(own, Mapping) else rc)
    if not accepted:  # the checkpoint's own scoring (equal to the recipe's where it matters, as checked)
        data.scoring = dataclasses.replace(trained, score_bounds=data.scoring.score_bounds)
    else:  # a mismatch was accepted: score as the given recipe says, and say so
        data.scoring = dataclasses.replace(data.scoring, amp=sections.train.amp)
    preds = predict_split(model.to(dev), data, part, dev, autocast=autocast_dtype(data.scoring.amp))
    metrics = preds.metrics(data.score_bounds)
    scenarios = [list(d) for d in drop] if drop is not None else [[k] for k in sections.eval.drop]
    missing = [missing_modality(model, data, part, dev, gone) for gone in scenarios]
    return {
        "checkpoint": str(checkpoint),
        "epoch": ckpt.get("epoch"),
        "split": split,
        "videos": len(part),
        **metrics.values,
        **{f"{k}_undefined": v for k, v in metrics.undefined.items()},
        "target": data.scoring.target,
        "accepted": accepted,
        "notes": notes,
        "predictions": [
            {"name": n, "predicted": p, "judged": t} for n, p, t in zip(preds.names, preds.scores, preds.targets)
        ],
        "missing": missing,
    }


def missing_modality(model: Any, data: Any, part: Any, device: Any, gone: Sequence[str]) -> dict[str, Any]:
    """The split scored with the inputs ``gone`` absent: metrics and predictions, as the complete result has."""
    unknown = sorted(set(gone) - set(model.inputs))
    if unknown:
        raise ConfigError(
            f"--drop {','.join(gone)}: the model reads no input {unknown}; its inputs: {sorted(model.inputs)}"
        )
    preds = predict_split(model, data, part, device, autocast=autocast_dtype(data.scoring.amp), drop=gone)
    metrics = preds.metrics(data.score_bounds)
    return {
        "dropped": list(gone),
        **metrics.values,
        **{f"{k}_undefined": v for k, v in metrics.undefined.items()},
        "predictions": [
            {"name": n, "predicted": p, "judged": t} for n, p, t in zip(preds.names, preds.scores, preds.targets)
        ],
    }
