"""The sections of a recipe, typed: what each accepts, its defaults and ranges, checked once up front.

``check_recipe(recipe)`` refuses unknown sections and keys (with the close ones), checks every
value of ``train``, ``eval`` and ``run`` against its dataclass below, builds the ``data`` section
(a registered dataset type, itself a typed dataclass) without reading anything, and checks the
optimiser's numbers. Every reader then uses the returned ``Sections``; nobody re-parses a section
with defaults of its own.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from registry import ConfigError, RecipeError
from registry.errors import did_you_mean
from registry.sections import from_mapping, option

from ..amp import AMP_CHOICES
from ..data.datasets import Dataset
from ..data.extract.config import ExtractSection
from ..kinds import DATASETS


@dataclass(frozen=True)
class Train:
    """``train:``: how long and how to train."""

    epochs: int = option(min=1)
    batch_size: int = option(32, min=1)
    seed: int = option(0, min=0)
    seeds: list[int] | None = option(None)  # several seeds, one run each (tools/train.py --seeds 0,1,2)
    amp: str | None = option(None, choices=AMP_CHOICES)  # autocast dtype: null | bf16 | fp16
    compile: bool = option(False)
    # --seeds as one batched model where the model allows (zoo.engine.stacked): auto on a GPU only (on the CPU it
    # measured slower than seeds one by one), true also on the CPU, false never
    stack_seeds: bool | Literal["auto"] = option("auto")
    grad_clip: float | None = option(None, gt=0)  # max gradient norm
    hooks: list[dict[str, Any]] = option(factory=list)  # e.g. [{type: early_stopping, patience: 50}]
    # Submodules started from another run's checkpoint: [{checkpoint: path, modules: {source: target}}].
    init_from: list[dict[str, Any]] | None = option(None)

    def __post_init__(self) -> None:
        if self.init_from is not None:
            from .init_from import check_entries

            check_entries(self.init_from)
        seeds = self.seeds
        if isinstance(seeds, list) and all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
            check_seeds(seeds, "train.seeds")  # anything but a list of integers: check_fields names the type


def check_seeds(seeds: list[int], where: str) -> None:
    """Seeds to train one run each: at least one, none negative, none twice (``where``: the key or option)."""
    if not seeds:
        raise ConfigError(f"{where} must list at least one seed, got []; leave it out to train train.seed alone")
    if any(s < 0 for s in seeds):
        raise ConfigError(f"{where} must hold seeds >= 0, got {seeds}")
    twice = sorted({s for s in seeds if seeds.count(s) > 1})
    if twice:  # one seed trained twice is the same run twice, in two folders of one name
        raise ConfigError(f"{where} lists seed(s) {twice} more than once: {seeds}")


@dataclass(frozen=True)
class Eval:
    """``eval:``: when to evaluate and which checkpoint is the headline."""

    every: int = option(1, min=1)  # evaluate validation and test every N epochs (and the last)
    select: str = option("val", choices=("val", "last"))  # val: validation-selected; last: last epoch
    batch_size: int = option(64, min=1)
    per_class: dict[str, dict[str, Any] | None] | None = option(None)  # class -> overrides (--per-class)
    drop: list[str] = option(factory=list)  # inputs scored missing, one at a time, beside the complete result


@dataclass(frozen=True)
class Run:
    """``run:``: where runs go and on what they run."""

    out: str = option("runs")  # runs/<recipe>/<timestamp>/
    device: str = option("auto")  # auto | cpu | cuda | cuda:N
    tensorboard: bool = option(True)
    checkpoint_every: int = option(10, min=1)  # last.pt every N epochs, the last, and on SIGINT/SIGTERM
    progress: bool = option(True)

    def __post_init__(self) -> None:
        if isinstance(self.device, str) and not re.fullmatch(r"auto|cpu|cuda(:\d+)?", self.device):
            raise ConfigError(f"run.device must be auto, cpu, cuda or cuda:N, got {self.device!r}")


# Sections that hold a component config (checked when built) or free text.
COMPONENT_SECTIONS = ("imports", "description", "model", "loss", "extract", "optim", "schedule")
TYPED = {"train": Train, "eval": Eval, "run": Run}
SECTIONS = (*COMPONENT_SECTIONS, "data", *TYPED)
NEEDED = ("model", "data", "optim", "train")


DEFAULT_LOSS: dict[str, Any] = {"type": "mse"}  # a recipe without ``loss:`` regresses the score with MSE


@dataclass(frozen=True)
class Recipe:
    """A training recipe parsed once, at the door: every reader downstream takes this, never the raw mapping.

    ``raw`` is the resolved mapping as written (what runs and checkpoints store); ``train``, ``eval``,
    ``run`` are typed sections, ``data`` the dataset type built from ``data:`` (nothing read),
    ``extract`` the typed ``extract:`` section (or None), and ``model``, ``loss`` (the default filled),
    ``optim``, ``schedule`` the component configs their registries build and check.
    """

    raw: dict[str, Any]
    train: Train
    eval: Eval
    run: Run
    data: Dataset
    extract: ExtractSection | None
    model: dict[str, Any]
    loss: dict[str, Any]
    optim: dict[str, Any]
    schedule: dict[str, Any] | None


def with_seed(recipe: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """The recipe of one seed: ``train.seed`` set and ``train.seeds`` gone, as ``train.seed=S`` would write it."""
    out = copy.deepcopy(dict(recipe))  # nothing of the caller's recipe is shared with the seed's run
    train = {k: v for k, v in (out.get("train") or {}).items() if k != "seeds"}
    out["train"] = {**train, "seed": seed}  # a new key goes last, where ``+train.seed=S`` puts it
    return out


def seed_overrides(recipe: Mapping[str, Any], seed: int) -> list[str]:
    """The command-line overrides that make ``with_seed(recipe, seed)`` of ``recipe`` (``+`` for a key it lacks)."""
    train = recipe.get("train") or {}
    more = [f"{'' if 'seed' in train else '+'}train.seed={seed}"]
    return [*more, "~train.seeds"] if "seeds" in train else more


def check_one_seed(recipe: Recipe) -> None:
    """A run trains one seed: a recipe whose ``train.seeds`` lists others would train ``train.seed`` alone, silently."""
    seeds, seed = recipe.train.seeds, recipe.train.seed
    if seeds is not None and seeds != [seed]:
        raise ConfigError(
            f"train.seeds is {seeds} but one run trains one seed (train.seed={seed}): train the seeds with "
            f"tools/train.py (zoo.engine.seeds.train_recipe_seeds), or one of them with train.seed=S ~train.seeds"
        )


def check_sections(recipe: Mapping[str, Any]) -> None:
    """Unknown top-level sections are errors that suggest the close ones."""
    for key in recipe:
        if key not in SECTIONS:
            raise RecipeError(
                f"unknown recipe section {key!r}.{did_you_mean(str(key), SECTIONS)} Sections: {', '.join(SECTIONS)}"
            )


def check_recipe(recipe: Mapping[str, Any] | Recipe) -> Recipe:
    """A training recipe parsed: every section checked (nothing read, nothing built but the data section).

    Given a ``Recipe`` already, it is returned as it is: a recipe is parsed once, wherever it enters.
    """
    if isinstance(recipe, Recipe):
        return recipe
    check_sections(recipe)
    for need in NEEDED:
        if need not in recipe:
            raise RecipeError(f"the recipe has no '{need}' section; a training recipe needs {', '.join(NEEDED)}")
    typed = {name: from_mapping(cls, recipe.get(name), name) for name, cls in TYPED.items()}
    check_optim(recipe["optim"])
    extract = ExtractSection.parse(recipe["extract"]) if recipe.get("extract") else None
    return Recipe(
        raw=dict(recipe),
        data=data_section(recipe),
        extract=extract,
        model=recipe["model"],
        loss=recipe.get("loss") or dict(DEFAULT_LOSS),
        optim=recipe["optim"],
        schedule=recipe.get("schedule"),
        **typed,  # type: ignore[arg-type]
    )


def data_section(recipe: Mapping[str, Any]) -> Dataset:
    """The recipe's ``data:`` built as its registered dataset type (typed and checked; nothing is read)."""
    cfg = recipe.get("data")
    if not isinstance(cfg, Mapping):
        raise RecipeError(f"the recipe's data section must be a mapping with a 'type', got {cfg!r}")
    try:
        return DATASETS.build(cfg)
    except ConfigError as e:
        raise ConfigError(f"data: {e}") from None


def check_optim(cfg: Any) -> None:
    """``optim:``: a mapping with a type and a positive learning rate (the rest is the optimiser's own)."""
    if not isinstance(cfg, Mapping) or "type" not in cfg:
        raise ConfigError(f"optim must be a mapping with a 'type' (SGD, Adam, ...) and 'lr', got {cfg!r}")
    lr = cfg.get("lr")
    if lr is None:
        raise ConfigError("optim needs a base learning rate 'lr', e.g. optim.lr=0.01")
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not lr > 0:
        got = f"the string {lr!r}" if isinstance(lr, str) else repr(lr)
        raise ConfigError(f"optim.lr must be a positive number, got {got}")
    groups = cfg.get("groups") or []
    if not isinstance(groups, list) or not all(isinstance(g, Mapping) for g in groups):
        raise ConfigError(
            f"optim.groups must be a list of mappings like {{params: 'head.*', lr_mult: 5.0}}, got {groups!r}"
        )
    for g in groups:
        mult = g.get("lr_mult", 1.0)
        if isinstance(mult, bool) or not isinstance(mult, int | float) or not mult > 0:
            raise ConfigError(f"optim.groups entry {dict(g)}: lr_mult must be a positive number, got {mult!r}")


def check_model(recipe: Recipe) -> None:
    """Build the recipe's model and loss on the meta device: every component's type and arguments checked, no memory."""
    import torch

    from registry import build_model

    from ..kinds import LOSSES

    with torch.device("meta"):
        build_model(recipe.raw)
        LOSSES.build(recipe.loss)
