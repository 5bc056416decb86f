"""The sections of a recipe and the keys each accepts, so a misspelt key fails before a run starts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from registry import RecipeError
from registry.errors import did_you_mean

# Sections whose content is a component config (checked by the registry when built) are listed
# with None; the others with the keys they accept.
SECTIONS: dict[str, tuple[str, ...] | None] = {
    "imports": None,
    "description": None,
    "model": None,
    "loss": None,
    "data": None,
    "extract": None,
    "optim": None,
    "schedule": None,
    "train": ("epochs", "batch_size", "seed", "amp", "compile", "grad_clip", "hooks"),
    "eval": ("every", "select", "batch_size", "per_class"),
    "run": ("out", "device", "tensorboard", "checkpoint_every", "progress"),
}
SELECT = ("val", "last")


def check_recipe(recipe: Mapping[str, Any]) -> None:
    """Unknown sections or keys are errors that suggest the close ones."""
    for key, value in recipe.items():
        if key not in SECTIONS:
            raise RecipeError(
                f"unknown recipe section {key!r}.{did_you_mean(key, SECTIONS)} Sections: {', '.join(SECTIONS)}"
            )
        allowed = SECTIONS[key]
        if allowed is not None and isinstance(value, Mapping):
            for sub in value:
                if sub not in allowed:
                    raise RecipeError(
                        f"unknown key {key}.{sub}.{did_you_mean(sub, allowed)} {key} accepts: {', '.join(allowed)}"
                    )
    for need in ("model", "data", "optim", "train"):
        if need not in recipe:
            raise RecipeError(f"the recipe has no '{need}' section; a training recipe needs model, data, optim, train")
    select = recipe.get("eval", {}).get("select", "val")
    if select not in SELECT:
        raise RecipeError(f"eval.select must be one of {SELECT}, got {select!r}")
