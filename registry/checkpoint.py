"""Checkpoints that rebuild themselves: weights plus the resolved recipe, in one safe file.

A checkpoint is a ``torch.save`` dict of tensors and plain Python values only, so it loads with
``torch.load(weights_only=True)``: opening a file never runs code from it. The recipe inside
names the modules to import (``imports:``) and the model to build (``model:``), so
``load(path)`` needs nothing but the file.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from .errors import RecipeError
from .kinds import MODELS

FORMAT = "aqa-zoo-checkpoint/1"


def save_checkpoint(path: str | os.PathLike[str], state: Mapping[str, Any]) -> Path:
    """Write ``state`` to ``path`` atomically (a temp file renamed), so a crash leaves the old file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        torch.save({"format": FORMAT, **state}, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint without unpickling arbitrary objects."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # torch raises several types for corrupt or unsafe files
        raise RecipeError(f"checkpoint {str(path)!r} could not be read safely: {e}") from e
    if not isinstance(ckpt, dict):
        raise RecipeError(f"checkpoint {str(path)!r} holds a {type(ckpt).__name__}, expected a dict")
    return ckpt


def import_modules(recipe: Mapping[str, Any]) -> None:
    """Import the modules a recipe lists under ``imports:`` (they register its components)."""
    for name in recipe.get("imports", []) or []:
        try:
            importlib.import_module(name)
        except ImportError as e:
            raise RecipeError(f"recipe imports {name!r}, which cannot be imported: {e}") from e


def build_model(recipe: Mapping[str, Any]) -> torch.nn.Module:
    """The model a recipe describes, untrained."""
    import_modules(recipe)
    if "model" not in recipe:
        raise RecipeError(f"recipe has no 'model' section (its keys: {sorted(recipe)})")
    return MODELS.build(recipe["model"])


def mismatches(
    own: Mapping[str, torch.Tensor],
    state: Mapping[str, torch.Tensor],
    source: str,
    target: str = "the model",
    optional: Callable[[str], bool] = lambda key: False,
    limit: int = 20,
) -> list[str]:
    """Lines naming the keys ``state`` lacks (unless ``optional``), has extra, or holds in another shape."""

    def some(items: list[str]) -> str:
        return ", ".join(items[:limit]) + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")

    missing = [k for k in own if k not in state and not optional(k)]
    unexpected = [k for k in state if k not in own]
    shapes = [
        f"{k}: {tuple(state[k].shape)} in {source}, {tuple(own[k].shape)} in {target}"
        for k in own
        if k in state and tuple(own[k].shape) != tuple(state[k].shape)
    ]
    lines = []
    if missing:
        lines.append(f"  missing in {source} ({len(missing)}): {some(missing)}")
    if unexpected:
        lines.append(f"  not in {target} ({len(unexpected)}): {some(unexpected)}")
    if shapes:
        lines.append(f"  shape mismatches ({len(shapes)}): {some(shapes)}")
    return lines


def load_state(model: torch.nn.Module, state_dict: Mapping[str, torch.Tensor], source: str = "checkpoint") -> None:
    """``load_state_dict(strict=True)`` with an error that lists every mismatching key and shape."""
    lines = mismatches(model.state_dict(), state_dict, source)
    if lines:
        raise RecipeError("\n".join([f"{source} does not fit this model (was it saved from another recipe?)", *lines]))
    model.load_state_dict(state_dict, strict=True)


def load(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> torch.nn.Module:
    """Rebuild a model from a checkpoint file alone (recipe inside), weights loaded, in eval mode."""
    ckpt = load_checkpoint(path, map_location)
    if "recipe" not in ckpt or "model" not in ckpt:
        raise RecipeError(
            f"checkpoint {str(path)!r} has no recipe/model inside (keys: {sorted(ckpt)}); "
            "if it comes from the authors' code, convert it with tools/convert_official.py"
        )
    model = build_model(ckpt["recipe"])
    load_state(model, ckpt["model"], source=str(path))
    return model.eval()
