"""What the engine's artifacts say about what made them, and the comparisons their consumers make.

A checkpoint carries ``provenance``: the features' fingerprint (per input what made them and a
digest of their bytes, the annotation files, each split's videos), the training features'
statistics, the code that trained it and any mismatch that was accepted; beside it ``scoring``
(score scale, windows, target column, autocast). ``predictions.json``, ``results.json``, run
folders and table cells carry the digests of the same facts. The functions here build what a
consumer expects and compare it with what it is given (``registry.provenance.check_match``):
a mismatch is refused naming the keys, unless the caller accepts it, and then the result says so.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from registry import UserError
from registry.provenance import check_match, digest, source_digest

from ..data.extract.config import ExtractSection
from .sections import Recipe

# The data keys a model's scores depend on (where the dataset type has them); the rest say where data is.
SCORE_DATA_KEYS = (
    "type",
    "format",
    "target",
    "classes",
    "score_scale",
    "window",
    "eval_window",
    "pad_mask",
    "soundtrack",
)
SPLIT_DATA_KEYS = ("val_fraction", "split_seed")  # which videos the validation split holds


@functools.cache
def code_version() -> dict[str, str]:
    """The zoo's package version and a digest of its source (``registry`` and ``zoo``): any change shows."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        package = version("aqa-zoo")
    except PackageNotFoundError:
        package = "not installed"
    return {"package": package, "source": source_digest(["registry", "zoo"])}


def extract_made_by(
    extract: Mapping[str, Any] | ExtractSection | None, inputs: Mapping[str, Any]
) -> dict[str, dict[str, Any] | None]:
    """What the recipe's ``extract:`` section would make each input with (None: it does not say)."""
    from ..data.extract.config import input_fingerprint, resolve_config

    if not extract:
        return dict.fromkeys(inputs)
    config = resolve_config(extract)
    return {k: input_fingerprint(config, k) if k in config["inputs"] else None for k in inputs}


def check_made_by(
    expected: Mapping[str, dict[str, Any] | None],
    given: Mapping[str, dict[str, Any] | None],
    folders: Mapping[str, str],
    against: str,
    accept: bool,
) -> tuple[list[str], list[str]]:
    """Each input's features must have been made as ``expected`` says: (mismatches accepted, notes on inputs
    whose folder has no extraction record, which nothing can check)."""
    lines, unvouched = [], []
    for key, want in expected.items():
        got = given.get(key)
        where = folders.get(key, "?")
        if want is None:
            continue
        if got is None:
            unvouched.append(
                f"input {key!r}: the features in {where} carry no extraction record (no extract.json beside them), so "
                f"nothing checks that {against} made them"
            )
            continue
        lines += check_match(
            want,
            got,
            f"the features of input {key!r} in {where} were made by another extract section than {against}",
            "Extract them with that section (tools/extract_features.py), or use the features it was made for",
            accept,
            labels=(f"in {against}", "made the features"),
        )
    return lines, unvouched


def data_identity(recipe: Recipe | Mapping[str, Any], split: str = "test") -> dict[str, Any]:
    """What a checkpoint's scores on ``split`` depend on in a recipe: its model, the data keys that change a
    score (target column, classes, scale, windows, ...) and the autocast dtype, defaults filled.

    A checkpoint's stored recipe that no longer parses (written by an older zoo) is read as it is written.
    """
    from registry.sections import to_mapping

    from .sections import check_recipe

    raw = recipe.raw if isinstance(recipe, Recipe) else recipe
    try:
        parsed = check_recipe(recipe)
        data, amp = to_mapping(parsed.data), parsed.train.amp
    except UserError:
        data, amp = dict(raw.get("data") or {}), (raw.get("train") or {}).get("amp")
    keys = SCORE_DATA_KEYS + (SPLIT_DATA_KEYS if split == "val" else ())
    return {
        "model": raw.get("model"),
        "data": {k: data[k] for k in keys if k in data} | {"type": (raw.get("data") or {}).get("type")},
        "train.amp": amp,
    }


def check_against_checkpoint(
    trained: Mapping[str, Any], given: Recipe | Mapping[str, Any], source: str, split: str, accept: bool
) -> list[str]:
    """The recipe a checkpoint is evaluated with must be the one it was trained with, where scores depend on it."""
    return check_match(
        data_identity(trained, split),
        data_identity(given, split),
        f"the recipe does not score the way checkpoint {source!r} was trained",
        "Evaluate with the checkpoint's own recipe (tools/test.py --checkpoint CKPT, overriding only where the "
        "data is: data.root, data.annotations, data.features)",
        accept,
        labels=("in the checkpoint", "given"),
    )


def short(fingerprint: Any) -> str:
    """A digest to show and compare in files (run.json, results.json, table cells)."""
    return digest(fingerprint)


__all__ = [
    "check_against_checkpoint",
    "check_made_by",
    "code_version",
    "data_identity",
    "extract_made_by",
    "short",
]
