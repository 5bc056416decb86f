"""Recipes of stages: training recipes run in order, a later one starting from earlier ones' checkpoints.

PAMFN trains a branch per modality, then a fusion model whose branches start from theirs. A recipe of
stages says so (``recipes/peers/pamfn.yaml``)::

    stages:
      rgb: {recipe: peers/pamfn_rgb}
      fusion:
        recipe: peers/pamfn_fusion
        init_from: {rgb: {streams.rgb: streams.rgb}}     # stage -> {its module: this model's module}

``tools/train.py peers/pamfn`` trains every stage into ``<out>/<recipe>/<timestamp>-stages/<stage>/`` (the
command line's overrides apply to every stage; ``rgb:model.streams.rgb.width=64`` to stage ``rgb`` alone),
each stage's headline checkpoint feeding the
``train.init_from`` of the stages after it; ``stages.json`` records what finished, so ``--resume``
continues from the first stage that did not (resuming its run where it has a checkpoint). With
``--per-class`` the whole sequence runs per class of the last stage's ``eval.per_class``, each stage
taking its own per-class overrides, and ends with the class table of the last stage.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from registry import ConfigError, MissingFileError, RecipeError, load_recipe, write_atomic
from registry.errors import did_you_mean
from registry.recipe import recipe_name

from .distributed import world_from_env
from .report import class_table, results_table
from .rundir import _stamp, read_state
from .sections import check_recipe

STAGES_SUFFIX = "-stages"
STAGE_KEYS = ("recipe", "init_from")
RECORD = "stages.json"


def is_stages_recipe(recipe: Mapping[str, Any]) -> bool:
    return "stages" in recipe


def parse_stages(recipe: Mapping[str, Any], name: str) -> dict[str, dict[str, Any]]:
    """The stages in order, each ``{recipe, init_from: {stage: {source: target}}}``, checked."""
    extra = sorted(set(recipe) - {"stages", "description", "imports"})
    if extra:
        raise RecipeError(
            f"{name}: a recipe of stages holds only 'stages' (and 'description'); found {extra}: put training "
            "settings in the stages' own recipes, or override them on the command line (they apply to every stage)"
        )
    stages = recipe["stages"]
    if not isinstance(stages, Mapping) or not stages:
        raise RecipeError(f"{name}: 'stages' must map stage names to {{recipe: NAME}}, got {stages!r}")
    seen: list[str] = []
    out: dict[str, dict[str, Any]] = {}
    for stage, cfg in stages.items():
        if not isinstance(cfg, Mapping) or "recipe" not in cfg:
            raise RecipeError(f"{name}: stage {stage!r} needs a 'recipe', got {cfg!r}")
        unknown = sorted(set(cfg) - set(STAGE_KEYS))
        if unknown:
            raise RecipeError(
                f"{name}: stage {stage!r} has unknown key(s) {unknown}.{did_you_mean(unknown[0], STAGE_KEYS)}"
            )
        init = cfg.get("init_from") or {}
        for source, modules in init.items():
            if source not in seen:
                why = "it comes later" if source in stages else f"there is no such stage (stages: {list(stages)})"
                raise RecipeError(f"{name}: stage {stage!r} starts from stage {source!r}, but {why}")
            if not isinstance(modules, Mapping) or not modules:
                raise RecipeError(
                    f"{name}: stage {stage!r} init_from.{source} must map modules, e.g. {{streams.rgb: streams.rgb}}"
                )
        out[str(stage)] = {"recipe": str(cfg["recipe"]), "init_from": {str(k): dict(v) for k, v in init.items()}}
        seen.append(str(stage))
    return out


def split_overrides(overrides: Sequence[str], stages: Sequence[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Overrides for every stage, and those written ``STAGE:key=value`` for one stage only."""
    common: list[str] = []
    own: dict[str, list[str]] = {s: [] for s in stages}
    for o in overrides:
        key = o.partition("=")[0]
        stage, colon, _ = key.partition(":")
        if not colon:
            common.append(o)
            continue
        if stage not in own:
            raise ConfigError(
                f"override {o!r} is for stage {stage!r}, which this recipe does not have."
                f"{did_you_mean(stage, list(own))} Stages: {', '.join(own)}"
            )
        own[stage].append(o[len(stage) + 1 :])
    return common, own


def _headline_checkpoint(results: Mapping[str, Any]) -> str:
    run = Path(results["run_dir"])
    return str(run / ("selected.pt" if results.get("selected") else "last.pt"))


def _stage_recipe(stage: Mapping[str, Any], done: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    entries = [
        {"checkpoint": done[source]["checkpoint"], "modules": modules} for source, modules in stage["init_from"].items()
    ]
    rc = load_recipe(stage["recipe"], overrides)
    if entries:
        rc.setdefault("train", {})["init_from"] = entries
    return rc


def _new_parent(out: Path, name: str) -> Path:
    """A new, empty ``<out>/<name>/<timestamp>[-k]-stages`` (exclusive mkdir, as run folders)."""
    base = out / name
    base.mkdir(parents=True, exist_ok=True)
    stamp = _stamp()
    for k in range(1, 1000):
        path = base / (f"{stamp}{'' if k == 1 else f'-{k}'}{STAGES_SUFFIX}")
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise RecipeError(f"could not create a stages folder under {base}")


def latest_stages(out: Path, name: str) -> Path:
    """The latest ``<timestamp>-stages`` parent of ``name`` whose stages did not all finish."""
    parents = sorted(p for p in (out / name).glob(f"*{STAGES_SUFFIX}") if (p / RECORD).is_file())
    open_ = [p for p in parents if not json.loads((p / RECORD).read_text()).get("finished")]
    if not open_:
        raise MissingFileError(f"nothing to resume: no unfinished stages of {name!r} under {out / name}")
    return open_[-1]


def run_stages(
    parent: Path,
    name: str,
    stages: Mapping[str, Mapping[str, Any]],
    overrides: Sequence[str],
    stage_overrides: Mapping[str, Sequence[str]] | None = None,
    resume: bool = False,
    progress: bool | None = None,
    accept_mismatch: bool = False,
) -> dict[str, Any]:
    """Train the stages in order under ``parent``; a finished stage (in ``stages.json``) is not trained again.

    ``overrides`` apply to every stage, ``stage_overrides[stage]`` after them to that stage alone."""
    from .trainer import Trainer

    parent.mkdir(parents=True, exist_ok=True)
    record_path = parent / RECORD
    given = {"overrides": list(overrides), "stage_overrides": {k: list(v) for k, v in (stage_overrides or {}).items()}}
    record: dict[str, Any] = (
        json.loads(record_path.read_text())
        if record_path.is_file()
        else {"recipe": name, **given, "stages": {}, "finished": False}
    )
    started = {k: record.get(k) for k in given}
    if started != given:  # the finished stages were trained otherwise: their checkpoints would not fit
        raise RecipeError(f"cannot resume {parent}: it was started with {started}, not {given}")
    done: dict[str, Any] = record["stages"]
    world = world_from_env()
    for stage, cfg in stages.items():
        if done.get(stage, {}).get("status") == "finished":
            print(f"{name}: stage {stage} finished before ({done[stage]['run_dir']}), not trained again")
            continue
        more = list((stage_overrides or {}).get(stage, []))
        rc = _stage_recipe(cfg, done, [*overrides, *more])
        sections = check_recipe(rc)
        run_dir = parent / stage
        again = resume and run_dir.is_dir() and read_state(run_dir)["status"] != "finished"
        if not again:
            if run_dir.exists():
                raise RecipeError(f"{run_dir} exists but stages.json does not say it finished; resume with --resume")
            run_dir.mkdir()
        trainer = Trainer(
            sections,
            run_dir,
            name=f"{name} [{stage}]",
            resume=again,
            world=world,
            progress=progress,
            accept_mismatch=accept_mismatch,
        )
        results = trainer.fit()
        if world.main:
            print(f"{name}: stage {stage} ({cfg['recipe']})\n{results_table(results)}")
        done[stage] = {
            "status": "finished",
            "recipe": cfg["recipe"],
            "run_dir": str(run_dir),
            "checkpoint": _headline_checkpoint(results),
            "spearman": results.get("spearman"),
            "headline": results.get("headline"),
        }
        write_atomic(record_path, json.dumps(record, indent=1))
    record["finished"] = True
    write_atomic(record_path, json.dumps(record, indent=1))
    last = list(stages)[-1]
    results = json.loads((Path(done[last]["run_dir"]) / "results.json").read_text())
    return {**results, "stages": done, "stages_dir": str(parent)}


def train_stages(
    recipe: str | Path,
    overrides: Sequence[str] = (),
    resume: bool | str | Path = False,
    per_class: bool = False,
    progress: bool | None = None,
    accept_mismatch: bool = False,
) -> dict[str, Any]:
    """Train a recipe of stages (optionally per class); returns the last stage's results with every stage's."""
    from .run import _class_overrides

    raw = load_recipe(recipe)
    name = recipe_name(recipe)
    stages = parse_stages(raw, name)
    overrides, own = split_overrides(overrides, list(stages))
    first_stage = next(iter(stages))
    first = check_recipe(load_recipe(stages[first_stage]["recipe"], [*overrides, *own[first_stage]]))
    out = Path(first.run.out)
    if isinstance(resume, str | Path) and not isinstance(resume, bool):
        top = Path(resume)
    elif resume:
        top = latest_stages(out, name)
    else:
        top = _new_parent(out, name)
    if not per_class:
        return run_stages(top, name, stages, overrides, own, bool(resume), progress, accept_mismatch)
    last_stage = list(stages)[-1]
    last = check_recipe(load_recipe(stages[last_stage]["recipe"], [*overrides, *own[last_stage]]))
    classes = last.eval.per_class or {}
    if not classes:
        raise ConfigError(f"{name}: the last stage's recipe has no eval.per_class; say which classes to train")
    given = {o.lstrip("+").partition("=")[0] for o in overrides if "=" in o}
    top_record = top / RECORD  # the parent of one sequence per class: finished when the table is written
    if not top_record.is_file():
        write_atomic(top_record, json.dumps({"recipe": name, "per_class": list(classes), "finished": False}))
    results: dict[str, dict[str, Any]] = {}
    for label in classes:
        per_stage = {}
        for stage, cfg in stages.items():
            base = load_recipe(cfg["recipe"], [*overrides, *own[stage]])
            extra = (check_recipe(base).eval.per_class or {}).get(label)
            more, _ = _class_overrides(base, label, extra, given | {o.partition("=")[0] for o in own[stage]})
            per_stage[stage] = [*own[stage], *more]
        results[label] = run_stages(
            top / label, f"{name} [{label}]", stages, overrides, per_stage, bool(resume), progress, accept_mismatch
        )
    table = class_table(results)
    write_atomic(top / "table.md", f"# {name}: one model per class (last stage)\n\n{table}\n")
    write_atomic(top / "results.json", json.dumps(results, indent=2))
    write_atomic(top_record, json.dumps({"recipe": name, "per_class": list(classes), "finished": True}))
    print(f"\n{name}: one model per class ({top})\n{table}")
    return {"classes": results, "stages_dir": str(top)}
