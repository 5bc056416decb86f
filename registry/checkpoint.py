"""Checkpoints that rebuild themselves: weights plus the resolved recipe, in one safe file.

A checkpoint is a ``torch.save`` dict of tensors and plain Python values only, so it loads with
``torch.load(weights_only=True)``: opening a file never unpickles code from it. It carries its
``fingerprint``: digests of the recipe and of the weights inside, written with them; reading it
checks both, so a file whose recipe was edited after saving (the same weights read by another
model) is refused instead of building something that was never trained. The recipe inside
names the model to build (``model:``, built by the declared ``models`` kind) and the modules that
register its components (``imports:``). Importing a module runs its code, so a checkpoint may only
import modules the caller allows: those already imported, or those passed in ``imports=``
(``trust_imports=True`` allows all, for files you made yourself).
"""

from __future__ import annotations

import importlib
import io
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

from .errors import MissingFileError, RecipeError
from .files import write_atomic
from .kinds import known_kinds
from .provenance import check_match, digest

FORMAT = "aqa-zoo-checkpoint/1"
MODEL_KIND = "models"


def weights_digest(state_dict: Mapping[str, torch.Tensor]) -> str:
    """A digest of a state_dict: names, dtypes, shapes and values (equal weights, equal digest)."""
    import hashlib

    h = hashlib.sha256()
    for key in sorted(state_dict):
        t = state_dict[key]
        if not isinstance(t, torch.Tensor):
            h.update(f"{key}={t!r}".encode())
            continue
        t = t.detach().cpu().contiguous()
        h.update(f"{key}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")  # any dtype, any rank
    return h.hexdigest()[:16]


def fingerprint(state: Mapping[str, Any]) -> dict[str, str]:
    """What identifies a checkpoint's content: digests of its recipe and of its weights (those it holds)."""
    out = {}
    if "recipe" in state:
        out["recipe"] = digest(state["recipe"])
    if isinstance(state.get("model"), Mapping):
        out["weights"] = weights_digest(state["model"])
    return out


def save_checkpoint(path: str | os.PathLike[str], state: Mapping[str, Any]) -> Path:
    """Write ``state`` and its fingerprint to ``path`` atomically, so a crash (or a full disk) leaves the old file."""
    buf = io.BytesIO()
    # serialised first: a full disk is then a plain OSError
    torch.save({"format": FORMAT, **state, "fingerprint": fingerprint(state)}, buf)
    return write_atomic(path, buf.getvalue())


def load_checkpoint(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint without unpickling arbitrary objects."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"checkpoint {str(path)!r} does not exist")
    if path.stat().st_size == 0:
        raise RecipeError(f"checkpoint {str(path)!r} is empty (0 bytes): an interrupted copy or download?")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # torch raises several types for corrupt or unsafe files
        raise RecipeError(f"checkpoint {str(path)!r} could not be read safely: {_why_unreadable(e)}") from None
    if not isinstance(ckpt, dict):
        raise RecipeError(f"checkpoint {str(path)!r} holds a {type(ckpt).__name__}, expected a dict")
    check_fingerprint(ckpt, str(path))
    return ckpt


def check_fingerprint(ckpt: Mapping[str, Any], source: str) -> None:
    """A checkpoint whose recipe or weights changed since it was saved is refused, naming what changed."""
    stored = ckpt.get("fingerprint")
    if not isinstance(stored, Mapping):
        return  # a plain state_dict, or a zoo checkpoint from before fingerprints: nothing to compare
    now = fingerprint(ckpt)
    changed = [k for k in stored if now.get(k) != stored[k]]
    if changed:
        raise RecipeError(
            f"checkpoint {source!r} was changed after it was saved: its {' and its '.join(changed)} "
            f"no longer {'match' if len(changed) > 1 else 'matches'} the fingerprint written with "
            f"{'them' if len(changed) > 1 else 'it'}, so the model it would build is not the one that was trained. "
            "Use the file as training wrote it (or retrain)."
        )


def _why_unreadable(e: Exception) -> str:
    text = str(e)
    if "Weights only load failed" in text or "weights_only" in text:
        # torch's own message ends by advising weights_only=False, which would run the file's code.
        return (
            "it holds Python objects besides tensors and plain values (a pickle that could run code when "
            "opened), so it is refused. A zoo checkpoint or a plain state_dict never does."
        )
    if "zip" in text.lower() or "EOF" in text or "unexpected" in text.lower():
        return f"it is truncated or not a torch file ({type(e).__name__}: {text.splitlines()[0] if text else ''})"
    return f"{type(e).__name__}: {text.splitlines()[0] if text else 'no details'}"


def import_names(recipe: Mapping[str, Any], source: str = "the recipe") -> list[str]:
    """The module names a recipe lists under ``imports:`` (one name or a list of names)."""
    names = recipe.get("imports") or []
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise RecipeError(f"{source}: imports must be a list of module names, e.g. imports: [zoo]; got {names!r}")
    return names


def import_modules(recipe: Mapping[str, Any], trusted: bool | Iterable[str] = True, source: str = "the recipe") -> None:
    """Import the modules a recipe lists under ``imports:`` (they register its components).

    ``trusted=True`` imports them all (a recipe you wrote); otherwise only modules already imported
    or named in ``trusted`` may be, and the error lists the others.
    """
    names = import_names(recipe, source)
    if trusted is not True:
        allowed = set(trusted or ())
        asked = [n for n in names if n not in sys.modules and n not in allowed]
        if asked:
            raise RecipeError(
                f"{source} asks to import {asked}, which are not imported yet; importing a module runs its code, "
                "so a file from elsewhere may not choose what runs. If you trust them, import them yourself first, "
                f"pass imports={asked!r}, or use the tools' --trust-imports flag."
            )
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as e:
            raise RecipeError(f"{source} imports {name!r}, which cannot be imported: {e}") from e


def build_model(
    recipe: Mapping[str, Any], trusted: bool | Iterable[str] = True, source: str = "the recipe"
) -> torch.nn.Module:
    """The model a recipe describes, untrained (its ``imports:`` imported as ``import_modules`` allows)."""
    import_modules(recipe, trusted, source)
    if "model" not in recipe:
        raise RecipeError(f"{source} has no 'model' section (its keys: {sorted(recipe)})")
    models = known_kinds().get(MODEL_KIND)
    if models is None:
        raise RecipeError(
            f"{source}: no '{MODEL_KIND}' kind is declared, so nothing can build its model; its imports: "
            "must include the zoo that declares it (imports: [zoo])"
        )
    return models.build(recipe["model"])


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


def model_from_checkpoint(
    ckpt: Mapping[str, Any], source: str, imports: Iterable[str] = (), trust_imports: bool = False
) -> torch.nn.Module:
    """The model of a read checkpoint, its weights loaded (in train mode, as built)."""
    if "recipe" not in ckpt or "model" not in ckpt:
        raise RecipeError(
            f"checkpoint {source!r} has no recipe/model inside (keys: {sorted(ckpt)}); "
            "if it comes from the authors' code, convert it with tools/convert_official.py"
        )
    trusted: bool | Iterable[str] = True if trust_imports else list(imports)
    model = build_model(ckpt["recipe"], trusted, source=f"checkpoint {source!r}")
    load_state(model, ckpt["model"], source=source)
    return model


def load(
    path: str | os.PathLike[str],
    map_location: str | torch.device = "cpu",
    imports: Iterable[str] = (),
    trust_imports: bool = False,
    recipe: Mapping[str, Any] | None = None,
    accept_mismatch: bool = False,
) -> torch.nn.Module:
    """Rebuild a model from a checkpoint file alone (recipe inside), weights loaded, in eval mode.

    The checkpoint's ``imports:`` must already be imported or be listed in ``imports`` (or
    ``trust_imports=True``): opening a file someone sent must not run code it chooses. Its
    fingerprint is checked (a file edited since it was saved is refused). Given ``recipe``, the
    model it describes must be the checkpoint's (``MismatchError`` naming the differing keys,
    unless ``accept_mismatch``); the checkpoint's own model is built either way.
    """
    ckpt = load_checkpoint(path, map_location)
    if recipe is not None:
        check_match(
            (ckpt.get("recipe") or {}).get("model"),
            recipe.get("model"),
            f"the model of checkpoint {str(path)!r} is not the recipe's",
            "Load the checkpoint with the recipe it was trained with (the one inside it)",
            accept_mismatch,
            labels=("in the checkpoint", "in the recipe"),
        )
    return model_from_checkpoint(ckpt, str(path), imports, trust_imports).eval()
