"""The sections of a recipe, typed: what each accepts, its defaults and ranges, checked once up front.

``check_recipe(recipe)`` refuses unknown sections and keys (with the close ones), checks every
value of ``train``, ``eval`` and ``run`` against its dataclass below, builds the ``data`` section
(a registered dataset type, itself a typed dataclass) without reading anything, and checks the
optimiser's numbers. Every reader then uses the returned ``Sections``; nobody re-parses a section
with defaults of its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
    amp: str | None = option(None, choices=AMP_CHOICES)  # autocast dtype: null | bf16 | fp16
    compile: bool = option(False)
    grad_clip: float | None = option(None, gt=0)  # max gradient norm
    hooks: list[dict[str, Any]] = option(factory=list)  # e.g. [{type: early_stopping, patience: 50}]


@dataclass(frozen=True)
class Eval:
    """``eval:``: when to evaluate and which checkpoint is the headline."""

    every: int = option(1, min=1)  # evaluate validation and test every N epochs (and the last)
    select: str = option("val", choices=("val", "last"))  # val: validation-selected; last: last epoch
    batch_size: int = option(64, min=1)
    per_class: dict[str, dict[str, Any] | None] | None = option(None)  # class -> overrides (--per-class)


@dataclass(frozen=True)
class Run:
    """``run:``: where runs go and on what they run."""

    out: str = option("runs")  # runs/<recipe>/<timestamp>/
    device: str = option("auto")  # auto | cpu | cuda | cuda:N
    tensorboard: bool = option(True)
    checkpoint_every: int = option(1, min=1)  # last.pt every N epochs (and the last)
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
